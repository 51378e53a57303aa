// Runtime behaviour that is not about one transport: its HTTP handler,
// registration, shutdown and authentication helpers.

import assert from "node:assert/strict";
import { connect } from "../client.ts";
import { ArcpError } from "../protocol/errors.ts";
import { Runtime, staticTokens } from "../runtime.ts";
import { memoryTransportPair } from "../transports/memory.ts";
import type { Frame } from "../transports/types.ts";
import { aborted, bounded, helloFrame, startHarness, TOKEN, TOKENS, within } from "./_helpers.ts";

function upgradeRequest(path = "/arcp"): Request {
  return new Request(`http://127.0.0.1${path}`, {
    headers: { upgrade: "websocket", connection: "Upgrade" },
  });
}

Deno.test(
  "runtime.fetch answers 404 off the ARCP path and 426 without an upgrade",
  bounded(async () => {
    await using runtime = new Runtime({ upgradeWebSocket: Deno.upgradeWebSocket });
    const notFound = await runtime.fetch(new Request("http://127.0.0.1/other"));
    assert.equal(notFound.status, 404);
    await notFound.body?.cancel();
    const plain = await runtime.fetch(new Request("http://127.0.0.1/arcp"));
    assert.equal(plain.status, 426);
    await plain.body?.cancel();
    assert.equal(runtime.handler, runtime.fetch);
  }),
);

Deno.test(
  "runtime.fetch answers 501 when no upgradeWebSocket was configured",
  bounded(async () => {
    await using runtime = new Runtime();
    const response = await runtime.fetch(upgradeRequest());
    assert.equal(response.status, 501);
    assert.match(await response.text(), /upgradeWebSocket/);
  }),
);

Deno.test(
  "runtime.fetch answers 503 once the runtime is closed",
  bounded(async () => {
    const runtime = new Runtime({ upgradeWebSocket: Deno.upgradeWebSocket });
    await runtime.close();
    const response = await runtime.fetch(upgradeRequest());
    assert.equal(response.status, 503);
    await response.body?.cancel();
  }),
);

Deno.test(
  "runtime.fetch serves the ARCP path given in options over a real WebSocket",
  bounded(async () => {
    const runtime = new Runtime({
      authenticate: staticTokens({ ...TOKENS }),
      agents: [{ name: "echo", handler: (input: unknown) => Promise.resolve(input) }],
      upgradeWebSocket: Deno.upgradeWebSocket,
      path: "/custom/arcp",
    });
    const listening = Promise.withResolvers<Deno.NetAddr>();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: listening.resolve },
      runtime.fetch,
    );
    try {
      const { port } = await listening.promise;
      const old = await fetch(`http://127.0.0.1:${port}/arcp`);
      assert.equal(old.status, 404);
      await old.body?.cancel();
      const client = await connect(new URL(`ws://127.0.0.1:${port}/custom/arcp`), { token: TOKEN });
      assert.equal((await (await client.submit("echo", "hi")).result).result, "hi");
      await client.close();
    } finally {
      await runtime.close();
      await server.shutdown();
    }
  }),
);

Deno.test(
  "runtime.accept() throws TypeError once the runtime is closed",
  bounded(async () => {
    const runtime = new Runtime();
    await runtime.close();
    await runtime.close(); // idempotent
    const [, runtimeSide] = memoryTransportPair();
    assert.throws(() => runtime.accept(runtimeSide), TypeError);
  }),
);

Deno.test(
  "runtime.register() throws TypeError for a duplicate version or an @ in the name",
  bounded(async () => {
    await using runtime = new Runtime();
    const handler = () => Promise.resolve(null);
    runtime.register({ name: "ok", version: "1.0.0", handler });
    runtime.register({ name: "ok", version: "1.1.0", handler });
    assert.throws(() => runtime.register({ name: "ok", version: "1.0.0", handler }), TypeError);
    assert.throws(() => runtime.register({ name: "ok@2", handler }), TypeError);
    assert.throws(
      () => new Runtime({ agents: [{ name: "dup", handler }, { name: "dup", handler }] }),
      TypeError,
    );
  }),
);

Deno.test("runtime.register() throws TypeError for a name or version outside §7.5", async () => {
  await using runtime = new Runtime();
  const handler = () => Promise.resolve(null);
  assert.throws(() => runtime.register({ name: "Bad Name", handler }), TypeError);
  assert.throws(() => runtime.register({ name: "ok", version: "1 0", handler }), TypeError);
});

Deno.test(
  "a bare agent name resolves to the highest version when none is marked default",
  bounded(async () => {
    await using h = await startHarness("memory", {
      agents: ["1.9.0", "1.10.0", "1.2.0"].map((version) => ({
        name: "multi",
        version,
        handler: (_input: unknown, ctx) => Promise.resolve(ctx.version),
      })),
    });
    const client = await h.connect();
    assert.deepEqual(client.agents.find((agent) => agent.name === "multi"), {
      name: "multi",
      versions: ["1.2.0", "1.9.0", "1.10.0"],
      default: "1.10.0",
    });
    const job = await client.submit("multi");
    assert.equal(job.agent, "multi@1.10.0");
    assert.equal((await job.result).result, "1.10.0");
  }),
);

Deno.test(
  "runtime.close() ends running jobs with a retryable INTERNAL_ERROR the client receives",
  bounded(async () => {
    const started = Promise.withResolvers<AbortSignal>();
    await using h = await startHarness("memory", {
      agents: [{
        name: "forever",
        handler: (_input: unknown, ctx) => {
          started.resolve(ctx.signal);
          return aborted(ctx.signal);
        },
      }],
    });
    const client = await h.connect();
    const job = await client.submit("forever");
    const signal = await started.promise;
    await h.runtime.close();
    await assert.rejects(job.result, (error: unknown) => {
      assert.ok(error instanceof ArcpError);
      assert.equal(error.code, "INTERNAL_ERROR");
      assert.equal(error.retryable, true);
      return true;
    });
    assert.equal(signal.aborted, true);
    const terminal = await h.store.terminalOf(job.jobId);
    assert.equal((terminal.payload as { final_status: string }).final_status, "error");
  }),
);

Deno.test(
  "runtime.accept() resolves when its signal aborts while the peer is idle",
  bounded(async () => {
    await using runtime = new Runtime({ authenticate: staticTokens({ ...TOKENS }) });
    const [clientSide, runtimeSide] = memoryTransportPair();
    const controller = new AbortController();
    const served = runtime.accept(runtimeSide, { signal: controller.signal });
    const reader = clientSide.readable.getReader();
    controller.abort();
    assert.equal((await reader.read()).done, true, "the runtime closed its side");
    await within(served, "accept() to resolve after its signal aborted");
  }),
);

Deno.test(
  "staticTokens() maps tokens to principals and refuses anything else",
  bounded(async () => {
    const authenticate = staticTokens({ "s3cret": "alice", "other": "bob" });
    assert.deepEqual(await authenticate({ scheme: "bearer", token: "s3cret" }), { id: "alice" });
    assert.deepEqual(await authenticate({ scheme: "Bearer", token: "other" }), { id: "bob" });
    assert.deepEqual(await authenticate({ scheme: undefined, token: "other" }), { id: "bob" });
    assert.equal(await authenticate({ scheme: "bearer", token: "s3cre" }), null);
    assert.equal(await authenticate({ scheme: "bearer", token: "s3cret " }), null);
    assert.equal(await authenticate({ scheme: "bearer", token: undefined }), null);
    assert.equal(await authenticate({ scheme: "basic", token: "s3cret" }), null);
  }),
);

Deno.test("staticTokens() throws TypeError for an empty map or an empty token", () => {
  assert.throws(() => staticTokens({}), TypeError);
  assert.throws(() => staticTokens({ "": "nobody" }), TypeError);
});

Deno.test(
  "a runtime without an authenticator refuses every hello with UNAUTHENTICATED",
  bounded(async () => {
    await using runtime = new Runtime();
    const [clientSide, runtimeSide] = memoryTransportPair();
    const served = runtime.accept(runtimeSide);
    await assert.rejects(connect(clientSide, { token: TOKEN }), (error: unknown) => {
      assert.ok(error instanceof ArcpError);
      assert.equal(error.code, "UNAUTHENTICATED");
      return true;
    });
    await served;
  }),
);

Deno.test(
  "a resume of an unknown session gets RESUME_WINDOW_EXPIRED and the transport is closed",
  bounded(async () => {
    await using runtime = new Runtime({ authenticate: staticTokens({ ...TOKENS }) });
    const [clientSide, runtimeSide] = memoryTransportPair();
    const served = runtime.accept(runtimeSide);
    const writer = clientSide.writable.getWriter();
    const reader = clientSide.readable.getReader();
    const hello = helloFrame();
    (hello.payload as Record<string, unknown>).resume = {
      session_id: "sess_gone",
      resume_token: "rt_x",
      last_event_seq: 0,
    };
    await writer.write(hello);
    const answer = (await reader.read()).value as Frame;
    assert.equal(answer.type, "session.error");
    assert.equal((answer.payload as { code: string }).code, "RESUME_WINDOW_EXPIRED");
    assert.equal((answer.payload as { request_id: string }).request_id, hello.id);
    assert.equal((await reader.read()).done, true);
    await served;
  }),
);
