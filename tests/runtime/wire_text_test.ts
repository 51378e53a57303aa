// The runtime encodes an event's body (and a job's result) once, when it
// checks its size, and the transport splices that text into the frame. What
// reaches the peer must still be exactly JSON.stringify of the envelope the
// runtime wrote: checked byte for byte over a real WebSocket and over NDJSON,
// with unicode and large bodies.

import assert from "node:assert/strict";
import { Runtime } from "../../runtime.ts";
import type { AgentDefinition } from "../../runtime.ts";
import { staticTokens } from "../../runtime/auth.ts";
import { ndjsonTransport } from "../../transports/stdio.ts";
import type { Frame, Transport } from "../../transports/types.ts";
import { webSocketTransport } from "../../transports/websocket.ts";
import { bounded, serveHttp, socketClosed, socketOpened, TOKENS, within } from "../_helpers.ts";
import { envelope, helloFrame } from "../_raw.ts";
import { largeBody, UNICODE } from "../_wire_text.ts";

/** How often JSON encoded the counting body. */
let encodings = 0;

/** A large body that counts its encodings (JSON passes `toJSON` a key; the depth check does not). */
const counted = {
  toJSON(key?: string) {
    if (typeof key === "string") encodings++;
    return largeBody(4096);
  },
};

const AGENTS: AgentDefinition[] = [{
  name: "wire",
  handler: async (_input: unknown, ctx) => {
    await ctx.log("info", UNICODE);
    await ctx.emit("x-vendor.small", { text: "é" });
    await ctx.emit("x-vendor.large", largeBody(64 * 1024));
    await ctx.emit("x-vendor.huge", largeBody(600 * 1024));
    await ctx.emit("x-vendor.counted", counted as unknown as Record<string, unknown>);
    return { result: largeBody(8192), note: UNICODE };
  },
}];

function newRuntime(): Runtime {
  return new Runtime({ authenticate: staticTokens({ ...TOKENS }), agents: AGENTS });
}

/**
 * Records JSON.stringify of each frame the runtime writes, as it writes it;
 * the test's own encoding is not counted.
 */
function recording(transport: Transport, texts: string[]): Transport {
  const tap = new TransformStream<Frame, Frame>({
    transform(frame, controller) {
      const counted = encodings;
      texts.push(JSON.stringify(frame));
      encodings = counted;
      controller.enqueue(frame);
    },
  });
  tap.readable.pipeTo(transport.writable).catch(() => {});
  return { readable: transport.readable, writable: tap.writable };
}

/** Sends hello, then a submit of the `wire` agent once welcomed, as raw text. */
function speak(texts: readonly string[], send: (text: string) => void): void {
  const welcome = texts.find((text) => JSON.parse(text).type === "session.welcome");
  if (welcome === undefined) return;
  const sessionId = JSON.parse(welcome).session_id;
  send(JSON.stringify(envelope("job.submit", { agent: "wire", input: {} }, {
    session_id: sessionId,
  })));
}

function ended(texts: readonly string[]): boolean {
  return texts.some((text) => JSON.parse(text).type === "job.result");
}

function assertSameText(received: readonly string[], written: readonly string[]): void {
  assert.ok(received.length >= 8, `hello, accepted, 5 events and a result: got ${received.length}`);
  assert.deepEqual(received, written.slice(0, received.length));
  const huge = received.find((text) => text.includes('"x-vendor.huge"'))!;
  assert.ok(huge.length > 600 * 1024, "the huge body went over the wire");
  assert.deepEqual(JSON.parse(huge).payload.body, largeBody(600 * 1024));
}

Deno.test(
  "the text on a WebSocket is exactly JSON.stringify of each envelope, large and unicode bodies included",
  bounded(async () => {
    await using runtime = newRuntime();
    const written: string[] = [];
    await using server = await serveHttp((request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      void runtime.accept(recording(webSocketTransport(socket), written));
      return response;
    });
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/`);
    const received: string[] = [];
    const done = Promise.withResolvers<void>();
    socket.addEventListener("message", (event) => {
      received.push(event.data as string);
      if (received.length === 1) speak(received, (text) => socket.send(text));
      if (ended(received)) done.resolve();
    });
    await socketOpened(socket);
    encodings = 0;
    socket.send(JSON.stringify(helloFrame()));
    await within(done.promise, "the job's result", 8_000);
    socket.close();
    await socketClosed(socket);
    assertSameText(received, written);
    // Encoded once by the size check; the frame's text reused it.
    assert.equal(encodings, 1, "the counted body was encoded once");
  }),
);

Deno.test(
  "the lines of an NDJSON transport are exactly JSON.stringify of each envelope, large and unicode bodies included",
  bounded(async () => {
    await using runtime = newRuntime();
    const written: string[] = [];
    const toRuntime = new TransformStream<Uint8Array, Uint8Array>();
    const fromRuntime = new TransformStream<Uint8Array, Uint8Array>();
    void runtime.accept(recording(
      ndjsonTransport({ readable: toRuntime.readable, writable: fromRuntime.writable }, {
        maxFrameBytes: 4 << 20,
      }),
      written,
    ));
    const writer = toRuntime.writable.getWriter();
    const encoder = new TextEncoder();
    const send = (text: string) => void writer.write(encoder.encode(`${text}\n`));
    encodings = 0;
    send(JSON.stringify(helloFrame()));
    const received: string[] = [];
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const chunk of fromRuntime.readable) {
      buffered += decoder.decode(chunk, { stream: true });
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      received.push(...parts);
      if (received.length === 1) speak(received, send);
      if (ended(received)) break;
    }
    assert.equal(buffered, "", "every frame ends its line");
    await writer.close();
    assertSameText(received, written);
    assert.equal(encodings, 1, "the counted body was encoded once");
  }),
);
