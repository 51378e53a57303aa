// This module is browser compatible.
// One stream of the HTTP binding (docs/http-binding.md) on the runtime's
// side: the transport whose writes leave as server-sent events of the
// response, and whose reads are the envelopes POSTed to it.

import { ConnectionClosedError } from "../protocol/errors.ts";
import { inboundQueue } from "../internal/inbound.ts";
import { frameText } from "./frame_text.ts";
import type { Frame, Transport } from "./types.ts";
import { HEADER_STREAM, sseEvent } from "./_http_wire.ts";

const encoder = new TextEncoder();

/** The caps of one stream. */
export interface EventStreamLimits {
  maxFrameBytes: number;
  maxJsonDepth: number;
  maxQueuedFrames: number;
  maxQueuedBytes: number;
  maxBufferedBytes: number;
  keepAliveMs: number;
  headers: Record<string, string>;
}

/** The transport of one stream, its response, and the side the `POST`s feed. */
export function eventStream(
  limits: EventStreamLimits,
): {
  transport: Transport;
  response: Response;
  push(text: string): void;
  /** Ends the stream from the binding's side: the client sees it end and resumes. */
  cut(): void;
  ended: Promise<void>;
} {
  const ended = Promise.withResolvers<void>();
  let body!: ReadableStreamDefaultController<Uint8Array>;
  let writeController: WritableStreamDefaultController | undefined;
  let finished = false;
  let drained: PromiseWithResolvers<void> | undefined;
  const closedError = new ConnectionClosedError("The client closed the event stream");

  const inbound = inboundQueue(limits, () => finish());

  // Event text waits here until the response's reader pulls, then leaves as
  // one chunk: under load many events share a write, and the bound on this
  // text is the stream's back-pressure.
  let pending: string[] = [];
  let pendingChars = 0;
  let pulling = false;
  let quiet = true;
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.length === 1 ? pending[0]! : pending.join("");
    pending = [];
    pendingChars = 0;
    pulling = false;
    body.enqueue(encoder.encode(text));
    drained?.resolve();
  };
  const send = (chunk: string) => {
    if (finished) return;
    quiet = false;
    pending.push(chunk);
    pendingChars += chunk.length;
    if (pulling) flush();
  };
  // A comment line on a stream quiet for a whole period.
  const keepAlive = limits.keepAliveMs > 0
    ? setInterval(() => {
      if (quiet) send(":\n\n");
      quiet = true;
    }, limits.keepAliveMs)
    : undefined;
  /** Ends the stream once, from either side; the client's end fails the writes. */
  function finish(byClient = true): void {
    if (finished) return;
    finished = true;
    clearInterval(keepAlive);
    drained?.resolve();
    inbound.end();
    if (byClient) writeController?.error(closedError);
    ended.resolve();
  }
  // A client that goes away cancels the response body: no request signal is
  // needed (Deno's aborts on every completed response too).

  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      body = controller;
      // Sent at once, so the status and headers leave even through a proxy
      // that waits for the first bytes of a body.
      controller.enqueue(encoder.encode(": arcp\n\n"));
    },
    pull() {
      if (pending.length > 0) flush();
      else pulling = true;
    },
    cancel() {
      finish();
    },
  }, { highWaterMark: 0 });

  const closeBody = (byClient = false) => {
    if (finished) return;
    // What the runtime wrote last (a session.error, often) still leaves.
    flush();
    finish(byClient);
    try {
      body.close();
    } catch {
      // Already closed by a cancel.
    }
  };
  const writable = new WritableStream<Frame>({
    start(controller) {
      writeController = controller;
    },
    async write(frame) {
      if (finished) throw closedError;
      send(sseEvent(frame, frameText(frame)));
      while (!finished && pendingChars > limits.maxBufferedBytes) {
        drained = Promise.withResolvers<void>();
        await drained.promise;
      }
      if (finished) throw closedError;
    },
    close: () => closeBody(),
    abort: () => closeBody(),
  }, new CountQueuingStrategy({ highWaterMark: 64 }));

  const response = new Response(readable, {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
      "access-control-expose-headers": HEADER_STREAM,
      ...limits.headers,
    },
  });
  return {
    transport: { readable: inbound.readable, writable },
    response,
    push: (text) => inbound.push(text),
    cut: () => closeBody(true),
    ended: ended.promise,
  };
}
