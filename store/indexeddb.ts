// This module is browser compatible.
/**
 * A {@linkcode Store} on IndexedDB, for a runtime that lives in a browser (a
 * tab, a worker or an extension) and must outlive a reload.
 *
 * Object stores (schema version 4): `events` (key `[session_id,
 * event_seq]`), `log_meta` (key `session_id`, value `{ first, last }`) and
 * `records` (key the record's key, value `{ key, value, version }`). A
 * database written by an earlier version has its sessions, jobs,
 * idempotency keys and credentials moved into `records` when it is upgraded.
 *
 * @example Open a store in a browser
 * ```ts ignore
 * import { openIndexedDbStore } from "@arcp/arcp/store/indexeddb";
 *
 * const store = await openIndexedDbStore("arcp");
 * console.log(await store.bounds("sess_1")); // { first: 1, last: 0 }
 * await store.close();
 * ```
 *
 * @module
 */

import type {
  ListOptions,
  LogBounds,
  ReadOptions,
  RecordEntry,
  RecordKey,
  StoredEvent,
  WriteOptions,
} from "./types.ts";
import { StoreRecords } from "./records.ts";
import { appendEvents, dropLog, trimLog } from "./_idb_log.ts";
import {
  createSchema,
  EVENTS,
  LOG_META,
  openDatabase,
  RECORDS,
  stored,
  type StoredRecord,
} from "./_idb.ts";
import {
  type IDBDatabaseLike,
  type IDBFactoryLike,
  type IDBKeyRangeLike,
  type IDBRequestLike,
  type IDBTransactionLike,
  request,
  transact,
} from "../internal/idb.ts";

export type * from "./types.ts";
export { StoreRecords } from "./records.ts";
export type {
  IDBDatabaseLike,
  IDBFactoryLike,
  IDBIndexLike,
  IDBKeyRangeLike,
  IDBObjectStoreLike,
  IDBOpenDBRequestLike,
  IDBRequestLike,
  IDBTransactionLike,
} from "../internal/idb.ts";

/** Options of {@linkcode IndexedDbStore}. */
export interface IndexedDbStoreOptions {
  /**
   * The `IDBKeyRange` class of the IndexedDB implementation `db` comes from;
   * needed where it is not a global (such as `fake-indexeddb` without its
   * `auto` entry).
   *
   * @default {globalThis.IDBKeyRange}
   */
  keyRange?: IDBKeyRangeLike;
}

/** Records read per transaction: a read streams, it never loads a whole log. */
const BATCH = 256;

const owned = new WeakSet<IndexedDbStore>();

/**
 * Keeps a runtime's event logs and records in an IndexedDB database. Each
 * operation is one transaction, so an append is atomic whatever its size; reads take one
 * short transaction per batch, because an IndexedDB transaction cannot stay
 * open while the caller consumes what was read.
 *
 * @example A store on a database the page owns
 * ```ts ignore
 * import { IndexedDbStore } from "@arcp/arcp/store/indexeddb";
 *
 * const open = indexedDB.open("my-app", 1);
 * open.onupgradeneeded = () => IndexedDbStore.createSchema(open.result, open.transaction);
 * open.onsuccess = () => {
 *   const store = new IndexedDbStore(open.result);
 *   // ... new Runtime({ agents, store })
 * };
 * ```
 */
export class IndexedDbStore extends StoreRecords {
  #db: IDBDatabaseLike;
  #range: IDBKeyRangeLike;

  /**
   * Creates, in a version-change transaction, the object stores and indexes
   * the store needs, keeping those that exist. Call it from the
   * `upgradeneeded` handler of a database you open yourself, with the
   * upgrade's transaction: then records an earlier version of the store
   * wrote are moved to the current schema (without it, they are not read).
   *
   * @param db The database being upgraded.
   * @param upgrade The version-change transaction (`open.transaction`).
   */
  static createSchema(db: IDBDatabaseLike, upgrade?: IDBTransactionLike | null): void {
    createSchema(db, upgrade);
  }

  /**
   * Wraps an open database that has the store's schema; the store never
   * closes it.
   *
   * @param db An open database, upgraded with {@linkcode IndexedDbStore.createSchema}.
   * @param options Where to find `IDBKeyRange`.
   * @throws {TypeError} when no `IDBKeyRange` is given or global, or `db`
   *   lacks the store's schema.
   */
  constructor(db: IDBDatabaseLike, options: IndexedDbStoreOptions = {}) {
    super();
    if (!db.objectStoreNames.contains(RECORDS)) {
      throw new TypeError(
        `Cannot create an IndexedDbStore: the database has no "${RECORDS}" object store; upgrade it with IndexedDbStore.createSchema`,
      );
    }
    const range = options.keyRange ??
      (globalThis as { IDBKeyRange?: IDBKeyRangeLike }).IDBKeyRange;
    if (range === undefined) {
      throw new TypeError("Cannot create an IndexedDbStore: no IDBKeyRange is given or global");
    }
    this.#db = db;
    this.#range = range;
  }

  /**
   * Runs one read-only transaction per batch until a batch comes back
   * empty (not merely short: records may have been added meanwhile).
   */
  async *#batches<T>(
    store: string,
    query: (last: T | undefined) => (tx: IDBTransactionLike) => IDBRequestLike<unknown[]>,
    signal?: AbortSignal,
  ): AsyncIterable<T> {
    let last: T | undefined;
    while (!signal?.aborted) {
      const read = query(last);
      const batch = await transact(this.#db, [store], "readonly", (tx) => request(read(tx))) as T[];
      for (const item of batch) {
        if (signal?.aborted) return;
        yield item;
      }
      if (batch.length === 0) return;
      last = batch[batch.length - 1];
    }
  }

  /** Appends a contiguous batch in one transaction; already-stored seqs are skipped. */
  append(sessionId: string, events: readonly StoredEvent[]): Promise<void> {
    return appendEvents(this.#db, sessionId, events);
  }

  /**
   * Streams retained events after `options.after`, one transaction per batch, including events
   * appended while reading.
   */
  read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent> {
    return this.#batches<StoredEvent>(EVENTS, (last) => {
      const from = last === undefined ? options.after + 1 : last.event_seq + 1;
      const range = this.#range.bound([sessionId, from], [sessionId, Infinity]);
      return (tx) => tx.objectStore(EVENTS).getAll(range, BATCH);
    }, options.signal);
  }

  /** Drops events with `event_seq <= through`, in one transaction. */
  trim(sessionId: string, options: { through: number }): Promise<void> {
    return trimLog(this.#db, this.#range, sessionId, options);
  }

  /** The retained range of a session's log. */
  async bounds(sessionId: string): Promise<LogBounds> {
    const bounds = await transact(
      this.#db,
      [LOG_META],
      "readonly",
      (tx) => request(tx.objectStore(LOG_META).get(sessionId)),
    ) as LogBounds | undefined;
    return bounds ?? { first: 1, last: 0 };
  }

  /** Forgets a session's whole log, bounds included, in one transaction. */
  drop(sessionId: string): Promise<void> {
    return dropLog(this.#db, this.#range, sessionId);
  }

  /** The record at `key`. */
  async get(key: RecordKey): Promise<RecordEntry | undefined> {
    const record = await transact(
      this.#db,
      [RECORDS],
      "readonly",
      (tx) => request(tx.objectStore(RECORDS).get(key)),
    ) as StoredRecord | undefined;
    return record;
  }

  /**
   * Writes a record in one read-write transaction (which IndexedDB runs alone on its store),
   * checking `options.ifVersion` first.
   */
  set(key: RecordKey, value: unknown, options: WriteOptions = {}): Promise<boolean> {
    return this.#write(key, options, (records) => records.put(stored(key, value), key));
  }

  /** Deletes a record, checking `options.ifVersion` first. */
  delete(key: RecordKey, options: WriteOptions = {}): Promise<boolean> {
    return this.#write(key, options, (records) => records.delete(key));
  }

  #write(
    key: RecordKey,
    { ifVersion }: WriteOptions,
    write: (records: ReturnType<IDBTransactionLike["objectStore"]>) => IDBRequestLike<unknown>,
  ): Promise<boolean> {
    return transact(this.#db, [RECORDS], "readwrite", async (tx) => {
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
  list(prefix: RecordKey, options: ListOptions = {}): AsyncIterable<RecordEntry> {
    // Arrays sort after strings: `[...prefix, []]` bounds every longer key.
    const upper = [...prefix, []];
    return this.#batches<StoredRecord>(RECORDS, (last) => {
      const range = this.#range.bound(last?.key ?? options.after ?? prefix, upper, true, true);
      return (tx) => tx.objectStore(RECORDS).getAll(range, BATCH);
    });
  }

  /** Closes the database if {@linkcode openIndexedDbStore} opened it; a given one stays open. */
  close(): Promise<void> {
    if (owned.delete(this)) this.#db.close();
    return Promise.resolve();
  }
}

/**
 * Opens (creating or upgrading) an IndexedDB database with the store's
 * schema, and a store that owns it: {@linkcode IndexedDbStore.close} closes it.
 *
 * @param name The database name.
 * @param factory The IndexedDB implementation; `globalThis.indexedDB` when omitted.
 * @param options Where to find `IDBKeyRange`, for an implementation that is not global.
 * @returns The store.
 * @throws {TypeError} when there is no IndexedDB (nor `IDBKeyRange`) global
 *   and no `factory` is given.
 *
 * @example Open, use and close
 * ```ts ignore
 * import { openIndexedDbStore } from "@arcp/arcp/store/indexeddb";
 *
 * const store = await openIndexedDbStore("arcp");
 * await store.set(["greeting"], "hello");
 * await store.close();
 * ```
 */
export async function openIndexedDbStore(
  name: string,
  factory: IDBFactoryLike | undefined = (globalThis as { indexedDB?: IDBFactoryLike }).indexedDB,
  options: IndexedDbStoreOptions = {},
): Promise<IndexedDbStore> {
  if (factory === undefined) {
    throw new TypeError(`Cannot open IndexedDB database "${name}": no IndexedDB is available`);
  }
  const db = await openDatabase(factory, name);
  let store: IndexedDbStore;
  try {
    store = new IndexedDbStore(db, options);
  } catch (error) {
    db.close();
    throw error;
  }
  owned.add(store);
  return store;
}
