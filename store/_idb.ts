// This module is browser compatible.
// The IndexedDB store's schema (version 4): `events` (key `[session_id,
// event_seq]`), `log_meta` (key `session_id`) and `records` (key the record
// key, value `{ key, value, version }`). A database of an earlier version
// (sessions, jobs, idempotency keys and credentials in object stores of
// their own) has its records moved into `records` by the upgrade. Also the
// batched read that the log (`_idb_log.ts`) and records (`_idb_records.ts`)
// both stream with.

import { newId } from "../protocol/ids.ts";
import type { JobRecord } from "./types.ts";
import {
  type IDBDatabaseLike,
  type IDBFactoryLike,
  type IDBRequestLike,
  type IDBTransactionLike,
  request,
  transact,
} from "../internal/idb.ts";

/** Object store names. */
export const EVENTS = "events";
export const LOG_META = "log_meta";
export const RECORDS = "records";

/** Records read per transaction: a read streams, it never loads a whole log. */
export const BATCH = 256;

/** The schema version {@linkcode createSchema} builds. */
export const SCHEMA_VERSION = 4;

/** What `records` holds at a key. */
export interface StoredRecord {
  /** The record key. */
  key: string[];
  /** The value. */
  value: unknown;
  /** A version, new at every write. */
  version: string;
}

/** Where an earlier schema kept each kind of record, and the record keys it moves to. */
const LEGACY: Record<string, (value: never) => string[][]> = {
  sessions: (r: { session_id: string }) => [["session", r.session_id]],
  jobs: (r: JobRecord) => [
    ["job", r.job_id],
    ["job_by_principal", r.principal, r.job_id],
    ...(r.status === "pending" || r.status === "running" ? [["job_unfinished", r.job_id]] : []),
  ],
  idempotency: (r: { principal: string; key: string }) => [["idem", r.principal, r.key]],
  credentials: (r: { credential_id: string }) => [["credential", r.credential_id]],
};

/**
 * Creates the object stores the store needs, if missing. Given the
 * upgrade's transaction, moves the records an earlier schema stored into
 * `records` (an index entry holds the id it names); the resume-token index
 * is rebuilt at the first lookup.
 */
export function createSchema(db: IDBDatabaseLike, upgrade?: IDBTransactionLike | null): void {
  const names = db.objectStoreNames;
  // Out-of-line keys: [session_id, event_seq], session_id and the record key.
  if (!names.contains(EVENTS)) db.createObjectStore(EVENTS);
  if (!names.contains(LOG_META)) db.createObjectStore(LOG_META);
  if (!names.contains(RECORDS)) db.createObjectStore(RECORDS);
  if (!upgrade) return;
  if (names.contains("session_tokens")) db.deleteObjectStore("session_tokens");
  for (const [name, keysOf] of Object.entries(LEGACY)) {
    if (!names.contains(name)) continue;
    const all = upgrade.objectStore(name).getAll(null);
    all.onsuccess = () => {
      const records = upgrade.objectStore(RECORDS);
      for (const value of all.result as never[]) {
        const [key, ...index] = keysOf(value);
        records.put(stored(key!, value), key);
        for (const entry of index) records.put(stored(entry, key![1]), entry);
      }
      db.deleteObjectStore(name);
    };
  }
}

/** `value` as `records` holds it at `key`, with a new version. */
export function stored(key: readonly string[], value: unknown): StoredRecord {
  return { key: [...key], value, version: newId("v") };
}

/** Opens (and creates or upgrades) a database with the store's schema. */
export function openDatabase(factory: IDBFactoryLike, name: string): Promise<IDBDatabaseLike> {
  return new Promise((resolve, reject) => {
    const req = factory.open(name, SCHEMA_VERSION);
    req.onupgradeneeded = () => createSchema(req.result, req.transaction);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * Runs one read-only transaction per batch until a batch comes back empty
 * (not merely short: records may have been added meanwhile). One
 * transaction per batch, because an IndexedDB transaction cannot stay open
 * while the caller consumes what was read.
 */
export async function* batches<T>(
  db: IDBDatabaseLike,
  store: string,
  query: (last: T | undefined) => (tx: IDBTransactionLike) => IDBRequestLike<unknown[]>,
  signal?: AbortSignal,
): AsyncIterable<T> {
  let last: T | undefined;
  while (!signal?.aborted) {
    const read = query(last);
    const batch = await transact(db, [store], "readonly", (tx) => request(read(tx))) as T[];
    for (const item of batch) {
      if (signal?.aborted) return;
      yield item;
    }
    if (batch.length === 0) return;
    last = batch[batch.length - 1];
  }
}
