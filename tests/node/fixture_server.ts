// Serves the cross-runtime agents (tests/bun/_cross.ts) on Node.js through
// Hono (_hono_node.ts) on 127.0.0.1 and a free port, prints
// `listening on <url>`, and serves until its stdin closes.

import process from "node:process";
import { crossRuntime } from "../bun/_cross.ts";
import { honoNodeHost } from "./_hono_node.ts";

const runtime = crossRuntime();
const server = await honoNodeHost.serve({
  fetch: runtime.fetch,
  accept: (transport) => runtime.accept(transport),
});
console.log(`listening on ws://127.0.0.1:${server.port}/arcp`);
process.stdin.resume();
process.stdin.on("end", async () => {
  await runtime.close();
  await server[Symbol.asyncDispose]();
  console.log("stopped");
  process.exit(0);
});
