// Serves the cross-runtime agents (_cross.ts) on 127.0.0.1 and a free port,
// prints `listening on <url>`, and serves until its stdin closes. Under Bun
// it serves with serveBun(); under Deno with Deno.serve, for comparison.

import process from "node:process";
import { serveBun } from "../../transports/bun.ts";
import { crossRuntime } from "./_cross.ts";

async function serveDeno(): Promise<{ url: string; stop(): Promise<void> }> {
  const runtime = crossRuntime({ upgradeWebSocket: Deno.upgradeWebSocket });
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: listening.resolve },
    runtime.fetch,
  );
  const { port } = await listening.promise;
  return {
    url: `ws://127.0.0.1:${port}/arcp`,
    async stop() {
      await runtime.close();
      await server.shutdown();
    },
  };
}

function serveWithBun(): { url: string; stop(): Promise<void> } {
  const runtime = crossRuntime();
  const server = serveBun(runtime, { port: 0 });
  return {
    url: server.url,
    async stop() {
      await runtime.close();
      await server.stop();
    },
  };
}

const server = "Bun" in globalThis ? serveWithBun() : await serveDeno();
console.log(`listening on ${server.url}`);
process.stdin.resume();
process.stdin.on("end", async () => {
  await server.stop();
  console.log("stopped");
  process.exit(0);
});
