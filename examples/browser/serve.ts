/**
 * Serves `examples/browser/`: bundles the page script (`app.ts`, the client
 * included) for browsers with `deno bundle`, then serves the page and a
 * runtime on one origin on 127.0.0.1: `/` and `/app.js` for the page,
 * `/arcp` for the runtime's WebSocket. Prints the page's URL, with a fresh
 * token in its fragment, and serves until interrupted.
 *
 * Run with `deno run -A examples/browser/serve.ts [--port 8000]` and open
 * the URL it prints.
 *
 * @module
 */

import { type AgentContext, Runtime, staticTokens } from "../../runtime.ts";

const PAGE = new URL("./", import.meta.url);

/** Bundles app.ts into one browser module (the first run fetches esbuild from npm). */
async function bundle(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "arcp-browser-example-" });
  try {
    const output = `${dir}/app.js`;
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform=browser", "--output", output, "app.ts"],
      cwd: PAGE,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code !== 0) throw new Error(`deno bundle failed: ${new TextDecoder().decode(stderr)}`);
    return await Deno.readTextFile(output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Counts to `n`, 100 ms a step. */
async function count(input: { n: number }, ctx: AgentContext): Promise<{ count: number }> {
  for (let step = 1; step <= input.n; step++) {
    await ctx.progress(step, { total: input.n, units: "steps" });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { count: input.n };
}

const portFlag = Deno.args.indexOf("--port");
const port = portFlag === -1 ? 0 : Number(Deno.args[portFlag + 1]);
const [html, script] = await Promise.all([
  Deno.readTextFile(new URL("index.html", PAGE)),
  bundle(),
]);
const token = crypto.randomUUID();
const runtime = new Runtime({
  authenticate: staticTokens({ [token]: "browser" }),
  agents: [{ name: "count", handler: count }],
  upgradeWebSocket: Deno.upgradeWebSocket,
});
const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (request) => {
  switch (new URL(request.url).pathname) {
    case "/":
      return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
    case "/app.js":
      return new Response(script, { headers: { "content-type": "text/javascript" } });
    default:
      return runtime.fetch(request); // /arcp, or 404
  }
});
console.log(`open http://127.0.0.1:${server.addr.port}/#token=${token}`);

let stopping: Promise<void> | undefined;
const stop = () =>
  stopping ??= (async () => {
    await runtime.close();
    await server.shutdown();
    console.log("stopped");
  })();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void stop());
}
await server.finished;
await stopping;
