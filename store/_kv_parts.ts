// Values larger than one Deno KV value (64 KiB): a `result_chunk` of up to
// 1 MiB, a long log line, a job record holding a large result. Such a value
// is stored as JSON bytes in parts under a prefix of its own, and the key
// that would hold it holds a marker instead, so key order, indexes and
// checked commits work as for any value. One mechanism for every value: the
// log keeps its parts under `["log_part", sessionId, seq]`, records (see
// `_kv_record.ts`) under `["record_part", partsId]`.

import { commit, type KvKeyLike, type KvLike } from "../internal/kv.ts";

/** Bytes per part: a Uint8Array value plus its serialization header stays under the limit. */
const PART_BYTES = 60_000;
/** Parts per atomic commit, under the commit size limit (`MAX_COMMIT_BYTES`). */
const PARTS_PER_COMMIT = 8;

/** What a key holds for a value stored in parts. */
export interface PartsMarker {
  /** How many parts follow under the value's parts prefix. */
  kv_parts: number;
}

/** Whether a stored value is a marker rather than the value itself. */
export function isPartsMarker(value: unknown): value is PartsMarker {
  return typeof value === "object" && value !== null &&
    typeof (value as PartsMarker).kv_parts === "number";
}

/** The parts of `value`, as JSON bytes, each small enough for one KV value. */
export function splitValue(value: unknown): Uint8Array[] {
  return splitBytes(new TextEncoder().encode(JSON.stringify(value)));
}

/** The parts of `bytes`, each small enough for one KV value. */
export function splitBytes(bytes: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += PART_BYTES) {
    parts.push(bytes.subarray(offset, offset + PART_BYTES));
  }
  return parts;
}

/** Stores `parts` under `prefix` (`[...prefix, n]`), in as few commits as the limits allow. */
export async function writeParts(
  kv: KvLike,
  prefix: KvKeyLike,
  parts: readonly Uint8Array[],
  what: string,
): Promise<void> {
  for (let n = 0; n < parts.length; n += PARTS_PER_COMMIT) {
    const op = kv.atomic();
    parts.slice(n, n + PARTS_PER_COMMIT).forEach((part, j) => op.set([...prefix, n + j], part));
    await commit(op, `the parts of ${what}`);
  }
}

/**
 * Reassembles a value stored in `count` parts under `prefix`.
 *
 * @throws {Error} when parts are missing: they were replaced since the
 *   marker was read, or the store is damaged.
 */
export async function readParts<T>(
  kv: KvLike,
  prefix: KvKeyLike,
  count: number,
  what: string,
): Promise<T> {
  const chunks: Uint8Array[] = [];
  for await (const entry of kv.list({ prefix })) chunks.push(entry.value as Uint8Array);
  if (chunks.length !== count) {
    throw new Error(`${what} is stored in ${count} parts, ${chunks.length} found`);
  }
  const bytes = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return JSON.parse(new TextDecoder().decode(bytes)) as T;
}
