// This module is browser compatible.
// Reassembles a streamed result from its `result_chunk` events (spec 1.1
// §8.4), checking that they are in order, complete and of the stated size. A
// subscriber may have joined after the first chunks (spec 1.1 §7.6): those
// are missed, not broken, and the result is then unavailable, not corrupt.

import { decodeBase64 } from "../internal/base64.ts";
import type { JobResultPayload } from "../protocol/messages.ts";

const encoder = new TextEncoder();

export class ChunkAssembler {
  #resultId: string | undefined;
  #parts: Uint8Array[] = [];
  #next = 0;
  #size = 0;
  #complete = false;
  #problem: string | undefined;
  #joinedLate = false;
  /** The first chunk seen, when chunks before it went by before this view began. */
  #missedBefore: number | undefined;

  /** Chunks before the first one seen may have been emitted before this view of the job began. */
  joinedLate(): void {
    this.#joinedLate = true;
  }

  add(body: Record<string, unknown>): void {
    if (this.#problem !== undefined) return;
    const { result_id: resultId, chunk_seq: seq, data, encoding, more } = body;
    if (this.#resultId === undefined) {
      this.#resultId = String(resultId);
      if (this.#joinedLate && typeof seq === "number" && seq > 0) {
        this.#missedBefore = seq;
        this.#next = seq;
      }
    }
    if (resultId !== this.#resultId) {
      return this.#fail(`chunks of two results, ${this.#resultId} and ${resultId}`);
    }
    if (this.#complete) return this.#fail(`chunk ${seq} after the last one`);
    if (seq !== this.#next) {
      return this.#fail(`chunk ${seq} arrived where ${this.#next} was expected`);
    }
    if (typeof data !== "string") return this.#fail(`chunk ${seq} has no data`);
    let bytes: Uint8Array;
    try {
      bytes = encoding === "utf8" ? encoder.encode(data) : decodeBase64(data);
    } catch {
      return this.#fail(`chunk ${seq} is not valid ${encoding}`);
    }
    // Part of a result that cannot be whole here is not kept.
    if (this.#missedBefore === undefined) this.#parts.push(bytes);
    this.#size += bytes.length;
    this.#next++;
    if (more === false) this.#complete = true;
  }

  /**
   * Which chunks of the result `payload` announces went by before this view
   * of the job began ("chunks 0 to 4 were"), if some did and those seen are
   * sound.
   */
  missed(payload: JobResultPayload): string | undefined {
    if (!this.#joinedLate || this.#problem !== undefined) return undefined;
    if (this.#resultId === undefined) return "all its chunks were";
    if (this.#resultId !== payload.result_id || !this.#complete) return undefined;
    if (this.#missedBefore === undefined) return undefined;
    const last = this.#missedBefore - 1;
    return last === 0 ? "chunk 0 was" : `chunks 0 to ${last} were`;
  }

  /** Why the chunks do not make up the result `payload` announces, if they do not. */
  check(payload: JobResultPayload): string | undefined {
    if (this.#problem !== undefined) return this.#problem;
    if (this.#resultId !== payload.result_id) return `no chunks of it arrived`;
    if (!this.#complete) return `the chunk with more: false never arrived`;
    if (payload.result_size !== undefined && payload.result_size !== this.#size) {
      return `${this.#size} bytes arrived, result_size says ${payload.result_size}`;
    }
    return undefined;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let offset = 0;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  #fail(problem: string): void {
    this.#problem = problem;
    this.#parts = [];
  }
}
