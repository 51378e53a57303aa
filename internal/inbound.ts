// This module is browser compatible.
// The readable side of a push-based socket (a WHATWG WebSocket, a Bun server
// socket): such sockets deliver every message at once and cannot be paused,
// so what the reader has not taken yet is held here, bounded. Messages are
// kept as received and parsed only when read: a flood costs its text, not
// its objects, and what is discarded is never parsed.

import { ArcpError } from "../protocol/errors.ts";
import { type Frame, type MalformedFrame, parseSocketData } from "../transports/types.ts";

/** Default cap on the messages waiting unread on a server's socket. */
export const DEFAULT_MAX_QUEUED_FRAMES = 1024;
/** Default cap on the size of the messages waiting unread on a server's socket: 8 MiB. */
export const DEFAULT_MAX_QUEUED_BYTES: number = 8 << 20;

/** How a socket's incoming messages are parsed and how many may wait unread. */
export interface InboundLimits {
  /** Cap on one frame in bytes of UTF-8. */
  maxFrameBytes: number;
  /** Cap on the nesting of objects and arrays in one frame. */
  maxJsonDepth: number;
  /** Messages that may wait unread. */
  maxQueuedFrames: number;
  /** Total size of the messages that may wait unread, in bytes (UTF-16 code units for text). */
  maxQueuedBytes: number;
}

/** A bounded queue of a socket's messages, read as a stream of frames. */
export interface InboundQueue {
  readonly readable: ReadableStream<Frame | MalformedFrame>;
  /** A message arrived. */
  push(data: unknown): void;
  /** The socket closed: what is queued is still read, then the stream ends. */
  end(): void;
}

/** Frames handed to the stream per pull when a backlog is waiting. */
const BATCH = 16;

function sizeOf(data: unknown): number {
  if (typeof data === "string") return data.length;
  return (data as { byteLength?: number }).byteLength ?? 0;
}

/**
 * Creates the queue. Past either cap the stream errors with an
 * `INTERNAL_ERROR` {@linkcode ArcpError} naming the cap (spec 1.0 §14:
 * exceeded limits surface as `INTERNAL_ERROR`), what was queued is dropped
 * and later messages are ignored: the reader decides how to close.
 *
 * @param limits The caps.
 * @param onCancel Called when the reader cancels the stream.
 */
export function inboundQueue(limits: InboundLimits, onCancel: () => void): InboundQueue {
  const { maxFrameBytes, maxJsonDepth } = limits;
  let pending: unknown[] = [];
  let head = 0;
  let bytes = 0;
  /** A read is waiting for the next message. */
  let waiting = false;
  let ended = false;
  /** Errored or cancelled: nothing more is queued. */
  let done = false;
  let controller!: ReadableStreamDefaultController<Frame | MalformedFrame>;

  const take = (): unknown => {
    const data = pending[head];
    pending[head++] = undefined;
    bytes -= sizeOf(data);
    // Compacted now and then, so a long-lived queue does not grow forever.
    if (head === pending.length) {
      pending = [];
      head = 0;
    } else if (head >= 1024 && head * 2 >= pending.length) {
      pending = pending.slice(head);
      head = 0;
    }
    return data;
  };

  const overflow = (limit: string): void => {
    done = true;
    pending = [];
    head = 0;
    bytes = 0;
    controller.error(
      new ArcpError(
        "INTERNAL_ERROR",
        `Too many frames waiting to be processed: ${limit}; the connection is closed`,
      ),
    );
  };

  const readable = new ReadableStream<Frame | MalformedFrame>({
    start(c) {
      controller = c;
    },
    pull(c) {
      if (head === pending.length) {
        if (ended) c.close();
        else waiting = true;
        return;
      }
      // A few at a time, so a reader working through a backlog is not called
      // back once per frame; at most BATCH frames sit outside the counts.
      for (let n = 0; n < BATCH && head < pending.length; n++) {
        c.enqueue(parseSocketData(take(), maxFrameBytes, maxJsonDepth));
      }
    },
    cancel() {
      done = true;
      pending = [];
      head = 0;
      bytes = 0;
      onCancel();
    },
  }, { highWaterMark: 0 });

  return {
    readable,
    push(data) {
      if (done || ended) return;
      if (waiting) {
        waiting = false;
        controller.enqueue(parseSocketData(data, maxFrameBytes, maxJsonDepth));
        return;
      }
      pending.push(data);
      bytes += sizeOf(data);
      if (pending.length - head > limits.maxQueuedFrames) {
        overflow(`maxQueuedFrames is ${limits.maxQueuedFrames}`);
      } else if (bytes > limits.maxQueuedBytes) {
        overflow(`maxQueuedBytes is ${limits.maxQueuedBytes}`);
      }
    },
    end() {
      if (done || ended) return;
      ended = true;
      if (waiting || head === pending.length) {
        waiting = false;
        done = true;
        controller.close();
      }
    },
  };
}
