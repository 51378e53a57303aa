/**
 * A runtime served by Bun (spec §4.1): `serveBun()` puts a `Runtime` on
 * `Bun.serve`'s WebSockets, following Bun's send backpressure; the client
 * runs on Bun unchanged, over its global `WebSocket`. This file needs Bun;
 * under Deno, serve `runtime.fetch` with `Deno.serve` instead (see
 * `submit_and_stream.ts`).
 *
 * Run with `bun examples/bun_server.ts` (Bun resolves the npm dependencies
 * from a `node_modules/`, e.g. one laid out by `deno install`).
 *
 * @module
 */

import { connect } from "../client.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { serveBun } from "../transports/bun.ts";

/** Counts to `n`, reporting each step. */
async function count(input: { n: number }, ctx: AgentContext): Promise<{ count: number }> {
  for (let step = 1; step <= input.n; step++) {
    await ctx.progress(step, { total: input.n, units: "steps" });
  }
  return { count: input.n };
}

const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "alice" }),
  agents: [{ name: "count", handler: count }],
});
// 127.0.0.1 and a free port by default.
const server = serveBun(runtime, { port: 0 });
console.log(`Bun is serving the runtime on ${server.url}`);

const client = await connect(server.url, { token: "s3cret" });
const job = await client.submit("count", { n: 3 });
for await (const event of job) {
  console.log(`  #${event.event_seq} ${event.payload.kind} ${JSON.stringify(event.payload.body)}`);
}
console.log(`result ${JSON.stringify((await job.result).result)}`);

await client.close();
await runtime.close();
await server.stop();
