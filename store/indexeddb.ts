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
import { appendEvents, dropLog, logBounds, readLog, trimLog } from "./_idb_log.ts";
import { deleteRecord, getRecord, listRecords, setRecord } from "./_idb_records.ts";
import { createSchema, openDatabase, RECORDS } from "./_idb.ts";
import type {
  IDBDatabaseLike,
  IDBFactoryLike,
  IDBKeyRangeLike,
  IDBTransactionLike,
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

  /** Appends a contiguous batch in one transaction; already-stored seqs are skipped. */
  append(sessionId: string, events: readonly StoredEvent[]): Promise<void> {
    return appendEvents(this.#db, sessionId, events);
  }

  /**
   * Streams retained events after `options.after`, one transaction per batch, including events
   * appended while reading.
   */
  read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent> {
    return readLog(this.#db, this.#range, sessionId, options);
  }

  /** Drops events with `event_seq <= through`, in one transaction. */
  trim(sessionId: string, options: { through: number }): Promise<void> {
    return trimLog(this.#db, this.#range, sessionId, options);
  }

  /** The retained range of a session's log. */
  bounds(sessionId: string): Promise<LogBounds> {
    return logBounds(this.#db, sessionId);
  }

  /** Forgets a session's whole log, bounds included, in one transaction. */
  drop(sessionId: string): Promise<void> {
    return dropLog(this.#db, this.#range, sessionId);
  }

  /** The record at `key`. */
  get(key: RecordKey): Promise<RecordEntry | undefined> {
    return getRecord(this.#db, key);
  }

  /**
   * Writes a record in one read-write transaction (which IndexedDB runs alone on its store),
   * checking `options.ifVersion` first.
   */
  set(key: RecordKey, value: unknown, options: WriteOptions = {}): Promise<boolean> {
    return setRecord(this.#db, key, value, options);
  }

  /** Deletes a record, checking `options.ifVersion` first. */
  delete(key: RecordKey, options: WriteOptions = {}): Promise<boolean> {
    return deleteRecord(this.#db, key, options);
  }

  /** Streams the records under `prefix` in key order, one transaction per batch. */
  list(prefix: RecordKey, options: ListOptions = {}): AsyncIterable<RecordEntry> {
    return listRecords(this.#db, this.#range, prefix, options);
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
