/**
 * A runtime mounted on a Hono app (`@arcp/arcp/hono`), next to the app's own
 * routes and behind Hono's bearer-auth middleware: `arcp()` serves both
 * bindings at `/arcp`, WebSocket upgrades through `hono/deno`'s helper and
 * `POST`s of the HTTP binding through `runtime.fetch`. The same app runs on
 * Bun (`hono/bun`'s `upgradeWebSocket` and `websocket`) and on Node.js
 * (`@hono/node-server` and `@hono/node-ws`): see docs/deployment.md.
 *
 * Run with `deno run -A examples/hono.ts`.
 *
 * @module
 */

import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { upgradeWebSocket } from "hono/deno";
import { connect } from "../client.ts";
import { arcp } from "../hono.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";

/** Counts to `n`, reporting each step. */
async function count(input: { n: number }, ctx: AgentContext): Promise<{ count: number }> {
  for (let step = 1; step <= input.n; step++) await ctx.progress(step, { total: input.n });
  return { count: input.n };
}

const TOKENS = { "s3cret": "alice" };
const runtime = new Runtime({
  authenticate: staticTokens(TOKENS),
  agents: [{ name: "count", handler: count }],
});

const app = new Hono();
app.get("/health", (c) => c.text("ok"));
// Requests of the HTTP binding carry the client's bearer: refused here
// before any stream opens. A WebSocket upgrade carries none (browsers cannot
// set headers on one): its session.hello authenticates it instead.
const bearer = bearerAuth({ verifyToken: (token) => token in TOKENS });
app.use("/arcp", (c, next) => c.req.header("upgrade") ? next() : bearer(c, next));
app.all("/arcp", arcp(runtime, { upgradeWebSocket }));

const listening = Promise.withResolvers<Deno.NetAddr>();
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: listening.resolve },
  app.fetch,
);
const origin = `127.0.0.1:${(await listening.promise).port}`;
console.log(`Hono is serving the app on http://${origin}`);

const health = await fetch(`http://${origin}/health`);
console.log(`GET /health -> ${health.status} ${await health.text()}`);
const anonymous = await fetch(`http://${origin}/arcp`, { method: "POST" });
await anonymous.body?.cancel();
console.log(`POST /arcp without a bearer -> ${anonymous.status}`);

for (const transport of ["http", "websocket"] as const) {
  const client = await connect(`http://${origin}/arcp`, { token: "s3cret", transport });
  const job = await client.submit("count", { n: 3 });
  let events = 0;
  for await (const _event of job) events++;
  console.log(
    `${transport}: ${events} events, result ${JSON.stringify((await job.result).result)}`,
  );
  await client.close();
}

await runtime.close();
await server.shutdown();
console.log("stopped");
