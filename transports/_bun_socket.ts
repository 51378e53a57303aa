// This module is browser compatible.
// The socket side of transports/bun.ts. Bun's server sockets push events
// (open, message, drain, close) to one handler object instead of dispatching
// them on the socket, and report backpressure through send()'s return value;
// this maps one such socket onto a Transport. It touches no Bun API, so it is
// tested with a scripted socket under any runtime.

import { ConnectionClosedError } from "../protocol/errors.ts";
import { closeSocketFor } from "./_close.ts";
import { frameText } from "./frame_text.ts";
import { type InboundLimits, inboundQueue } from "../internal/inbound.ts";
import type { Frame, Transport } from "./types.ts";

/** The subset of Bun's `ServerWebSocket` a transport uses. */
export interface ServerSocketLike {
  /** Connection state: 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /**
   * Sends one text frame. Returns the bytes sent, -1 when the frame was
   * queued behind backpressure, 0 when it was dropped.
   */
  send(data: string): number;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
}

/** A transport over a server socket, and the socket events it must be told of. */
export interface SocketTransport {
  readonly transport: Transport;
  /** A message arrived. */
  received(message: string | Uint8Array): void;
  /** The socket's send buffer drained after a send returned -1. */
  drained(): void;
  /** The socket closed. */
  closed(code: number, reason: string): void;
}

const OPEN = 1;
/** Close code when a frame could not be sent: later frames would arrive with a gap. */
const INTERNAL_ERROR = 1011;

/**
 * Wraps an open server socket. A write whose send returned -1 completes only
 * once the socket drains, so the writer (the session) waits for the network;
 * a send that returned 0 lost the frame, so the write fails and the socket is
 * closed: the peer resumes and gets the frame replayed rather than a gap.
 * Incoming messages wait in a queue bounded by `limits` (see `internal/inbound.ts`).
 */
export function serverSocketTransport(
  socket: ServerSocketLike,
  limits: InboundLimits,
): SocketTransport {
  let writeController!: WritableStreamDefaultController;
  let drain: PromiseWithResolvers<void> | undefined;
  let closedError: ConnectionClosedError | undefined;
  const inbound = inboundQueue(limits, () => socket.close(1000));

  const writable = new WritableStream<Frame>({
    start(controller) {
      writeController = controller;
    },
    write(frame, controller) {
      if (closedError !== undefined) throw closedError;
      if (socket.readyState !== OPEN) throw new ConnectionClosedError("WebSocket is not open");
      const sent = socket.send(frameText(frame));
      if (sent === 0) {
        socket.close(INTERNAL_ERROR, "A frame could not be sent");
        throw new ConnectionClosedError("WebSocket dropped a frame: the connection is closed");
      }
      if (sent > 0) return;
      drain = Promise.withResolvers<void>();
      // An aborted stream waits for the write in progress: a peer that never
      // reads must not hold it.
      const waiting = drain;
      controller.signal.addEventListener("abort", () => waiting.resolve(), { once: true });
      return drain.promise;
    },
    close() {
      socket.close(1000);
    },
    abort(reason) {
      closeSocketFor(socket, reason);
    },
  }, new CountQueuingStrategy({ highWaterMark: 64 }));

  return {
    transport: { readable: inbound.readable, writable },
    received(message) {
      inbound.push(message);
    },
    drained() {
      drain?.resolve();
      drain = undefined;
    },
    closed(code, reason) {
      closedError = new ConnectionClosedError(
        `WebSocket closed with code ${code}${reason ? `: ${reason}` : ""}`,
      );
      drain?.reject(closedError);
      drain = undefined;
      inbound.end();
      writeController.error(closedError);
    },
  };
}
