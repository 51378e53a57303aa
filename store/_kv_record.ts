// Records (jobs, sessions, any value of the record store) in Deno KV, whatever their size: one over the
// 64 KiB value limit (a job whose terminal envelope holds a large result, a
// session with many cancel requests) is stored in parts (`_kv_parts.ts`)
// under `["record_part", partsId]`, and its keys hold a marker naming them.
// Every write of a large record takes fresh parts, so a reader holding an
// older marker never joins parts of two versions; the parts a write replaced
// are deleted once it has committed, and a reader that finds its parts gone
// reads the key again.

import type { RecordEntry, RecordKey } from "./types.ts";
import { deleteAll, MAX_CONFLICTS, READ_BATCH } from "./_kv.ts";
import { commit, type KvKeyLike, type KvLike } from "../internal/kv.ts";
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
async function resolveRecord<T>(
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

/**
 * The entry of the record at `recordKey` (under the store's prefix), whose
 * key holds `value` at `version`: `undefined` when absent, or deleted
 * between reading the key and reading its parts.
 */
export async function recordEntry(
  kv: KvLike,
  key: KeyBuilder,
  recordKey: RecordKey,
  value: unknown,
  version: string | null,
): Promise<RecordEntry | undefined> {
  if (version === null) return undefined;
  const full = key(...recordKey);
  const reread = async () => (await kv.get(full)).value;
  const record = await resolveRecord(kv, key, value, reread, recordKey.join("/"));
  return record === undefined ? undefined : { key: recordKey, value: record, version };
}

/**
 * The records under `prefix` in key order, those after `after` when given,
 * one `list` batch at a time. `prefixLength` is the length of the store's
 * prefix, taken off each key.
 */
export async function* listRecords(
  kv: KvLike,
  key: KeyBuilder,
  prefixLength: number,
  prefix: RecordKey,
  after: RecordKey | undefined,
): AsyncIterable<RecordEntry> {
  const full = key(...prefix);
  const selector = after === undefined ? { prefix: full } : { prefix: full, start: key(...after) };
  for await (const entry of kv.list(selector, { batchSize: READ_BATCH })) {
    const recordKey = (entry.key as string[]).slice(prefixLength);
    if (
      after !== undefined && recordKey.length === after.length &&
      recordKey.every((p, i) => p === after[i])
    ) {
      continue;
    }
    const record = await recordEntry(kv, key, recordKey, entry.value, entry.versionstamp);
    if (record !== undefined) yield record;
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
 * Writes `value` at `recordKey` (deletes it, given `undefined`) in one
 * commit; with `ifVersion`, only while the key is still at that version
 * (`null`: absent). Parts the write
 * replaced are deleted once it has committed.
 *
 * @returns The new versionstamp, or `null` when `ifVersion` did not hold.
 * @throws {RangeError} when the key exceeds the Deno KV key limit.
 */
export async function writeKey(
  kv: KvLike,
  key: KeyBuilder,
  recordKey: KvKeyLike,
  value: unknown,
  ifVersion: string | null | undefined,
  what: string,
): Promise<string | null> {
  measure(recordKey, undefined, what, 0);
  const stored = value === undefined ? undefined : await storable(kv, key, value, what);
  try {
    for (let conflicts = 0; conflicts <= MAX_CONFLICTS; conflicts++) {
      const entry = await kv.get(recordKey);
      if (ifVersion !== undefined && entry.versionstamp !== ifVersion) break;
      const op = kv.atomic();
      // Checked when it must be, or when parts are at stake (their owner
      // drops them); else many writers of one small value never conflict.
      if (ifVersion !== undefined || isRecordMarker(stored) || isRecordMarker(entry.value)) {
        op.check({ key: recordKey, versionstamp: entry.versionstamp });
      }
      if (stored === undefined) op.delete(recordKey);
      else op.set(recordKey, stored);
      const committed = await commit(op, what);
      if (committed !== null) {
        await dropParts(kv, key, entry.value);
        return committed;
      }
      if (ifVersion !== undefined) break;
    }
  } catch (error) {
    await dropParts(kv, key, stored);
    throw error;
  }
  await dropParts(kv, key, stored);
  if (ifVersion !== undefined) return null;
  throw new Error(`Cannot store ${what}: too many conflicting writers`);
}
