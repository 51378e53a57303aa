// This module is browser compatible.
/**
 * The one transport contract shared by every transport (spec §4).
 *
 * @module
 */

/** One ARCP frame: a parsed JSON object (an envelope, not yet validated). */
export type Frame = Record<string, unknown>;

/**
 * Delivered on a transport's readable side in place of a frame that could not
 * be parsed (not JSON, not an object, binary, or over the size cap), so that
 * the receiving session answers `INVALID_REQUEST` and carries on instead of
 * dropping the connection.
 */
export class MalformedFrame {
  /** Why the frame was refused, as a sentence for the error message. */
  readonly reason: string;
  /**
   * Creates a refusal.
   *
   * @param reason Why the frame was refused.
   */
  constructor(reason: string) {
    this.reason = reason;
  }
}

/**
 * A bidirectional, ordered channel of frames: the same pair-of-streams shape
 * as `WebSocketStream` and WebTransport. Backpressure and ordering come from
 * the streams. `writable.close()` is a graceful close; `writable.abort()` or
 * `readable.cancel()` an abortive one.
 */
export interface Transport {
  /** Frames from the peer, in order; closes when the peer goes away. */
  readonly readable: ReadableStream<Frame | MalformedFrame>;
  /** Frames to the peer, in order. */
  readonly writable: WritableStream<Frame>;
}

/** The subset of the WHATWG `WebSocket` this transport uses. */
export interface WebSocketLike {
  /** Connection state: 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes queued by `send` but not yet transmitted. */
  readonly bufferedAmount: number;
  /** Sends one text frame. */
  send(data: string): void;
  /** Starts the closing handshake with an optional close code and reason. */
  close(code?: number, reason?: string): void;
  /** Listens for the socket's `open`, `close`, `error` and `message` events. */
  addEventListener(
    type: "open" | "close" | "error" | "message",
    listener: (event: Event) => void,
  ): void;
}

/** Options of `webSocketTransport` (`transports/websocket.ts`). */
export interface WebSocketTransportOptions {
  /**
   * Cap on one incoming frame in bytes of UTF-8; larger frames arrive as a
   * {@linkcode MalformedFrame}.
   * @default {1048576}
   */
  maxFrameBytes?: number;
  /**
   * Bytes the socket may hold unsent (`bufferedAmount`) before writes wait
   * for it to drain to half of this.
   * @default {1048576}
   */
  maxBufferedBytes?: number;
  /**
   * Cap on how deeply objects and arrays nest in one incoming frame (the
   * frame's own object is level 1); deeper frames arrive as a
   * {@linkcode MalformedFrame}.
   * @default {64}
   */
  maxJsonDepth?: number;
  /**
   * Incoming frames that may wait unread. A WebSocket cannot be paused, so
   * past this the readable errors with an `INTERNAL_ERROR`
   * `ArcpError` naming the cap and the queued frames are dropped.
   * Unbounded by default, as a client reads as fast as frames arrive; the
   * runtime sets it (`RuntimeOptions.maxQueuedFrames`).
   * @default {Infinity}
   */
  maxQueuedFrames?: number;
  /**
   * Total size of the incoming frames that may wait unread, in bytes
   * (UTF-16 code units of their text); past it the readable errors as for
   * `maxQueuedFrames`.
   * @default {Infinity}
   */
  maxQueuedBytes?: number;
}

/** Default cap on one incoming frame: 1 MiB of UTF-8. */
export const DEFAULT_MAX_FRAME_BYTES: number = 1 << 20;

/** Default cap on the nesting of objects and arrays in one incoming frame. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

const encoder = new TextEncoder();
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** How many times `char` occurs in `text`, counted natively up to `max + 1`. */
function occurrences(text: string, char: string, max: number): number {
  let count = 0;
  for (let i = text.indexOf(char); i !== -1 && count <= max; i = text.indexOf(char, i + 1)) {
    count++;
  }
  return count;
}

/**
 * Whether `text` opens more than `maxDepth` objects or arrays inside one
 * another. Deep JSON parses fine but overflows the stack wherever it is
 * walked recursively later (serialisation, validation, copies), so it is
 * refused before parsing. Nesting that deep needs that many `{` and `[`:
 * counting them with the native `indexOf` clears almost every frame at a
 * small fraction of the cost of parsing it; only a frame with more goes
 * through the exact scan, which skips strings. Text that is not JSON gives a
 * meaningless answer, and `JSON.parse` refuses it anyway.
 */
function nestsDeeper(text: string, maxDepth: number): boolean {
  if (text.length <= maxDepth) return false;
  if (occurrences(text, "{", maxDepth) + occurrences(text, "[", maxDepth) <= maxDepth) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // To the closing quote: one not preceded by an odd run of backslashes.
      for (;;) {
        const end = text.indexOf('"', i + 1);
        if (end === -1) return false;
        let slashes = 0;
        while (text.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++;
        i = end;
        if (slashes % 2 === 0) break;
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

/**
 * Parses one text frame, refusing it (as a {@linkcode MalformedFrame}) when it
 * is over `maxBytes` of UTF-8, nests objects and arrays more than `maxDepth`
 * levels deep, is not JSON, or is not a JSON object.
 *
 * @param text The frame's text.
 * @param maxBytes The cap in bytes.
 * @param maxDepth The cap on nesting; the frame's own object is level 1.
 * @returns The parsed frame or the refusal.
 * @example
 * ```ts
 * import { MalformedFrame, parseFrame } from "@arcp/arcp/transports/memory";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseFrame('{"a":1}', 1024), { a: 1 });
 * assert.ok(parseFrame("[1]", 1024) instanceof MalformedFrame);
 * assert.ok(parseFrame('{"a":[[1]]}', 1024, 2) instanceof MalformedFrame);
 * ```
 */
export function parseFrame(
  text: string,
  maxBytes: number,
  maxDepth: number = DEFAULT_MAX_JSON_DEPTH,
): Frame | MalformedFrame {
  // A UTF-16 length over the cap is over it in UTF-8 too; only the narrow band
  // where the two can disagree pays for an exact count.
  if (
    text.length > maxBytes || (text.length * 3 > maxBytes && encoder.encode(text).length > maxBytes)
  ) {
    return new MalformedFrame(`Frame exceeds the ${maxBytes}-byte limit`);
  }
  if (nestsDeeper(text, maxDepth)) {
    return new MalformedFrame(
      `Frame nests objects and arrays too deeply: maxJsonDepth is ${maxDepth}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return new MalformedFrame(`Frame is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return new MalformedFrame("Frame is not a JSON object");
  }
  return value as Frame;
}

/**
 * Parses what a WebSocket delivered: a text frame as {@linkcode parseFrame}
 * does, a binary one refused (spec §4.1: text frames only).
 */
export function parseSocketData(
  data: unknown,
  maxBytes: number,
  maxDepth: number = DEFAULT_MAX_JSON_DEPTH,
): Frame | MalformedFrame {
  return typeof data === "string"
    ? parseFrame(data, maxBytes, maxDepth)
    : new MalformedFrame("Binary frames are not ARCP: send JSON text frames");
}
