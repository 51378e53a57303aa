// This module is browser compatible.
/**
 * A {@linkcode ResumeStateStore} on IndexedDB, so a reloaded page (or a
 * restarted worker or extension) resumes the session (spec §6.3) it had
 * before, events included.
 *
 * @example Resume after a page reload
 * ```ts ignore
 * import { connect } from "@arcp/arcp/client";
 * import { IndexedDbResumeStateStore } from "@arcp/arcp/client/resume-state-indexeddb";
 *
 * const resumeStore = await IndexedDbResumeStateStore.open();
 * const client = await connect("wss://agents.example.com/arcp", { token, resumeStore });
 * ```
 *
 * @module
 */

import type { ResumeState, ResumeStateStore } from "./resume_state.ts";
import { type IDBDatabaseLike, type IDBFactoryLike, request, transact } from "../internal/idb.ts";

export type { ResumeState, ResumeStateStore } from "./resume_state.ts";
export type {
  IDBDatabaseLike,
  IDBFactoryLike,
  IDBIndexLike,
  IDBObjectStoreLike,
  IDBOpenDBRequestLike,
  IDBRequestLike,
  IDBTransactionLike,
} from "../internal/idb.ts";

/** Options of the {@linkcode IndexedDbResumeStateStore} constructor. */
export interface IndexedDbResumeStateStoreOptions {
  /**
   * The object store holding the states, keyed by the states' keys.
   *
   * @default {"resume_state"}
   */
  storeName?: string;
}

/** Options of {@linkcode IndexedDbResumeStateStore.open}. */
export interface OpenIndexedDbResumeStateStoreOptions extends IndexedDbResumeStateStoreOptions {
  /**
   * The database to open (or create), at version 1; give it to the store
   * alone, or open a shared database yourself and use the constructor.
   *
   * @default {"arcp-resume-state"}
   */
  name?: string;
  /**
   * The IndexedDB implementation.
   *
   * @default {globalThis.indexedDB}
   */
  factory?: IDBFactoryLike;
}

const DEFAULT_STORE = "resume_state";
const DEFAULT_DATABASE = "arcp-resume-state";

/** Whether `value` has the shape of a {@linkcode ResumeState}. */
function isResumeState(value: unknown): value is ResumeState {
  const state = value as Partial<ResumeState> | null;
  return typeof state === "object" && state !== null &&
    typeof state.session_id === "string" && typeof state.resume_token === "string" &&
    typeof state.last_event_seq === "number";
}

const owned = new WeakSet<IndexedDbResumeStateStore>();

/**
 * Keeps resume states in an IndexedDB object store of their own, one record
 * per key. Each operation is one transaction; IndexedDB runs overlapping
 * read-write transactions in the order they were started, so a save the
 * client fires without waiting can never be overtaken by an older one.
 *
 * A resume state is a credential: it is readable by any script of the
 * page's origin.
 *
 * @example A store in a database the page owns
 * ```ts ignore
 * import { IndexedDbResumeStateStore } from "@arcp/arcp/client/resume-state-indexeddb";
 *
 * const open = indexedDB.open("my-app", 3);
 * open.onupgradeneeded = () => IndexedDbResumeStateStore.createSchema(open.result);
 * open.onsuccess = () => {
 *   const resumeStore = new IndexedDbResumeStateStore(open.result);
 *   // ... connect(url, { token, resumeStore })
 * };
 * ```
 */
export class IndexedDbResumeStateStore implements ResumeStateStore {
  readonly #db: IDBDatabaseLike;
  readonly #storeName: string;

  /**
   * Creates, in a version-change transaction, the object store the states
   * live in, unless it exists. Call it from the `upgradeneeded` handler of a
   * database you open yourself.
   *
   * @param db The database being upgraded.
   * @param storeName The object store's name.
   * @example Add the object store to a database under test
   * ```ts
   * import {
   *   type IDBDatabaseLike,
   *   IndexedDbResumeStateStore,
   * } from "@arcp/arcp/client/resume-state-indexeddb";
   * import { IDBFactory } from "npm:fake-indexeddb@^6.2.8";
   * import assert from "node:assert/strict";
   *
   * // In a browser, this is `indexedDB.open(...)`.
   * const open = new IDBFactory().open("my-app", 1);
   * open.onupgradeneeded = () => IndexedDbResumeStateStore.createSchema(open.result);
   * const db = await new Promise<IDBDatabaseLike>((resolve) => {
   *   open.onsuccess = () => resolve(open.result);
   * });
   * const store = new IndexedDbResumeStateStore(db);
   * await store.save("k", { session_id: "sess_1", resume_token: "rt_1", last_event_seq: 7 });
   * assert.equal((await store.load("k"))?.session_id, "sess_1");
   * db.close();
   * ```
   */
  static createSchema(db: IDBDatabaseLike, storeName: string = DEFAULT_STORE): void {
    if (!db.objectStoreNames.contains(storeName)) db.createObjectStore(storeName);
  }

  /**
   * Opens (creating it if needed) a database of the store's own, and a store
   * that owns it: {@linkcode IndexedDbResumeStateStore.close} closes it.
   *
   * @param options The database name, object store name and IndexedDB
   *   implementation.
   * @returns The store.
   * @throws {TypeError} when there is no IndexedDB and no `factory` is given,
   *   or the database exists without the object store.
   * @example Open, save and close
   * ```ts
   * import { IndexedDbResumeStateStore } from "@arcp/arcp/client/resume-state-indexeddb";
   * import { IDBFactory } from "npm:fake-indexeddb@^6.2.8";
   * import assert from "node:assert/strict";
   *
   * // In a browser, leave `factory` out: the page's `indexedDB` is used.
   * const factory = new IDBFactory();
   * const store = await IndexedDbResumeStateStore.open({ factory });
   * await store.save("k", { session_id: "sess_1", resume_token: "rt_1", last_event_seq: 3 });
   * await store.close();
   *
   * const reopened = await IndexedDbResumeStateStore.open({ factory });
   * assert.equal((await reopened.load("k"))?.last_event_seq, 3);
   * await reopened.close();
   * ```
   */
  static async open(
    options: OpenIndexedDbResumeStateStoreOptions = {},
  ): Promise<IndexedDbResumeStateStore> {
    const name = options.name ?? DEFAULT_DATABASE;
    const storeName = options.storeName ?? DEFAULT_STORE;
    const factory = options.factory ??
      (globalThis as { indexedDB?: IDBFactoryLike }).indexedDB;
    if (factory === undefined) {
      throw new TypeError(`Cannot open IndexedDB database "${name}": no IndexedDB is available`);
    }
    const db = await new Promise<IDBDatabaseLike>((resolve, reject) => {
      const req = factory.open(name, 1);
      req.onupgradeneeded = () => IndexedDbResumeStateStore.createSchema(req.result, storeName);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    if (!db.objectStoreNames.contains(storeName)) {
      db.close();
      throw new TypeError(
        `Cannot keep resume states in IndexedDB database "${name}": it has no "${storeName}" object store`,
      );
    }
    const store = new IndexedDbResumeStateStore(db, { storeName });
    owned.add(store);
    return store;
  }

  /**
   * Wraps an open database that has the object store (see
   * {@linkcode IndexedDbResumeStateStore.createSchema}); the store never
   * closes it.
   *
   * @param db An open database.
   * @param options The object store's name.
   */
  constructor(db: IDBDatabaseLike, options: IndexedDbResumeStateStoreOptions = {}) {
    this.#db = db;
    this.#storeName = options.storeName ?? DEFAULT_STORE;
  }

  /**
   * The state saved under `key`.
   *
   * @param key The state's key, such as the runtime's URL.
   * @returns A copy of the state, or `undefined` when none (or something
   *   that is not a resume state) is stored there.
   */
  async load(key: string): Promise<ResumeState | undefined> {
    const value = await transact(
      this.#db,
      [this.#storeName],
      "readonly",
      (tx) => request(tx.objectStore(this.#storeName).get(key)),
    );
    if (!isResumeState(value)) return undefined;
    const { session_id, resume_token, last_event_seq } = value;
    return { session_id, resume_token, last_event_seq };
  }

  /**
   * Saves `state` under `key`, replacing what was there.
   *
   * @param key The state's key.
   * @param state The state; only its three fields are stored.
   */
  async save(key: string, state: ResumeState): Promise<void> {
    const { session_id, resume_token, last_event_seq } = state;
    const value = { session_id, resume_token, last_event_seq };
    await transact(this.#db, [this.#storeName], "readwrite", async (tx) => {
      await request(tx.objectStore(this.#storeName).put(value, key));
    });
  }

  /**
   * Forgets `key`; nothing happens when it has no state.
   *
   * @param key The state's key.
   */
  async delete(key: string): Promise<void> {
    await transact(this.#db, [this.#storeName], "readwrite", async (tx) => {
      await request(tx.objectStore(this.#storeName).delete(key));
    });
  }

  /**
   * Closes the database if {@linkcode IndexedDbResumeStateStore.open}
   * opened it; a given database stays open.
   */
  close(): Promise<void> {
    if (owned.delete(this)) this.#db.close();
    return Promise.resolve();
  }
}
