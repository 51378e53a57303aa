// Events larger than one Deno KV value (64 KiB): a `result_chunk` of up to
// 1 MiB, a long log line. Such an event is stored as JSON bytes in parts
// under `["log_part", sessionId, seq, i]`, and its log entry holds only a
// marker, so the log's key order, trimming and reads stay as for any event.

import type { KvLike } from "./_kv.ts";
import type { StoredEvent } from "./types.ts";

/** Bytes per part: a Uint8Array value plus its serialization header stays under the limit. */
const PART_BYTES = 60_000;
/** Parts per atomic commit, under the commit size limit (`MAX_COMMIT_BYTES`). */
export const PARTS_PER_COMMIT = 8;

/** What the log holds for an event stored in parts. */
export interface PartsMarker {
  event_seq: number;
  /** How many parts follow under `log_part`. */
  kv_parts: number;
}

/** Whether a logged value is a marker rather than an event. */
export function isPartsMarker(value: unknown): value is PartsMarker {
  return typeof (value as PartsMarker).kv_parts === "number";
}

/** The parts of `event`, which is too large for one value. */
export function splitLargeEvent(event: StoredEvent): Uint8Array[] {
  const bytes = new TextEncoder().encode(JSON.stringify(event));
  const parts: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += PART_BYTES) {
    parts.push(bytes.subarray(offset, offset + PART_BYTES));
  }
  return parts;
}

/**
 * Reassembles an event stored in parts.
 *
 * @throws {Error} when parts are missing: the log is damaged.
 */
export async function joinLargeEvent(
  kv: KvLike,
  prefix: readonly (string | number)[],
  marker: PartsMarker,
): Promise<StoredEvent> {
  const chunks: Uint8Array[] = [];
  for await (const entry of kv.list({ prefix: [...prefix, marker.event_seq] })) {
    chunks.push(entry.value as Uint8Array);
  }
  if (chunks.length !== marker.kv_parts) {
    throw new Error(
      `event_seq ${marker.event_seq} is stored in ${marker.kv_parts} parts, ${chunks.length} found`,
    );
  }
  const bytes = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return JSON.parse(new TextDecoder().decode(bytes)) as StoredEvent;
}
