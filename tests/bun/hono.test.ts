// The Hono adapter (hono.ts) on Bun: a runtime mounted on a Hono app next to
// other routes, served by Bun.serve with hono/bun's WebSocket helper, runs a
// whole client session over each binding. Runs under `bun test`.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { upgradeWebSocket, websocket } from "hono/bun";
import { arcp } from "../../hono.ts";
import { bounded } from "../_helpers.ts";
import { crossRuntime, EXPECTED_SUMMARY, runClientSession } from "./_cross.ts";

interface BunServe {
  serve(options: {
    hostname: string;
    port: number;
    fetch: (request: Request, server: unknown) => Response | Promise<Response>;
    websocket: unknown;
  }): { port: number; stop(closeActiveConnections?: boolean): Promise<void> };
}

/** A Hono app with a route of its own and the runtime at /arcp, on Bun.serve. */
function serveApp() {
  const runtime = crossRuntime();
  const app = new Hono();
  app.get("/", (c) => c.text("home"));
  app.all("/arcp", arcp(runtime, { upgradeWebSocket }));
  const bun = (globalThis as unknown as { Bun: BunServe }).Bun;
  const server = bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch, websocket });
  return {
    origin: `127.0.0.1:${server.port}`,
    async [Symbol.asyncDispose]() {
      await runtime.close();
      await server.stop(true);
    },
  };
}

test(
  "a Hono app on Bun serves a runtime over the WebSocket binding",
  { timeout: 30_000 },
  bounded(async () => {
    await using served = serveApp();
    assert.equal(await (await fetch(`http://${served.origin}/`)).text(), "home");
    assert.deepEqual(await runClientSession(`ws://${served.origin}/arcp`), EXPECTED_SUMMARY);
  }, 25_000),
);

test(
  "a Hono app on Bun serves a runtime over the HTTP binding",
  { timeout: 30_000 },
  bounded(async () => {
    await using served = serveApp();
    const summary = await runClientSession(`http://${served.origin}/arcp`, { transport: "http" });
    assert.deepEqual(summary, EXPECTED_SUMMARY);
  }, 25_000),
);
