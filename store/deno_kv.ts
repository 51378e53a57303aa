/**
 * A {@linkcode Store} on Deno KV: event logs and records (sessions, jobs,
 * idempotency keys, the credential ledger) survive restarts and are shared
 * by every process that opens the same database.
 *
 * Key layout, under the store's prefix: `["log", sessionId, seq]` (the
 * events of a batch through `seq`, up to 60 KB of them: one event as the
 * UTF-8 bytes of its JSON text, several as a JSON array of those texts;
 * logs of earlier versions, which hold one object per event, read as
 * well), `["log_meta", sessionId]` (the log's `{ first, last }`), and each
 * record at its own key (`["session", sessionId]`, `["job", jobId]`, ...:
 * see {@linkcode RecordStore}). An event over the 64 KiB value limit is
 * stored as JSON in parts under `["log_part", sessionId, seq, n]`, its log
 * entry a marker; a record over it, under `["record_part", partsId, n]`.
 * Records share the key space with the log: a record key never starts with
 * `log`, `log_meta`, `log_part` or `record_part`.
 *
 * @example Open a store, append and read back
 * ```ts
 * import { openDenoKvStore } from "@arcp/arcp/store/deno-kv";
 * import assert from "node:assert/strict";
 *
 * const store = await openDenoKvStore(":memory:");
 * const event = (seq: number) => ({
 *   arcp: "1.1", id: `m${seq}`, type: "job.event", job_id: "job_1", event_seq: seq,
 *   payload: { kind: "log", ts: new Date().toISOString(), body: { level: "info", message: `${seq}` } },
 * });
 * await store.append("sess_1", [event(1), event(2)]);
 * assert.deepEqual(await store.bounds("sess_1"), { first: 1, last: 2 });
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
import { deleteAll } from "./_kv.ts";
import { commit, type KvKeyLike, type KvLike } from "../internal/kv.ts";
import { keySize, MAX_KEY_BYTES } from "./_kv_limits.ts";
import { listRecords, recordEntry, writeKey } from "./_kv_record.ts";
import {
  appendEvents,
  CommittedMeta,
  type KeyBuilder,
  readEvents,
  readLogMeta,
  trimLog,
  watchBounds,
} from "./_kv_log.ts";

export type * from "./types.ts";
export { StoreRecords } from "./records.ts";
export type {
  KvAtomicLike,
  KvEntryLike,
  KvKeyLike,
  KvLike,
  KvListSelectorLike,
} from "../internal/kv.ts";

/** Options of {@linkcode DenoKvStore} and {@linkcode openDenoKvStore}. */
export interface DenoKvStoreOptions {
  /**
   * Key prefix of everything the store writes, to share one KV.
   *
   * @default {[]}
   */
  prefix?: KvKeyLike;
}

const owned = new WeakSet<DenoKvStore>();

/**
 * Keeps a runtime's state in Deno KV, within its limits: 64 KiB per value,
 * 2 KiB per key, 1000 mutations and 800 KiB per atomic commit.
 *
 * An event is stored as the JSON text the transport sends (see
 * `keepFrameText`), encoded once for both; one too large for one value is
 * stored in parts, never truncated. A batch too
 * large for one commit is split into commits of at most 999 events, 512 KiB
 * and 64 KiB of keys, so atomicity is per commit: a failure part-way leaves
 * a prefix of the batch stored, and since `append` skips what is already
 * stored, retrying the batch is safe. Each commit checks the log's meta key, so two processes appending
 * to one session cannot interleave silently: a conflict re-reads the log and
 * either skips what the other wrote or fails on a gap.
 *
 * @example A store on a KV the caller owns, under a prefix
 * ```ts
 * import { DenoKvStore } from "@arcp/arcp/store/deno-kv";
 * import assert from "node:assert/strict";
 *
 * const kv = await Deno.openKv(":memory:");
 * const store = new DenoKvStore(kv, { prefix: ["arcp"] });
 * assert.equal(await store.getSession("sess_1"), undefined);
 * await store.close(); // does not close `kv`
 * kv.close();
 * ```
 */
export class DenoKvStore extends StoreRecords {
  #kv: KvLike;
  #key: KeyBuilder;
  #prefixLength: number;
  readonly #committed = new CommittedMeta();

  /**
   * Wraps an open KV; the store never closes it.
   *
   * @param kv An open `Deno.Kv` (or anything {@linkcode KvLike}).
   * @param options The key prefix.
   */
  constructor(kv: KvLike, options: DenoKvStoreOptions = {}) {
    super();
    this.#kv = kv;
    const prefix = [...(options.prefix ?? [])];
    this.#prefixLength = prefix.length;
    this.#key = (...parts) => [...prefix, ...parts];
  }

  /**
   * Appends a contiguous batch; already-stored seqs are skipped. Split into several atomic commits
   * when it exceeds one commit's limits.
   */
  async append(sessionId: string, events: readonly StoredEvent[]): Promise<void> {
    await appendEvents(this.#kv, this.#key, sessionId, events, false, this.#committed);
  }

  /**
   * Appends a batch only where it continues the log (see {@linkcode EventStore.compareAndAppend});
   * a batch that takes several commits may stop after a prefix when another writer commits in
   * between.
   */
  compareAndAppend(sessionId: string, events: readonly StoredEvent[]): Promise<number> {
    return appendEvents(this.#kv, this.#key, sessionId, events, true, this.#committed);
  }

  /**
   * Yields the log's bounds now and after each change (`Deno.Kv.watch`). Processes on one local KV
   * file miss each other's changes; Deno Deploy isolates do not.
   */
  watch(sessionId: string, options: { signal: AbortSignal }): AsyncIterable<LogBounds> {
    return watchBounds(this.#kv, this.#key, sessionId, options);
  }

  /**
   * Streams retained events after `options.after`, one `list` batch at a time, including events
   * appended while reading.
   */
  read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent> {
    return readEvents(this.#kv, this.#key, sessionId, options);
  }

  /**
   * Drops events with `event_seq <= through`: the bounds move first, in one checked commit, then
   * the events go in commits of at most 999 deletes.
   */
  async trim(sessionId: string, options: { through: number }): Promise<void> {
    try {
      await trimLog(this.#kv, this.#key, sessionId, options.through);
    } finally {
      // The trim moved the bounds: an append reads them anew.
      this.#committed.forget(sessionId);
    }
  }

  /** The retained range of a session's log. */
  async bounds(sessionId: string): Promise<LogBounds> {
    return (await readLogMeta(this.#kv, this.#key, sessionId)).bounds;
  }

  /**
   * Forgets a session's whole log: its bounds in one commit, then its events in commits of at most
   * 999 deletes (calling it again finishes an interrupted drop).
   */
  async drop(sessionId: string): Promise<void> {
    this.#committed.forget(sessionId);
    await commit(this.#kv.atomic().delete(this.#key("log_meta", sessionId)), "a deletion");
    await deleteAll(this.#kv, { prefix: this.#key("log", sessionId) });
    await deleteAll(this.#kv, { prefix: this.#key("log_part", sessionId) });
  }

  /** The record at `key`, joined from its parts when stored in parts. */
  async get(key: RecordKey): Promise<RecordEntry | undefined> {
    const full = this.#key(...key);
    // No write takes a key over the limit: such a record does not exist.
    if (keySize(full) > MAX_KEY_BYTES) return undefined;
    const entry = await this.#kv.get(full);
    return await recordEntry(this.#kv, this.#key, key, entry.value, entry.versionstamp);
  }

  /**
   * Writes a record in one commit checked against its versionstamp; a value over the 64 KiB value
   * limit is stored in parts.
   */
  async set(key: RecordKey, value: unknown, options: WriteOptions = {}): Promise<boolean> {
    const full = this.#key(...key);
    return await writeKey(this.#kv, this.#key, full, value, options.ifVersion, key.join("/")) !==
      null;
  }

  /** Deletes a record (and its parts). */
  async delete(key: RecordKey, options: WriteOptions = {}): Promise<boolean> {
    const full = this.#key(...key);
    if (keySize(full) > MAX_KEY_BYTES) return options.ifVersion == null;
    return await writeKey(this.#kv, this.#key, full, undefined, options.ifVersion, "a deletion") !==
      null;
  }

  /**
   * Streams the records under `prefix` in key order, one `list` batch at a time, each joined from
   * its parts when stored in parts.
   */
  list(prefix: RecordKey, options: ListOptions = {}): AsyncIterable<RecordEntry> {
    return listRecords(this.#kv, this.#key, this.#prefixLength, prefix, options.after);
  }

  /** Closes the KV if {@linkcode openDenoKvStore} opened it; a given KV stays open. */
  close(): Promise<void> {
    if (owned.delete(this)) this.#kv.close();
    return Promise.resolve();
  }
}

/**
 * Opens a Deno KV database and a store on it; the store owns the database,
 * so {@linkcode DenoKvStore.close} closes it.
 *
 * @param path A file path, `":memory:"`, or nothing for the default database.
 * @param options The key prefix.
 * @returns The store.
 *
 * @example A store that survives restarts
 * ```ts
 * import { openDenoKvStore } from "@arcp/arcp/store/deno-kv";
 * import assert from "node:assert/strict";
 *
 * const store = await openDenoKvStore(":memory:", { prefix: ["arcp"] });
 * assert.deepEqual(await store.bounds("sess_1"), { first: 1, last: 0 });
 * await store.close();
 * ```
 */
export async function openDenoKvStore(
  path?: string,
  options: DenoKvStoreOptions = {},
): Promise<DenoKvStore> {
  const store = new DenoKvStore(await Deno.openKv(path), options);
  owned.add(store);
  return store;
}
