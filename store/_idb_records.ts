// This module is browser compatible.
// The records of the IndexedDB store: the `records` object store (key the
// record key, value `{ key, value, version }`), each write in one
// read-write transaction.

import type { ListOptions, RecordEntry, RecordKey, WriteOptions } from "./types.ts";
import { BATCH, batches, RECORDS, stored, type StoredRecord } from "./_idb.ts";
import {
  type IDBDatabaseLike,
  type IDBKeyRangeLike,
  type IDBObjectStoreLike,
  type IDBRequestLike,
  request,
  transact,
} from "../internal/idb.ts";

/** The record at `key`. */
export async function getRecord(
  db: IDBDatabaseLike,
  key: RecordKey,
): Promise<RecordEntry | undefined> {
  return await transact(
    db,
    [RECORDS],
    "readonly",
    (tx) => request(tx.objectStore(RECORDS).get(key)),
  ) as StoredRecord | undefined;
}

/** Writes a record, checking `options.ifVersion` first. */
export function setRecord(
  db: IDBDatabaseLike,
  key: RecordKey,
  value: unknown,
  options: WriteOptions,
): Promise<boolean> {
  return writeRecord(db, key, options, (records) => records.put(stored(key, value), key));
}

/** Deletes a record, checking `options.ifVersion` first. */
export function deleteRecord(
  db: IDBDatabaseLike,
  key: RecordKey,
  options: WriteOptions,
): Promise<boolean> {
  return writeRecord(db, key, options, (records) => records.delete(key));
}

/**
 * Runs `write` in one read-write transaction (which IndexedDB runs alone on
 * its store), so the `ifVersion` check and the write see the same record.
 */
function writeRecord(
  db: IDBDatabaseLike,
  key: RecordKey,
  { ifVersion }: WriteOptions,
  write: (records: IDBObjectStoreLike) => IDBRequestLike<unknown>,
): Promise<boolean> {
  return transact(db, [RECORDS], "readwrite", async (tx) => {
    const records = tx.objectStore(RECORDS);
    if (ifVersion !== undefined) {
      const current = await request(records.get(key)) as StoredRecord | undefined;
      if ((current?.version ?? null) !== ifVersion) return false;
    }
    await request(write(records));
    return true;
  });
}

/** Streams the records under `prefix` in key order, one transaction per batch. */
export function listRecords(
  db: IDBDatabaseLike,
  range: IDBKeyRangeLike,
  prefix: RecordKey,
  options: ListOptions,
): AsyncIterable<RecordEntry> {
  // Arrays sort after strings: `[...prefix, []]` bounds every longer key.
  const upper = [...prefix, []];
  return batches<StoredRecord>(db, RECORDS, (last) => {
    const keys = range.bound(last?.key ?? options.after ?? prefix, upper, true, true);
    return (tx) => tx.objectStore(RECORDS).getAll(keys, BATCH);
  });
}
