// The Hono adapter (hono.ts) on Deno: a runtime mounted on a Hono app next
// to other routes, served by Deno.serve with hono/deno's WebSocket helper,
// runs a whole client session over each binding. Its run on Bun is
// tests/bun/hono.test.ts, on Node.js tests/transports/node_test.ts.

import assert from "node:assert/strict";
import { Hono } from "hono";
import { upgradeWebSocket } from "hono/deno";
import { arcp, type ArcpHonoOptions } from "../../hono.ts";
import { crossRuntime, EXPECTED_SUMMARY, runClientSession } from "../bun/_cross.ts";
import { helloFrame, within } from "../_raw.ts";

/** A Hono app with a route of its own and the runtime at /arcp, on 127.0.0.1. */
async function serveApp(options: ArcpHonoOptions) {
  const runtime = crossRuntime();
  const app = new Hono();
  app.get("/", (c) => c.text("home"));
  app.all("/arcp", arcp(runtime, options));
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: listening.resolve },
    app.fetch,
  );
  const { port } = await listening.promise;
  return {
    runtime,
    origin: `127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      await runtime.close();
      await server.shutdown();
    },
  };
}

Deno.test("a Hono app on Deno serves a runtime over the WebSocket binding", async () => {
  await using served = await serveApp({ upgradeWebSocket });
  assert.equal(await (await fetch(`http://${served.origin}/`)).text(), "home");
  const summary = await runClientSession(`ws://${served.origin}/arcp`);
  assert.deepEqual(summary, EXPECTED_SUMMARY);
});

Deno.test("a Hono app on Deno serves a runtime over the HTTP binding", async () => {
  await using served = await serveApp({ upgradeWebSocket });
  const summary = await runClientSession(`http://${served.origin}/arcp`, { transport: "http" });
  assert.deepEqual(summary, EXPECTED_SUMMARY);
});

Deno.test("without upgradeWebSocket an upgrade is refused 501 and clients fall back to HTTP", async () => {
  await using served = await serveApp({});
  const refused = await fetch(`http://${served.origin}/arcp`, {
    headers: { upgrade: "websocket", connection: "upgrade" },
  });
  assert.equal(refused.status, 501);
  assert.match(await refused.text(), /pass upgradeWebSocket/);
  const summary = await runClientSession(`http://${served.origin}/arcp`);
  assert.deepEqual(summary, EXPECTED_SUMMARY);
});

Deno.test("a Hono-served WebSocket opened after the runtime closed is closed with 1001", async () => {
  await using served = await serveApp({ upgradeWebSocket });
  await served.runtime.close();
  const socket = new WebSocket(`ws://${served.origin}/arcp`);
  const closed = await new Promise<CloseEvent>((resolve) =>
    socket.addEventListener("close", resolve, { once: true })
  );
  assert.equal(closed.code, 1001);
  assert.match(closed.reason, /closed/);
});

Deno.test("a frame Bun drops under Hono closes the connection, so the client resumes instead of missing it", async () => {
  const runtime = crossRuntime();
  const closed = Promise.withResolvers<number | undefined>();
  const sent: string[] = [];
  // Bun's ServerWebSocket as Hono hands it over: its send says 0 for a dropped frame.
  const raw = {
    readyState: 1,
    getBufferedAmount: () => 0,
    send: (data: string) => (sent.push(data), 0),
  };
  const context = {
    readyState: 1,
    raw,
    send: () => assert.fail("Hono's send hides a drop: the raw socket's must be used"),
    close: (code?: number) => closed.resolve(code),
  };
  const handler = arcp(runtime, {
    upgradeWebSocket: (createEvents) => () => {
      const events = createEvents(undefined);
      events.onOpen(new Event("open"), context);
      events.onMessage({ data: JSON.stringify(helloFrame()) }, context);
      return Promise.resolve(new Response(null, { status: 101 }));
    },
  });
  try {
    const request = new Request("http://127.0.0.1/arcp", { headers: { upgrade: "websocket" } });
    await handler({
      req: { raw: request, header: (name) => request.headers.get(name) ?? undefined },
    });
    await within(closed.promise, "the connection to close", 5_000);
    assert.equal(sent.length, 1, "the welcome was handed to the raw socket once");
  } finally {
    await runtime.close();
  }
});
