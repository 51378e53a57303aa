// This module is browser compatible.
// A streamed result (spec 1.1 §8.4): what the agent writes is cut into
// ordered `result_chunk` events of a bounded size; the last has `more: false`.

import { ArcpError } from "../protocol/errors.ts";
import { encodeBase64 } from "../internal/base64.ts";

/** Hard cap on one chunk (spec 1.1 §14 suggests 1 MB). */
export const MAX_CHUNK_BYTES: number = 1 << 20;

export interface ResultStreamOptions {
  resultId: string;
  encoding: "utf8" | "base64";
  chunkBytes: number;
  maxBytes: number;
  emit(body: Record<string, unknown>): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Where a UTF-8 chunk may end at or before `end` without splitting a character. */
function utf8Boundary(bytes: Uint8Array, end: number): number {
  let cut = end;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return cut === 0 ? end : cut;
}

export class ResultStream {
  readonly writable: WritableStream<Uint8Array | string>;
  readonly #options: ResultStreamOptions;
  #pending = new Uint8Array(0);
  #chunkSeq = 0;
  #size = 0;
  #finished = false;

  constructor(options: ResultStreamOptions) {
    this.#options = options;
    this.writable = new WritableStream<Uint8Array | string>({
      write: (chunk) => this.#write(typeof chunk === "string" ? encoder.encode(chunk) : chunk),
      close: async () => {
        await this.#emit(this.#pending.length, false);
        this.#finished = true;
      },
    });
  }

  /** The total size in bytes, once closed. */
  get size(): number {
    return this.#size;
  }

  /** Whether the writer closed and the last chunk was emitted. */
  get finished(): boolean {
    return this.#finished;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    this.#size += bytes.length;
    if (this.#size > this.#options.maxBytes) {
      throw new ArcpError(
        "INTERNAL_ERROR",
        `Streamed result exceeds the ${this.#options.maxBytes}-byte limit`,
        { retryable: false },
      );
    }
    const joined = new Uint8Array(this.#pending.length + bytes.length);
    joined.set(this.#pending);
    joined.set(bytes, this.#pending.length);
    this.#pending = joined;
    // Only full chunks with data after them go now: the last one must say more: false.
    while (this.#pending.length > this.#options.chunkBytes) {
      const end = this.#options.encoding === "utf8"
        ? utf8Boundary(this.#pending, this.#options.chunkBytes)
        : this.#options.chunkBytes;
      await this.#emit(end, true);
    }
  }

  async #emit(length: number, more: boolean): Promise<void> {
    const bytes = this.#pending.subarray(0, length);
    this.#pending = this.#pending.subarray(length);
    await this.#options.emit({
      result_id: this.#options.resultId,
      chunk_seq: this.#chunkSeq++,
      data: this.#options.encoding === "utf8" ? decoder.decode(bytes) : encodeBase64(bytes),
      encoding: this.#options.encoding,
      more,
    });
  }
}
