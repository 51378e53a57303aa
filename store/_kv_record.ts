// Records (jobs, sessions) in Deno KV, whatever their size: one over the
// 64 KiB value limit (a job whose terminal envelope holds a large result, a
// session with many cancel requests) is stored in parts (`_kv_parts.ts`)
// under `["record_part", partsId]`, and its keys hold a marker naming them.
// Every write of a large record takes fresh parts, so a reader holding an
// older marker never joins parts of two versions; the parts a write replaced
// are deleted once it has committed, and a reader that finds its parts gone
// reads the key again.

import {
  commit,
  deleteAll,
  type KvAtomicLike,
  type KvKeyLike,
  type KvLike,
  MAX_CONFLICTS,
} from "./_kv.ts";
import { MAX_VALUE_BYTES, measure, valueSize } from "./_kv_limits.ts";
import { isPartsMarker, type PartsMarker, readParts, splitValue, writeParts } from "./_kv_parts.ts";
import type { KeyBuilder } from "./_kv_log.ts";

/** What a record's keys hold when it is stored in parts. */
interface RecordMarker extends PartsMarker {
  /** Names the parts: `["record_part", kv_parts_id, n]`. */
  kv_parts_id: string;
}

function isRecordMarker(value: unknown): value is RecordMarker {
  return isPartsMarker(value) && typeof (value as RecordMarker).kv_parts_id === "string";
}

/** Times a reader re-reads a key whose parts were replaced under it. */
const REREADS = 5;

/**
 * The record a key's `value` stands for: itself, or joined from its parts.
 * `reread` gets the key's value again, for when the parts were replaced
 * between reading the marker and reading them.
 */
export async function resolveRecord<T>(
  kv: KvLike,
  key: KeyBuilder,
  value: unknown,
  reread: () => Promise<unknown>,
  what: string,
): Promise<T | undefined> {
  for (let attempt = 1;; attempt++) {
    if (!isRecordMarker(value)) return (value ?? undefined) as T | undefined;
    try {
      return await readParts<T>(kv, key("record_part", value.kv_parts_id), value.kv_parts, what);
    } catch (error) {
      const again = await reread();
      const replaced = !isRecordMarker(again) || again.kv_parts_id !== value.kv_parts_id;
      if (!replaced || attempt === REREADS) throw error;
      value = again;
    }
  }
}

/** What to store at a record's keys: the record, or a marker to its parts, written first. */
async function storable(kv: KvLike, key: KeyBuilder, record: unknown, what: string) {
  if (valueSize(record) <= MAX_VALUE_BYTES) return record;
  const parts = splitValue(record);
  const marker: RecordMarker = { kv_parts: parts.length, kv_parts_id: crypto.randomUUID() };
  await writeParts(kv, key("record_part", marker.kv_parts_id), parts, what);
  return marker;
}

/** Deletes the parts `value` names, when it is a marker no key holds any more. */
export async function dropParts(kv: KvLike, key: KeyBuilder, value: unknown): Promise<void> {
  if (!isRecordMarker(value)) return;
  // Left behind, they would only take space: a failure here fails no write.
  await deleteAll(kv, { prefix: key("record_part", value.kv_parts_id) }).catch(() => {});
}

/**
 * Changes the record at `recordKey` in one commit checked against that key,
 * retried on conflict. `change` gets the stored record (or `undefined`) and
 * returns the record to store, or `undefined` to keep it; `writes` adds to
 * the commit the writes of `value` (the record, or the marker to its parts)
 * to `recordKey` and any index key (`keys`, checked against the KV limits),
 * knowing the record it replaces and the one it stores.
 *
 * @returns The record stored afterwards, or `undefined` when there is none.
 * @throws {RangeError} when a key exceeds the Deno KV key limit.
 */
export async function writeRecord<T>(
  kv: KvLike,
  key: KeyBuilder,
  what: string,
  keys: readonly KvKeyLike[],
  change: (current: T | undefined) => T | undefined,
  writes: (op: KvAtomicLike, value: unknown, current: T | undefined, next: T) => void,
): Promise<T | undefined> {
  const recordKey = keys[0]!;
  for (let conflicts = 0; conflicts <= MAX_CONFLICTS; conflicts++) {
    const entry = await kv.get(recordKey);
    const reread = async () => (await kv.get(recordKey)).value;
    const current = await resolveRecord<T>(kv, key, entry.value, reread, what);
    const next = change(current);
    if (next === undefined) return current;
    for (const indexKey of keys) measure(indexKey, undefined, what, 0);
    const value = await storable(kv, key, next, what);
    const op = kv.atomic().check({ key: recordKey, versionstamp: entry.versionstamp });
    writes(op, value, current, next);
    let committed: string | null;
    try {
      committed = await commit(op, what);
    } catch (error) {
      await dropParts(kv, key, value);
      throw error;
    }
    if (committed !== null) {
      await dropParts(kv, key, entry.value);
      return next;
    }
    await dropParts(kv, key, value);
  }
  throw new Error(`Cannot store ${what}: too many conflicting writers`);
}
