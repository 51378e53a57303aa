// transports/bun.ts on a real Bun.serve: routing, backpressure, frame
// refusal, refusal by a closed runtime, and stop(). Runs under `bun test`.

import assert from "node:assert/strict";
import { test } from "node:test";
import { connect } from "../../client.ts";
import { Runtime, staticTokens } from "../../runtime.ts";
import { serveBun, type TransportAcceptor } from "../../transports/bun.ts";
import { type Frame, MalformedFrame, type Transport } from "../../transports/types.ts";
import { bounded, socketClosed, socketOpened, within } from "../_helpers.ts";

/** Hands each accepted transport to the test; `accept` resolves when the test says so. */
function acceptor(): TransportAcceptor & {
  next(): Promise<Transport>;
  end(): void;
} {
  const waiting: ((transport: Transport) => void)[] = [];
  const ready: Transport[] = [];
  const ended = Promise.withResolvers<void>();
  return {
    accept(transport) {
      const waiter = waiting.shift();
      if (waiter === undefined) ready.push(transport);
      else waiter(transport);
      return ended.promise;
    },
    next() {
      const transport = ready.shift();
      if (transport !== undefined) return Promise.resolve(transport);
      return within(new Promise((resolve) => waiting.push(resolve)), "a connection to be accepted");
    },
    end: () => ended.resolve(),
  };
}

/** The code of the socket's close event. */
function closeCode(socket: WebSocket): Promise<number> {
  return new Promise((resolve) =>
    socket.addEventListener("close", (event) => resolve(event.code), { once: true })
  );
}

test(
  "serveBun() answers 404 off its path and 426 to a request without an upgrade",
  bounded(async () => {
    const accepted = acceptor();
    await using server = serveBun(accepted, { path: "/custom" });
    assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+\/custom$/);
    const base = `http://127.0.0.1:${server.port}`;
    const other = await fetch(`${base}/arcp`);
    assert.equal(other.status, 404);
    await other.body?.cancel();
    const plain = await fetch(`${base}/custom`);
    assert.equal(plain.status, 426);
    assert.match(await plain.text(), /WebSocket upgrade/);
  }),
);

test(
  "serveBun() hands a POST to its path to runtime.fetch: a client over the HTTP binding runs a job",
  bounded(async () => {
    await using runtime = new Runtime({
      authenticate: staticTokens({ t: "alice" }),
      agents: [{ name: "echo", handler: (input: unknown) => Promise.resolve({ echoed: input }) }],
    });
    await using server = serveBun(runtime);
    await using client = await connect(`http://127.0.0.1:${server.port}/arcp`, {
      token: "t",
      transport: "http",
    });
    const job = await client.submit("echo", { over: "http" });
    assert.deepEqual((await job.result).result, { echoed: { over: "http" } });
  }),
);

test(
  "serveBun() sends 1,000 frames of 64 KiB whole and in order: writes wait for the socket to drain",
  { timeout: 40_000 },
  bounded(async () => {
    // 64 MiB is four times what Bun queues before it drops frames: a
    // transport that ignored backpressure would lose frames or close.
    const count = 1_000;
    const padding = "x".repeat(64 << 10);
    const accepted = acceptor();
    await using server = serveBun(accepted);
    const socket = new WebSocket(server.url);
    const received: number[] = [];
    const all = Promise.withResolvers<void>();
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data as string) as { n: number; padding: string };
      assert.equal(frame.padding.length, padding.length);
      received.push(frame.n);
      if (received.length === count) all.resolve();
    });
    const closed = closeCode(socket);
    await socketOpened(socket);
    const transport = await accepted.next();
    const writer = transport.writable.getWriter();
    for (let n = 0; n < count; n++) await writer.write({ n, padding });
    await within(
      Promise.race([all.promise, closed.then((code) => assert.fail(`closed ${code}`))]),
      "every frame to arrive",
      20_000,
    );
    assert.deepEqual(received, Array.from({ length: count }, (_, n) => n));
    await writer.close();
    assert.equal(await closed, 1000);
    accepted.end();
  }, 30_000),
);

test(
  "serveBun() delivers text frames parsed and refuses binary, non-JSON and oversized ones",
  bounded(async () => {
    const accepted = acceptor();
    await using server = serveBun(accepted, { maxFrameBytes: 64 });
    const socket = new WebSocket(server.url);
    await socketOpened(socket);
    const reader = (await accepted.next()).readable.getReader();
    socket.send('{"type":"ping"}');
    socket.send(new Uint8Array([1, 2, 3]));
    socket.send("not json");
    socket.send(JSON.stringify({ padding: "x".repeat(100) }));
    const read = async (): Promise<Frame | MalformedFrame> => (await reader.read()).value!;
    assert.deepEqual(await read(), { type: "ping" });
    const reasons = [];
    for (let i = 0; i < 3; i++) {
      const refused = await read();
      assert.ok(refused instanceof MalformedFrame);
      reasons.push(refused.reason);
    }
    assert.match(reasons[0]!, /Binary frames/);
    assert.match(reasons[1]!, /not valid JSON/);
    assert.match(reasons[2]!, /64-byte limit/);
    socket.close();
    assert.equal((await reader.read()).done, true, "the readable ends when the client closes");
    accepted.end();
  }),
);

test(
  "stop() closes open connections with 1001 and resolves once the runtime has let them go",
  bounded(async () => {
    const runtime = new Runtime();
    const server = serveBun(runtime);
    const socket = new WebSocket(server.url);
    const closed = closeCode(socket);
    await socketOpened(socket);
    await server.stop();
    assert.equal(await closed, 1001);
    const refused = await fetch(`http://127.0.0.1:${server.port}/arcp`).then(
      () => "answered",
      () => "refused",
    );
    assert.equal(refused, "refused", "the server no longer listens");
    await runtime.close();
  }),
);

test(
  "a closed runtime's connections are closed at once with 1001",
  bounded(async () => {
    const runtime = new Runtime();
    await using server = serveBun(runtime);
    await runtime.close();
    const socket = new WebSocket(server.url);
    assert.equal(await closeCode(socket), 1001);
    await socketClosed(socket);
  }),
);
