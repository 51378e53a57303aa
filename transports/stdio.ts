// This module is browser compatible.
/**
 * The stdio transport (spec §4.2): newline-delimited JSON over any pair of
 * byte streams, such as a child process's stdin and stdout, `Deno.stdin` and
 * `Deno.stdout`, a `Bun.spawn` child, or in-process pipes in tests. The
 * Deno-specific process plumbing lives in `./stdio_deno.ts`.
 *
 * @example Carry frames over an in-process byte pipe
 * ```ts
 * import { ndjsonTransport } from "@arcp/arcp/transports/stdio";
 * import assert from "node:assert/strict";
 *
 * const pipe = new TransformStream<Uint8Array, Uint8Array>();
 * const transport = ndjsonTransport(pipe);
 * const writer = transport.writable.getWriter();
 * await writer.write({ hello: "world" });
 * await writer.close();
 * assert.deepEqual(await Array.fromAsync(transport.readable), [{ hello: "world" }]);
 * ```
 *
 * @module
 */

import { ndjsonDecoder, ndjsonEncoder } from "./ndjson.ts";
import type { Frame, Transport } from "./types.ts";

export { type Frame, MalformedFrame, type Transport } from "./types.ts";

/** Options of {@linkcode ndjsonTransport}. */
export interface NdjsonTransportOptions {
  /**
   * Cap on one incoming line in bytes of UTF-8; a longer line arrives as one
   * {@linkcode MalformedFrame} and is never buffered beyond the cap.
   * @default {1048576}
   */
  maxFrameBytes?: number;
  /**
   * Cap on how deeply objects and arrays nest in one incoming line (the
   * line's own object is level 1); a deeper line arrives as a
   * {@linkcode MalformedFrame}.
   * @default {64}
   */
  maxJsonDepth?: number;
}

/** A pair of byte streams: what the peer sends, and where to send to it. */
export interface ByteStreams {
  /** Bytes from the peer, e.g. a child's stdout. */
  readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer, e.g. a child's stdin. */
  writable: WritableStream<Uint8Array>;
}

/**
 * Wraps a pair of byte streams as a {@linkcode Transport} that speaks
 * newline-delimited JSON, one frame per line. Closing the transport's
 * writable closes the byte writable once every frame is written, aborting it
 * aborts the byte writable, and cancelling its readable cancels the byte
 * readable. Backpressure flows through in both directions.
 *
 * @param streams The byte streams; the transport owns (locks) both.
 * @param options The incoming line cap.
 * @returns The transport.
 * @throws {TypeError} when either stream is already locked.
 * @throws {RangeError} when `maxFrameBytes` is not a positive integer.
 * @example Serve a runtime and connect a client over cross-wired byte pipes
 * ```ts
 * import { connect } from "@arcp/arcp/client";
 * import { Runtime, staticTokens } from "@arcp/arcp/runtime";
 * import { ndjsonTransport } from "@arcp/arcp/transports/stdio";
 * import assert from "node:assert/strict";
 *
 * const up = new TransformStream<Uint8Array, Uint8Array>();
 * const down = new TransformStream<Uint8Array, Uint8Array>();
 * await using runtime = new Runtime({
 *   authenticate: staticTokens({ t: "alice" }),
 *   agents: [{ name: "echo", handler: async (input) => ({ echoed: input }) }],
 * });
 * const served = runtime.accept(ndjsonTransport({ readable: up.readable, writable: down.writable }));
 * const client = await connect(
 *   ndjsonTransport({ readable: down.readable, writable: up.writable }),
 *   { token: "t" },
 * );
 * const job = await client.submit("echo", { hi: 1 });
 * assert.deepEqual((await job.result).result, { echoed: { hi: 1 } });
 * await client.close();
 * await served;
 * ```
 */
export function ndjsonTransport(
  streams: ByteStreams,
  options: NdjsonTransportOptions = {},
): Transport {
  if (streams.readable.locked || streams.writable.locked) {
    throw new TypeError("Cannot create an NDJSON transport: a byte stream is already locked");
  }
  const decoder = ndjsonDecoder({
    ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
    ...(options.maxJsonDepth === undefined ? {} : { maxJsonDepth: options.maxJsonDepth }),
  });
  const encoder = ndjsonEncoder();
  const piped = encoder.readable.pipeTo(streams.writable);
  // Failures surface on the transport's writable; here they would only repeat.
  piped.catch(() => {});
  const encode = encoder.writable.getWriter();
  // A thin wrapper, so that close() and abort() resolve only once the byte
  // writable has been closed or aborted, not merely once the encoder has.
  const writable = new WritableStream<Frame>({
    write(frame) {
      return encode.write(frame);
    },
    async close() {
      await encode.close();
      await piped;
    },
    async abort(reason) {
      await encode.abort(reason);
      // Aborted on purpose: the pipe's failure is that abort.
      await piped.catch(() => {});
    },
  });
  return { readable: streams.readable.pipeThrough(decoder), writable };
}
