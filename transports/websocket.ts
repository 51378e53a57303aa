// This module is browser compatible.
/**
 * A {@linkcode Transport} over any standard `WebSocket`: a browser's, Deno's
 * or Bun's client socket, or the server-side socket of
 * `Deno.upgradeWebSocket` (spec §4.1: text frames, one JSON envelope each).
 *
 * @module
 */

import { ConnectionClosedError } from "../protocol/errors.ts";
import { closeSocketFor } from "./_close.ts";
import { frameText } from "./frame_text.ts";
import { inboundQueue } from "../internal/inbound.ts";
import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_JSON_DEPTH,
  type Frame,
  type Transport,
  type WebSocketLike,
  type WebSocketTransportOptions,
} from "./types.ts";

export {
  type Frame,
  MalformedFrame,
  type Transport,
  type WebSocketLike,
  type WebSocketTransportOptions,
} from "./types.ts";

const CONNECTING = 0;
const OPEN = 1;
/** First pause between looks at a draining socket's `bufferedAmount`, in milliseconds. */
const DRAIN_POLL_MIN_MS = 1;
/** Longest pause between looks at a draining socket's `bufferedAmount`, in milliseconds. */
const DRAIN_POLL_MAX_MS = 32;

/** Resolves after `ms` milliseconds, or at once when `signal` aborts, leaving no timer behind. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
function closedError(event: Event): ConnectionClosedError {
  const { code, reason } = event as CloseEvent;
  return new ConnectionClosedError(
    `WebSocket closed${code === undefined ? "" : ` with code ${code}`}${
      reason ? `: ${reason}` : ""
    }`,
  );
}

/**
 * Wraps a WebSocket, open or still connecting, as a {@linkcode Transport}.
 * Writes wait for the socket to open, and wait again whenever
 * `bufferedAmount` exceeds `maxBufferedBytes`, so a fast producer is slowed
 * to the network's pace instead of filling memory.
 *
 * @param socket The socket; the transport owns it from now on.
 * @param options Frame caps, queue bounds and send buffering.
 * @returns The transport.
 * @example Connect a client transport
 * ```ts ignore
 * import { webSocketTransport } from "@arcp/arcp/transports/websocket";
 *
 * const transport = webSocketTransport(new WebSocket("ws://127.0.0.1:7777/arcp"));
 * ```
 */
export function webSocketTransport(
  socket: WebSocketLike,
  options: WebSocketTransportOptions = {},
): Transport {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const opened = Promise.withResolvers<void>();
  if (socket.readyState === OPEN) opened.resolve();

  let writeController: WritableStreamDefaultController | undefined;
  const closing = new AbortController();
  const inbound = inboundQueue({
    maxFrameBytes,
    maxJsonDepth: options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH,
    maxQueuedFrames: options.maxQueuedFrames ?? Infinity,
    maxQueuedBytes: options.maxQueuedBytes ?? Infinity,
  }, () => socket.close(1000));
  // A socket that already closed will fire no close event for us.
  if (socket.readyState > OPEN) inbound.end();

  socket.addEventListener("open", () => opened.resolve());
  // Deno still dispatches messages after close() until the closing handshake
  // ends; once the readable is closed or cancelled the queue drops them.
  socket.addEventListener("message", (event) => inbound.push((event as MessageEvent).data));
  socket.addEventListener("close", (event) => {
    const error = closedError(event);
    closing.abort(error);
    opened.reject(error);
    inbound.end();
    writeController?.error(error);
  });
  // The failure reaches whoever awaits `opened`; none may.
  opened.promise.catch(() => {});

  // A WHATWG WebSocket says nothing when its send buffer drains (Bun's
  // server socket does, and bun.ts waits for that), so `bufferedAmount` is
  // polled, backing off from 1 ms to 32 ms: a stalled peer costs ~30 wakeups
  // a second instead of 1000, and as each pause is at most the wait so far,
  // the half-buffer still queued when the loop wakes keeps the socket busy.
  // Ends at once on close or abort: an aborted stream waits for the write in
  // progress, and a peer that never reads would never let it drain.
  async function drain(signal: AbortSignal): Promise<void> {
    const lowWater = maxBuffered / 2;
    const stop = AbortSignal.any([signal, closing.signal]);
    for (let ms = DRAIN_POLL_MIN_MS; socket.bufferedAmount > lowWater; ms *= 2) {
      if (socket.readyState !== OPEN || stop.aborted) break;
      await pause(Math.min(ms, DRAIN_POLL_MAX_MS), stop);
    }
    // A close while waiting fails the write; an abort has its own error already.
    if (closing.signal.aborted) throw closing.signal.reason;
  }

  const writable = new WritableStream<Frame>({
    start(controller) {
      writeController = controller;
      if (socket.readyState === CONNECTING) return opened.promise;
      // Not thrown: a start() that throws makes the constructor throw.
      if (socket.readyState !== OPEN) {
        controller.error(new ConnectionClosedError("WebSocket is not open"));
      }
    },
    write(frame, controller) {
      if (socket.readyState !== OPEN) throw new ConnectionClosedError("WebSocket is not open");
      socket.send(frameText(frame));
      if (socket.bufferedAmount > maxBuffered) return drain(controller.signal);
    },
    close() {
      socket.close(1000);
    },
    abort(reason) {
      closeSocketFor(socket, reason);
    },
  }, new CountQueuingStrategy({ highWaterMark: 64 }));

  return { readable: inbound.readable, writable };
}
