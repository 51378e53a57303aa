// The transport over a Bun server socket (transports/_bun_socket.ts), driven
// by a scripted socket whose send() returns what the test says, so Bun's
// backpressure (-1) and dropped-frame (0) results are hit exactly. The same
// code on a real Bun.serve runs in tests/bun/serve_bun.test.ts.

import assert from "node:assert/strict";
import { ArcpError, ConnectionClosedError } from "../../protocol/errors.ts";
import { type ServerSocketLike, serverSocketTransport } from "../../transports/_bun_socket.ts";
import type { InboundLimits } from "../../internal/inbound.ts";
import { serveBun } from "../../transports/bun.ts";
import { MalformedFrame } from "../../transports/types.ts";

/** A server socket that records what is sent and answers send() from `results` (then 1). */
function scriptedSocket(results: number[]): ServerSocketLike & {
  sent: string[];
  closes: [number | undefined, string | undefined][];
} {
  return {
    readyState: 1,
    sent: [],
    closes: [],
    send(data) {
      this.sent.push(data);
      return results.shift() ?? data.length;
    },
    close(code, reason) {
      this.closes.push([code, reason]);
    },
  };
}

/** Socket limits with a frame cap of `maxFrameBytes` and a queue of at most 4 frames. */
function limits(maxFrameBytes: number): InboundLimits {
  return { maxFrameBytes, maxJsonDepth: 64, maxQueuedFrames: 4, maxQueuedBytes: 1 << 20 };
}

/** Lets every pending promise job and timer callback run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("a write whose send returned -1 completes, and the next is sent, only after drain", async () => {
  const socket = scriptedSocket([-1]);
  const { transport, drained } = serverSocketTransport(socket, limits(1024));
  const writer = transport.writable.getWriter();
  let firstDone = false;
  const first = writer.write({ n: 1 }).then(() => firstDone = true);
  const second = writer.write({ n: 2 });
  await settle();
  assert.equal(firstDone, false, "the write waits for drain");
  assert.deepEqual(socket.sent, ['{"n":1}'], "nothing more is sent before drain");
  drained();
  await Promise.all([first, second]);
  assert.deepEqual(socket.sent, ['{"n":1}', '{"n":2}']);
  assert.deepEqual(socket.closes, []);
});

Deno.test("a send that returned 0 fails the write and closes the socket with 1011", async () => {
  const socket = scriptedSocket([0]);
  const { transport } = serverSocketTransport(socket, limits(1024));
  const writer = transport.writable.getWriter();
  await assert.rejects(writer.write({ n: 1 }), ConnectionClosedError);
  assert.deepEqual(socket.closes, [[1011, "A frame could not be sent"]]);
  await assert.rejects(writer.write({ n: 2 }), "the stream stays errored");
  assert.equal(socket.sent.length, 1);
});

Deno.test("a close ends the readable, fails a write waiting for drain and every later write", async () => {
  const socket = scriptedSocket([-1]);
  const { transport, received, closed } = serverSocketTransport(socket, limits(16));
  const reader = transport.readable.getReader();
  const writer = transport.writable.getWriter();
  received('{"a":1}');
  received(new Uint8Array([1]));
  received('{"padding":"xxxxxxxxxxxxxxxx"}');
  const waiting = writer.write({ n: 1 });
  closed(1006, "");
  assert.deepEqual((await reader.read()).value, { a: 1 });
  assert.ok((await reader.read()).value instanceof MalformedFrame);
  assert.ok((await reader.read()).value instanceof MalformedFrame);
  assert.equal((await reader.read()).done, true);
  await assert.rejects(waiting, (error: unknown) => {
    assert.ok(error instanceof ConnectionClosedError);
    assert.equal(error.message, "WebSocket closed with code 1006");
    return true;
  });
  await assert.rejects(writer.write({ n: 2 }), ConnectionClosedError);
  received('{"late":true}');
});

Deno.test("cancelling the readable or closing the writable closes the socket with 1000", async () => {
  const socket = scriptedSocket([]);
  const { transport } = serverSocketTransport(socket, limits(1024));
  await transport.readable.cancel();
  await transport.writable.close();
  assert.deepEqual(socket.closes, [[1000, undefined], [1000, undefined]]);
});

Deno.test("past maxQueuedFrames unread, the readable errors naming the cap and drops the queue", async () => {
  const socket = scriptedSocket([]);
  const { transport, received } = serverSocketTransport(socket, limits(1024));
  const reader = transport.readable.getReader();
  for (let n = 0; n < 5; n++) received(`{"n":${n}}`);
  await assert.rejects(reader.read(), (error: unknown) => {
    assert.ok(error instanceof ArcpError);
    assert.equal(error.code, "INTERNAL_ERROR");
    assert.match(error.message, /maxQueuedFrames is 4/);
    return true;
  });
  received('{"late":true}');
  await transport.writable.abort(new ArcpError("INTERNAL_ERROR", "maxQueuedFrames is 4"));
  assert.deepEqual(socket.closes, [[1008, "INTERNAL_ERROR: maxQueuedFrames is 4"]]);
});

Deno.test("serveBun() throws TypeError outside Bun", () => {
  assert.throws(() => serveBun({ accept: () => Promise.resolve() }), TypeError);
});
