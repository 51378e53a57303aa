// This module is browser compatible.
// The IndexedDB schema of the IndexedDB store, the structural subset of the
// IndexedDB API it uses, and promise helpers around requests and transactions.
// The types are structural so that the project type-checks without the DOM
// lib (which breaks Deno's stream typings) and fakes can stand in.

import type { SessionRecord } from "./types.ts";
import { tokenHashes } from "./_tokens.ts";

/** The subset of `IDBRequest` the store uses. */
export interface IDBRequestLike<T> {
  /** The result, once the request succeeded. */
  readonly result: T;
  /** The error, once the request failed. */
  readonly error: DOMException | null;
  /** Called on success. */
  onsuccess: ((event: never) => void) | null;
  /** Called on failure. */
  onerror: ((event: never) => void) | null;
}

/** The subset of `IDBOpenDBRequest` the store uses. */
export interface IDBOpenDBRequestLike extends IDBRequestLike<IDBDatabaseLike> {
  /** Called when the database must be created or upgraded. */
  onupgradeneeded: ((event: never) => void) | null;
  /** The upgrade's version-change transaction, while `onupgradeneeded` runs. */
  readonly transaction: IDBTransactionLike | null;
}

/** The subset of `IDBFactory` (`indexedDB`) the store uses. */
export interface IDBFactoryLike {
  /** Opens a database at a version. */
  open(name: string, version: number): IDBOpenDBRequestLike;
}

/** The subset of `IDBIndex` the store uses. */
export interface IDBIndexLike {
  /** Reads up to `count` records whose index key is in `query`. */
  getAll(query: unknown, count?: number): IDBRequestLike<unknown[]>;
}

/** The subset of `IDBObjectStore` the store uses. */
export interface IDBObjectStoreLike {
  /** Reads one record. */
  get(key: unknown): IDBRequestLike<unknown>;
  /** Reads up to `count` records whose key is in `query`. */
  getAll(query: unknown, count?: number): IDBRequestLike<unknown[]>;
  /** Writes one record. */
  put(value: unknown, key?: unknown): IDBRequestLike<unknown>;
  /** Deletes a record or a key range. */
  delete(query: unknown): IDBRequestLike<unknown>;
  /** One of the store's indexes. */
  index(name: string): IDBIndexLike;
  /** Creates an index (during an upgrade). */
  createIndex(name: string, keyPath: string | string[]): unknown;
}

/** The subset of `IDBTransaction` the store uses. */
export interface IDBTransactionLike {
  /** Why the transaction failed, if it did. */
  readonly error: DOMException | null;
  /** One of the transaction's object stores. */
  objectStore(name: string): IDBObjectStoreLike;
  /** Aborts the transaction, undoing its writes. */
  abort(): void;
  /** Called once the transaction committed. */
  oncomplete: ((event: never) => void) | null;
  /** Called when a request of the transaction failed. */
  onerror: ((event: never) => void) | null;
  /** Called when the transaction aborted. */
  onabort: ((event: never) => void) | null;
}

/** The subset of `IDBDatabase` the store uses. */
export interface IDBDatabaseLike {
  /** The names of the database's object stores. */
  readonly objectStoreNames: { contains(name: string): boolean };
  /** Starts a transaction over some object stores. */
  transaction(storeNames: string[], mode: "readonly" | "readwrite"): IDBTransactionLike;
  /** Creates an object store (during an upgrade). */
  createObjectStore(name: string, options?: { keyPath?: string | string[] }): IDBObjectStoreLike;
  /** Closes the connection. */
  close(): void;
}

/** The `IDBKeyRange` factory methods the store uses. */
export interface IDBKeyRangeLike {
  /** A range between two keys. */
  bound(lower: unknown, upper: unknown, lowerOpen?: boolean, upperOpen?: boolean): unknown;
  /** A range above a key. */
  lowerBound(lower: unknown, open?: boolean): unknown;
}

/** Object store names. */
export const EVENTS = "events";
export const LOG_META = "log_meta";
export const SESSIONS = "sessions";
export const JOBS = "jobs";
export const IDEMPOTENCY = "idempotency";
export const CREDENTIALS = "credentials";
/** Session ids by the SHA-256 of their current and previous resume tokens (out-of-line keys). */
export const SESSION_TOKENS = "session_tokens";
/** Index of `jobs` on `[principal, job_id]`. */
export const JOBS_BY_PRINCIPAL = "by_principal";
/** Index of `jobs` on `[status, job_id]`. */
export const JOBS_BY_STATUS = "by_status";

/** The schema version {@linkcode createSchema} builds. */
export const SCHEMA_VERSION = 3;

/**
 * Creates the object stores and indexes the store needs, if missing. Given
 * the upgrade's transaction, indexes the sessions an older schema stored
 * by their resume tokens.
 */
export function createSchema(db: IDBDatabaseLike, upgrade?: IDBTransactionLike | null): void {
  const names = db.objectStoreNames;
  const unindexed = names.contains(SESSIONS) && !names.contains(SESSION_TOKENS);
  // Events and log meta use out-of-line keys: [session_id, event_seq] and session_id.
  if (!names.contains(EVENTS)) db.createObjectStore(EVENTS);
  if (!names.contains(LOG_META)) db.createObjectStore(LOG_META);
  if (!names.contains(SESSIONS)) db.createObjectStore(SESSIONS, { keyPath: "session_id" });
  if (!names.contains(JOBS)) {
    const jobs = db.createObjectStore(JOBS, { keyPath: "job_id" });
    jobs.createIndex(JOBS_BY_PRINCIPAL, ["principal", "job_id"]);
    jobs.createIndex(JOBS_BY_STATUS, ["status", "job_id"]);
  }
  if (!names.contains(IDEMPOTENCY)) {
    db.createObjectStore(IDEMPOTENCY, { keyPath: ["principal", "key"] });
  }
  // Added in version 2.
  if (!names.contains(CREDENTIALS)) db.createObjectStore(CREDENTIALS, { keyPath: "credential_id" });
  // Added in version 3.
  if (!names.contains(SESSION_TOKENS)) db.createObjectStore(SESSION_TOKENS);
  if (unindexed && upgrade) indexSessions(upgrade);
}

/** Adds every stored session's token hashes to the index, within `tx`. */
function indexSessions(tx: IDBTransactionLike): void {
  const all = tx.objectStore(SESSIONS).getAll(null);
  all.onsuccess = () => {
    const tokens = tx.objectStore(SESSION_TOKENS);
    for (const record of all.result as SessionRecord[]) {
      for (const hash of tokenHashes(record)) tokens.put(record.session_id, hash);
    }
  };
}

/** Settles with a request's result or error. */
export function request<T>(req: IDBRequestLike<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * Runs `body` in one transaction and resolves with its result once the
 * transaction has committed. `body` may await requests of `tx` but nothing
 * else: a transaction commits as soon as the event loop turns without a
 * pending request. If `body` throws, the transaction is aborted, so none of
 * its writes land.
 */
export async function transact<T>(
  db: IDBDatabaseLike,
  stores: string[],
  mode: "readonly" | "readwrite",
  body: (tx: IDBTransactionLike) => Promise<T>,
): Promise<T> {
  const tx = db.transaction(stores, mode);
  const done = new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new DOMException("Transaction aborted", "AbortError"));
  });
  let result: T;
  try {
    result = await body(tx);
  } catch (error) {
    // The body's own error is thrown below; the abort it causes adds nothing.
    done.catch(() => {});
    try {
      tx.abort();
    } catch {
      // Already committed or aborted: nothing of it to undo.
    }
    throw error;
  }
  await done;
  return result;
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
