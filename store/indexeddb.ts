// This module is browser compatible.
/**
 * A {@linkcode RuntimeStore} on IndexedDB, for a runtime that lives in a
 * browser (a tab, a worker or an extension) and must outlive a reload.
 *
 * Object stores: `events` (key `[session_id, event_seq]`), `log_meta` (key
 * `session_id`, value `{ first, last }`), `sessions`, `session_tokens` (key
 * the SHA-256 of a session's current or previous resume token, value its
 * `session_id`, written with the session), `jobs` (indexes on
 * `[principal, job_id]` and `[status, job_id]`), `idempotency` (key
 * `[principal, key]`) and `credentials`.
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
  CredentialRecord,
  IdempotencyRecord,
  JobQuery,
  JobRecord,
  LogBounds,
  ReadOptions,
  RuntimeStore,
  SessionRecord,
  StoredEvent,
} from "./types.ts";
import { jobMatches } from "./_query.ts";
import { firstNewEvent } from "./_log.ts";
import {
  createSchema,
  CREDENTIALS,
  EVENTS,
  type IDBDatabaseLike,
  type IDBFactoryLike,
  type IDBKeyRangeLike,
  type IDBRequestLike,
  type IDBTransactionLike,
  IDEMPOTENCY,
  JOBS,
  JOBS_BY_PRINCIPAL,
  JOBS_BY_STATUS,
  LOG_META,
  openDatabase,
  request,
  SESSIONS,
  transact,
} from "./_idb.ts";
import {
  hasTokenIndex,
  indexedSessionByToken,
  sessionStores,
  writeSession,
} from "./_idb_tokens.ts";
import { holdingToken } from "./_tokens.ts";

export type * from "./types.ts";
export type {
  IDBDatabaseLike,
  IDBFactoryLike,
  IDBIndexLike,
  IDBKeyRangeLike,
  IDBObjectStoreLike,
  IDBOpenDBRequestLike,
  IDBRequestLike,
  IDBTransactionLike,
} from "./_idb.ts";

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
 * Keeps a runtime's state in an IndexedDB database. Each operation is one
 * transaction, so an append is atomic whatever its size; reads take one
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
export class IndexedDbStore implements RuntimeStore {
  #db: IDBDatabaseLike;
  #range: IDBKeyRangeLike;

  /**
   * Creates, in a version-change transaction, the object stores and indexes
   * the store needs, keeping those that exist. Call it from the
   * `upgradeneeded` handler of a database you open yourself, with the
   * upgrade's transaction: then sessions stored before the resume-token
   * index existed are indexed too (without it, a store on a database that
   * lacks the index finds a session by its token by a scan).
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
   * @throws {TypeError} when no `IDBKeyRange` is given or global.
   */
  constructor(db: IDBDatabaseLike, options: IndexedDbStoreOptions = {}) {
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

  /**
   * Appends a contiguous batch in one transaction; already-stored seqs are
   * skipped.
   *
   * @param sessionId The session whose log grows.
   * @param events Events in `event_seq` order.
   * @throws {RangeError} when the batch would leave a gap (nothing is stored).
   */
  async append(sessionId: string, events: readonly StoredEvent[]): Promise<void> {
    await transact(this.#db, [EVENTS, LOG_META], "readwrite", async (tx) => {
      const meta = tx.objectStore(LOG_META);
      const bounds = (await request(meta.get(sessionId)) as LogBounds | undefined) ??
        { first: 1, last: 0 };
      const start = firstNewEvent(events, bounds.last);
      if (start === events.length) return;
      const log = tx.objectStore(EVENTS);
      for (let index = start; index < events.length; index++) {
        log.put(events[index], [sessionId, events[index]!.event_seq]);
      }
      meta.put({ first: bounds.first, last: events[events.length - 1]!.event_seq }, sessionId);
    });
  }

  /**
   * Streams retained events after `options.after`, one transaction per
   * batch, including events appended while reading.
   *
   * @param sessionId The session to read.
   * @param options Where to start, and a signal to stop early.
   * @returns The events in `event_seq` order.
   */
  read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent> {
    return this.#batches<StoredEvent>(EVENTS, (last) => {
      const from = last === undefined ? options.after + 1 : last.event_seq + 1;
      const range = this.#range.bound([sessionId, from], [sessionId, Infinity]);
      return (tx) => tx.objectStore(EVENTS).getAll(range, BATCH);
    }, options.signal);
  }

  /**
   * Drops events with `event_seq <= through`, in one transaction.
   *
   * @param sessionId The session whose log shrinks.
   * @param options The highest seq to drop.
   */
  async trim(sessionId: string, options: { through: number }): Promise<void> {
    await transact(this.#db, [EVENTS, LOG_META], "readwrite", async (tx) => {
      const meta = tx.objectStore(LOG_META);
      const bounds = await request(meta.get(sessionId)) as LogBounds | undefined;
      if (bounds === undefined) return;
      const first = Math.min(options.through, bounds.last) + 1;
      if (first <= bounds.first) return;
      tx.objectStore(EVENTS).delete(
        this.#range.bound([sessionId, -Infinity], [sessionId, first], false, true),
      );
      meta.put({ first, last: bounds.last }, sessionId);
    });
  }

  /**
   * The retained range of a session's log.
   *
   * @param sessionId The session.
   * @returns `{ first: 1, last: 0 }` for an unknown session.
   */
  async bounds(sessionId: string): Promise<LogBounds> {
    const bounds = await transact(
      this.#db,
      [LOG_META],
      "readonly",
      (tx) => request(tx.objectStore(LOG_META).get(sessionId)),
    ) as LogBounds | undefined;
    return bounds ?? { first: 1, last: 0 };
  }

  /**
   * Creates or replaces a session record.
   *
   * @param record The session.
   */
  async putSession(record: SessionRecord): Promise<void> {
    const stores = sessionStores(this.#db);
    await transact(this.#db, stores, "readwrite", async (tx) => {
      await writeSession(tx, stores, record.session_id, record);
    });
  }

  /**
   * The session whose current or previous resume token has this SHA-256,
   * through the token index. A database whose schema predates the index
   * (upgraded by an older {@linkcode IndexedDbStore.createSchema}) is
   * scanned instead.
   *
   * @param tokenSha256 The token's SHA-256, lowercase hex.
   * @returns The record, or `undefined`.
   */
  async getSessionByToken(tokenSha256: string): Promise<SessionRecord | undefined> {
    if (hasTokenIndex(this.#db)) return await indexedSessionByToken(this.#db, tokenSha256);
    for await (const record of this.listSessions()) {
      if (holdingToken(record, tokenSha256)) return record;
    }
    return undefined;
  }

  /**
   * A session record.
   *
   * @param sessionId The session.
   * @returns The record, or `undefined`.
   */
  getSession(sessionId: string): Promise<SessionRecord | undefined> {
    return transact(
      this.#db,
      [SESSIONS],
      "readonly",
      (tx) => request(tx.objectStore(SESSIONS).get(sessionId)),
    ) as Promise<SessionRecord | undefined>;
  }

  /**
   * Forgets a session, its log meta and its whole log, in one transaction.
   *
   * @param sessionId The session.
   */
  async deleteSession(sessionId: string): Promise<void> {
    const stores = sessionStores(this.#db);
    await transact(this.#db, [...stores, LOG_META, EVENTS], "readwrite", async (tx) => {
      await writeSession(tx, stores, sessionId, undefined);
      tx.objectStore(LOG_META).delete(sessionId);
      await request(
        tx.objectStore(EVENTS).delete(
          this.#range.bound([sessionId, -Infinity], [sessionId, Infinity]),
        ),
      );
    });
  }

  /**
   * Streams every stored session.
   *
   * @returns The sessions in id order.
   */
  listSessions(): AsyncIterable<SessionRecord> {
    return this.#batches<SessionRecord>(SESSIONS, (last) => {
      const range = last === undefined ? null : this.#range.lowerBound(last.session_id, true);
      return (tx) => tx.objectStore(SESSIONS).getAll(range, BATCH);
    });
  }

  /**
   * Creates or replaces a job record.
   *
   * @param record The job.
   */
  async putJob(record: JobRecord): Promise<void> {
    await transact(this.#db, [JOBS], "readwrite", async (tx) => {
      await request(tx.objectStore(JOBS).put(record));
    });
  }

  /**
   * A job record.
   *
   * @param jobId The job.
   * @returns The record, or `undefined`.
   */
  getJob(jobId: string): Promise<JobRecord | undefined> {
    return transact(
      this.#db,
      [JOBS],
      "readonly",
      (tx) => request(tx.objectStore(JOBS).get(jobId)),
    ) as Promise<JobRecord | undefined>;
  }

  /**
   * One page of a principal's jobs in `job_id` order, scanning the
   * `[principal, job_id]` index from the cursor on.
   *
   * @param query The principal, filters, cursor and page size.
   * @returns The page, and whether more jobs match.
   */
  async listJobs(query: JobQuery): Promise<{ jobs: JobRecord[]; more: boolean }> {
    const { principal } = query;
    const jobs: JobRecord[] = [];
    const scan = this.#batches<JobRecord>(JOBS, (last) => {
      const after = last?.job_id ?? query.after_job_id;
      const range = after === undefined
        ? this.#range.bound([principal], [principal, []])
        : this.#range.bound([principal, after], [principal, []], true);
      return (tx) => tx.objectStore(JOBS).index(JOBS_BY_PRINCIPAL).getAll(range, BATCH);
    });
    for await (const job of scan) {
      if (!jobMatches(job, query)) continue;
      if (jobs.length >= query.limit) return { jobs, more: true };
      jobs.push(job);
    }
    return { jobs, more: false };
  }

  /**
   * Streams every job not yet in a terminal status.
   *
   * @returns The pending jobs, then the running ones, each in id order.
   */
  async *listUnfinishedJobs(): AsyncIterable<JobRecord> {
    for (const status of ["pending", "running"]) {
      yield* this.#batches<JobRecord>(JOBS, (last) => {
        const range = last === undefined
          ? this.#range.bound([status], [status, []])
          : this.#range.bound([status, last.job_id], [status, []], true);
        return (tx) => tx.objectStore(JOBS).index(JOBS_BY_STATUS).getAll(range, BATCH);
      });
    }
  }

  /**
   * Binds an idempotency key unless an unexpired binding exists, in one
   * read-write transaction (which IndexedDB runs alone on its store).
   *
   * @param record The binding to store.
   * @param now The current ISO-8601 time, to judge expiry.
   * @returns `undefined` when stored, else the existing binding.
   */
  claimIdempotencyKey(
    record: IdempotencyRecord,
    now: string,
  ): Promise<IdempotencyRecord | undefined> {
    return transact(this.#db, [IDEMPOTENCY], "readwrite", async (tx) => {
      const store = tx.objectStore(IDEMPOTENCY);
      const existing = await request(store.get([record.principal, record.key])) as
        | IdempotencyRecord
        | undefined;
      if (existing !== undefined && existing.expires_at > now) return existing;
      await request(store.put(record));
      return undefined;
    });
  }

  /**
   * Creates or replaces a credential ledger entry.
   *
   * @param record The entry.
   */
  async putCredential(record: CredentialRecord): Promise<void> {
    await transact(this.#db, [CREDENTIALS], "readwrite", async (tx) => {
      await request(tx.objectStore(CREDENTIALS).put(record));
    });
  }

  /**
   * Removes a credential from the ledger.
   *
   * @param credentialId The credential.
   */
  async deleteCredential(credentialId: string): Promise<void> {
    await transact(this.#db, [CREDENTIALS], "readwrite", async (tx) => {
      await request(tx.objectStore(CREDENTIALS).delete(credentialId));
    });
  }

  /**
   * Streams the credential ledger.
   *
   * @returns The entries in id order.
   */
  listCredentials(): AsyncIterable<CredentialRecord> {
    return this.#batches<CredentialRecord>(CREDENTIALS, (last) => {
      const range = last === undefined ? null : this.#range.lowerBound(last.credential_id, true);
      return (tx) => tx.objectStore(CREDENTIALS).getAll(range, BATCH);
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
 * await store.putSession({
 *   session_id: "sess_1", principal: "alice", resume_token_sha256: "00",
 *   resume_window_sec: 600, created_at: new Date().toISOString(), detached_at: null, acked_seq: 0,
 * });
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
