// This module is browser compatible.
/**
 * Newline-delimited JSON framing (spec §4.2) as two reusable
 * `TransformStream`s: bytes to frames and frames to bytes. Each line is one
 * JSON object; lines that cannot be parsed arrive as a
 * {@linkcode MalformedFrame} so the session can answer them and carry on.
 *
 * @example Decode what was encoded
 * ```ts
 * import { ndjsonDecoder, ndjsonEncoder } from "@arcp/arcp/transports/ndjson";
 * import assert from "node:assert/strict";
 *
 * const frames = ReadableStream.from([{ a: 1 }, { b: "é" }])
 *   .pipeThrough(ndjsonEncoder())
 *   .pipeThrough(ndjsonDecoder());
 * assert.deepEqual(await Array.fromAsync(frames), [{ a: 1 }, { b: "é" }]);
 * ```
 *
 * @module
 */

import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_JSON_DEPTH,
  type Frame,
  MalformedFrame,
  parseFrame,
} from "./types.ts";
import { frameText } from "./frame_text.ts";

export { type Frame, MalformedFrame } from "./types.ts";

/** Options of {@linkcode ndjsonDecoder}. */
export interface NdjsonDecoderOptions {
  /**
   * Cap on one line in bytes of UTF-8, not counting its line ending. A longer
   * line arrives as one {@linkcode MalformedFrame} and is never buffered
   * beyond the cap.
   * @default {1048576}
   */
  maxFrameBytes?: number;
  /**
   * Cap on how deeply objects and arrays nest in one line (the line's own
   * object is level 1); a deeper line arrives as a {@linkcode MalformedFrame}.
   * @default {64}
   */
  maxJsonDepth?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const BLANK = /^[ \t\r]*$/;

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Creates a stream that splits UTF-8 bytes into lines on `"\n"` (a `"\r\n"`
 * ending is accepted), skips blank lines, and parses each line as one frame.
 * A line that is not UTF-8, not JSON, not a JSON object, longer than
 * `maxFrameBytes` or nested deeper than `maxJsonDepth` becomes a {@linkcode MalformedFrame} and the stream goes
 * on; an unterminated last line is parsed when the input ends.
 *
 * @param options The line and nesting caps.
 * @returns A `TransformStream` from bytes to frames.
 * @throws {RangeError} when `maxFrameBytes` is not a positive integer.
 * @example Lines split across chunks, a blank line and a bad one
 * ```ts
 * import { MalformedFrame, ndjsonDecoder } from "@arcp/arcp/transports/ndjson";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode('{"a":1}\r\n\n{"b":\nnot json\n');
 * const chunks = [bytes.subarray(0, 11), bytes.subarray(11)];
 * const frames = await Array.fromAsync(
 *   ReadableStream.from(chunks).pipeThrough(ndjsonDecoder({ maxFrameBytes: 64 })),
 * );
 * assert.deepEqual(frames[0], { a: 1 });
 * assert.ok(frames[1] instanceof MalformedFrame);
 * assert.ok(frames[2] instanceof MalformedFrame);
 * assert.equal(frames.length, 3);
 * ```
 */
export function ndjsonDecoder(
  options: NdjsonDecoderOptions = {},
): TransformStream<Uint8Array, Frame | MalformedFrame> {
  const maxBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`Cannot create an NDJSON decoder: maxFrameBytes is ${maxBytes}`);
  }
  const maxDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  // The partial line so far; one byte over the cap is allowed for a "\r".
  let parts: Uint8Array[] = [];
  let pending = 0;
  let discarding = false;

  function emit(
    line: Uint8Array,
    controller: TransformStreamDefaultController<Frame | MalformedFrame>,
  ): void {
    const end = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
    let text: string;
    try {
      text = decoder.decode(line.subarray(0, end));
    } catch {
      controller.enqueue(new MalformedFrame("Frame is not valid UTF-8"));
      return;
    }
    if (!BLANK.test(text)) controller.enqueue(parseFrame(text, maxBytes, maxDepth));
  }

  function reset(): void {
    parts = [];
    pending = 0;
  }

  function refuse(controller: TransformStreamDefaultController<Frame | MalformedFrame>): void {
    controller.enqueue(new MalformedFrame(`Frame exceeds the ${maxBytes}-byte limit`));
    reset();
  }

  return new TransformStream<Uint8Array, Frame | MalformedFrame>({
    transform(chunk, controller) {
      let start = 0;
      for (;;) {
        const newline = chunk.indexOf(LF, start);
        if (newline === -1) break;
        const piece = chunk.subarray(start, newline);
        start = newline + 1;
        if (discarding) {
          // The over-long line ends here; it was already refused.
          discarding = false;
          continue;
        }
        const length = pending + piece.length;
        if (length > maxBytes + 1) refuse(controller);
        else {
          const line = parts.length === 0 ? piece : concat([...parts, piece], length);
          reset();
          emit(line, controller);
        }
      }
      const rest = chunk.subarray(start);
      if (discarding || rest.length === 0) return;
      pending += rest.length;
      if (pending > maxBytes + 1) {
        refuse(controller);
        discarding = true;
        return;
      }
      // Copied: the writer may reuse its buffer once this chunk is consumed.
      parts.push(rest.slice());
    },
    flush(controller) {
      if (!discarding && parts.length > 0) emit(concat(parts, pending), controller);
      reset();
    },
  });
}

const encoder = new TextEncoder();

/**
 * Creates a stream that writes each frame as one line of UTF-8 JSON ending
 * in `"\n"` (its `frameText`, which is `JSON.stringify(frame)`).
 * JSON escapes every newline inside strings, so a frame never spans two
 * lines.
 *
 * @returns A `TransformStream` from frames to bytes.
 * @throws {TypeError} from the stream (erroring it) when a frame cannot be
 *   serialised, e.g. it holds a `bigint` or a cycle.
 * @example One line per frame
 * ```ts
 * import { ndjsonEncoder } from "@arcp/arcp/transports/ndjson";
 * import assert from "node:assert/strict";
 *
 * const bytes = ReadableStream.from([{ text: "two\nlines" }, { n: 2 }]).pipeThrough(ndjsonEncoder());
 * assert.equal(await new Response(bytes).text(), '{"text":"two\\nlines"}\n{"n":2}\n');
 * ```
 */
export function ndjsonEncoder(): TransformStream<Frame, Uint8Array> {
  return new TransformStream<Frame, Uint8Array>({
    transform(frame, controller) {
      controller.enqueue(encoder.encode(`${frameText(frame)}\n`));
    },
  });
}
