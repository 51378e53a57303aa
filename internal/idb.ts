// This module is browser compatible.
// The structural subset of the IndexedDB API the IndexedDB store and the
// client's IndexedDB resume state use, and promise helpers around requests
// and transactions. The types are structural so that the project
// type-checks without the DOM lib (which breaks Deno's stream typings) and
// fakes can stand in. Private to the package: not exported.

/** The subset of `IDBRequest` IndexedDB users use. */
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

/** The subset of `IDBOpenDBRequest` IndexedDB users use. */
export interface IDBOpenDBRequestLike extends IDBRequestLike<IDBDatabaseLike> {
  /** Called when the database must be created or upgraded. */
  onupgradeneeded: ((event: never) => void) | null;
  /** The upgrade's version-change transaction, while `onupgradeneeded` runs. */
  readonly transaction: IDBTransactionLike | null;
}

/** The subset of `IDBFactory` (`indexedDB`) IndexedDB users use. */
export interface IDBFactoryLike {
  /** Opens a database at a version. */
  open(name: string, version: number): IDBOpenDBRequestLike;
}

/** The subset of `IDBIndex` IndexedDB users use. */
export interface IDBIndexLike {
  /** Reads up to `count` records whose index key is in `query`. */
  getAll(query: unknown, count?: number): IDBRequestLike<unknown[]>;
}

/** The subset of `IDBObjectStore` IndexedDB users use. */
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

/** The subset of `IDBTransaction` IndexedDB users use. */
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

/** The subset of `IDBDatabase` IndexedDB users use. */
export interface IDBDatabaseLike {
  /** The names of the database's object stores. */
  readonly objectStoreNames: { contains(name: string): boolean };
  /** Starts a transaction over some object stores. */
  transaction(storeNames: string[], mode: "readonly" | "readwrite"): IDBTransactionLike;
  /** Creates an object store (during an upgrade). */
  createObjectStore(name: string, options?: { keyPath?: string | string[] }): IDBObjectStoreLike;
  /** Deletes an object store (during an upgrade). */
  deleteObjectStore(name: string): void;
  /** Closes the connection. */
  close(): void;
}

/** The `IDBKeyRange` factory methods IndexedDB users use. */
export interface IDBKeyRangeLike {
  /** A range between two keys. */
  bound(lower: unknown, upper: unknown, lowerOpen?: boolean, upperOpen?: boolean): unknown;
  /** A range above a key. */
  lowerBound(lower: unknown, open?: boolean): unknown;
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
