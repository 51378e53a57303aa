// This module is browser compatible.
/**
 * An in-process transport pair, for tests and for a runtime and client in the
 * same page or process.
 *
 * @module
 */

import {
  DEFAULT_MAX_FRAME_BYTES,
  type Frame,
  type MalformedFrame,
  parseFrame,
  type Transport,
} from "./types.ts";
import { frameText } from "./frame_text.ts";

export { type Frame, MalformedFrame, parseFrame, type Transport } from "./types.ts";
export { encodePayload, frameText } from "./frame_text.ts";

/** Options of {@linkcode memoryTransportPair}. */
export interface MemoryTransportOptions {
  /**
   * Cap on one frame in bytes of UTF-8; larger frames arrive as a
   * {@linkcode MalformedFrame}.
   * @default {1048576}
   */
  maxFrameBytes?: number;
  /**
   * Frames buffered in each direction before writers wait.
   * @default {256}
   */
  highWaterMark?: number;
}

function direction(
  maxBytes: number,
  highWaterMark: number,
): TransformStream<Frame, Frame | MalformedFrame> {
  return new TransformStream<Frame, Frame | MalformedFrame>(
    {
      // The JSON round trip makes tests catch payloads that cannot be
      // serialised and objects shared by reference between the two sides.
      transform(frame, controller) {
        controller.enqueue(parseFrame(frameText(frame), maxBytes));
      },
    },
    new CountQueuingStrategy({ highWaterMark }),
    new CountQueuingStrategy({ highWaterMark }),
  );
}

/**
 * Creates two linked transports: what one side writes, the other reads, each
 * frame round-tripped through JSON.
 *
 * @param options Frame cap and buffering.
 * @returns `[client, runtime]` ends of the pair.
 * @example Send a frame across
 * ```ts
 * import { memoryTransportPair } from "@arcp/arcp/transports/memory";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = memoryTransportPair();
 * const writer = a.writable.getWriter();
 * await writer.write({ hello: "world" });
 * const { value } = await b.readable.getReader().read();
 * assert.deepEqual(value, { hello: "world" });
 * await writer.close();
 * ```
 */
export function memoryTransportPair(options: MemoryTransportOptions = {}): [Transport, Transport] {
  const maxBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const highWaterMark = options.highWaterMark ?? 256;
  const toRuntime = direction(maxBytes, highWaterMark);
  const toClient = direction(maxBytes, highWaterMark);
  return [
    { readable: toClient.readable, writable: toRuntime.writable },
    { readable: toRuntime.readable, writable: toClient.writable },
  ];
}
