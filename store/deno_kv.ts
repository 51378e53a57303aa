/**
 * A {@linkcode RuntimeStore} on Deno KV: event logs, sessions, jobs,
 * idempotency keys and the credential ledger survive restarts and are shared by every process that
 * opens the same database.
 *
 * Key layout, under the store's prefix:
 * `["log", sessionId, seq]` (one event), `["log_meta", sessionId]` (the log's
 * `{ first, last }`), `["session", sessionId]`, `["session_token", sha256]`
 * (the id of the session whose current or previous resume token has that
 * hash, written in the same commit as the session), `["job", jobId]`,
 * `["job_by_principal", principal, jobId]` and `["job_unfinished", jobId]`
 * (copies of the job record, written in the same commit),
 * `["idem", principal, key]`, `["credential", credentialId]` and
 * `["instance", instanceId]` (runtime instances' heartbeats). An event over
 * the 64 KiB value limit is stored as JSON in parts under
 * `["log_part", sessionId, seq, n]`, its log entry a marker.
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
  CredentialRecord,
  IdempotencyRecord,
  InstanceRecord,
  JobQuery,
  JobRecord,
  LogBounds,
  ReadOptions,
  RuntimeStore,
  SessionRecord,
  StoredEvent,
} from "./types.ts";
import { jobMatches } from "./_query.ts";
import {
  commit,
  commitChecked,
  deleteAll,
  type KvKeyLike,
  type KvLike,
  type KvListSelectorLike,
  READ_BATCH,
} from "./_kv.ts";
import { keySize, MAX_KEY_BYTES, measure } from "./_kv_limits.ts";
import { dropParts, resolveRecord, writeRecord } from "./_kv_record.ts";
import {
  deleteSessionRecord,
  ensureTokenIndex,
  indexTokens,
  sessionByToken,
} from "./_kv_sessions.ts";
import {
  appendEvents,
  type KeyBuilder,
  readEvents,
  readLogMeta,
  trimLog,
  watchBounds,
} from "./_kv_log.ts";

export type * from "./types.ts";
export type { KvAtomicLike, KvEntryLike, KvKeyLike, KvLike, KvListSelectorLike } from "./_kv.ts";

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

function isUnfinished(job: JobRecord): boolean {
  return job.status === "pending" || job.status === "running";
}

/**
 * Keeps a runtime's state in Deno KV, within its limits: 64 KiB per value,
 * 2 KiB per key, 1000 mutations and 800 KiB per atomic commit.
 *
 * An event too large for one value (measured with V8's serializer, as the KV
 * stores it) is refused with a `RangeError`, never truncated. A batch too
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
export class DenoKvStore implements RuntimeStore {
  #kv: KvLike;
  #key: KeyBuilder;
  /** Settles once sessions stored before the token index existed are indexed. */
  #tokenIndex: Promise<void> | undefined;

  /**
   * Wraps an open KV; the store never closes it.
   *
   * @param kv An open `Deno.Kv` (or anything {@linkcode KvLike}).
   * @param options The key prefix.
   */
  constructor(kv: KvLike, options: DenoKvStoreOptions = {}) {
    this.#kv = kv;
    const prefix = [...(options.prefix ?? [])];
    this.#key = (...parts) => [...prefix, ...parts];
  }

  /**
   * Appends a contiguous batch; already-stored seqs are skipped. Split into
   * several atomic commits when it exceeds one commit's limits.
   *
   * @param sessionId The session whose log grows.
   * @param events Events in `event_seq` order.
   * @throws {RangeError} when the batch would leave a gap. Events over the
   *   64 KiB value limit are stored in parts.
   */
  async append(sessionId: string, events: readonly StoredEvent[]): Promise<void> {
    await appendEvents(this.#kv, this.#key, sessionId, events, false);
  }

  /**
   * Appends a batch only where it continues the log (see
   * {@linkcode EventStore.compareAndAppend}); a batch that takes several
   * commits may stop after a prefix when another writer commits in between.
   *
   * @returns How many events were stored.
   * @throws {RangeError} as {@linkcode DenoKvStore.append} does.
   */
  compareAndAppend(sessionId: string, events: readonly StoredEvent[]): Promise<number> {
    return appendEvents(this.#kv, this.#key, sessionId, events, true);
  }

  /**
   * Yields the log's bounds now and after each change (`Deno.Kv.watch`).
   * Processes on one local KV file miss each other's changes; Deno Deploy
   * isolates do not.
   */
  watch(sessionId: string, options: { signal: AbortSignal }): AsyncIterable<LogBounds> {
    return watchBounds(this.#kv, this.#key, sessionId, options);
  }

  /**
   * Streams retained events after `options.after`, one `list` batch at a
   * time, including events appended while reading.
   *
   * @param sessionId The session to read.
   * @param options Where to start, and a signal to stop early.
   * @returns The events in `event_seq` order.
   */
  read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent> {
    return readEvents(this.#kv, this.#key, sessionId, options);
  }

  /**
   * Drops events with `event_seq <= through`: the bounds move first, in one
   * checked commit, then the events go in commits of at most 999 deletes.
   *
   * @param sessionId The session whose log shrinks.
   * @param options The highest seq to drop.
   */
  async trim(sessionId: string, options: { through: number }): Promise<void> {
    await trimLog(this.#kv, this.#key, sessionId, options.through);
  }

  /**
   * The retained range of a session's log.
   *
   * @param sessionId The session.
   * @returns `{ first: 1, last: 0 }` for an unknown session.
   */
  async bounds(sessionId: string): Promise<LogBounds> {
    return (await readLogMeta(this.#kv, this.#key, sessionId)).bounds;
  }

  /**
   * Creates or replaces a session record.
   *
   * @param record The session.
   * @throws {RangeError} when the record exceeds a Deno KV limit.
   */
  async putSession(record: SessionRecord): Promise<void> {
    await this.#writeSession(record.session_id, () => record);
  }

  /**
   * A session record.
   *
   * @param sessionId The session.
   * @returns The record, or `undefined`.
   */
  async getSession(sessionId: string): Promise<SessionRecord | undefined> {
    return await this.#read<SessionRecord>(
      this.#key("session", sessionId),
      `session "${sessionId}"`,
    );
  }

  /**
   * Forgets a session: its record and log meta in one commit, then its whole
   * log in commits of at most 999 deletes (calling it again finishes an
   * interrupted deletion).
   *
   * @param sessionId The session.
   */
  async deleteSession(sessionId: string): Promise<void> {
    const value = await deleteSessionRecord(this.#kv, this.#key, sessionId);
    await dropParts(this.#kv, this.#key, value);
    await deleteAll(this.#kv, { prefix: this.#key("log", sessionId) });
    await deleteAll(this.#kv, { prefix: this.#key("log_part", sessionId) });
  }

  /**
   * Streams every stored session.
   *
   * @returns The sessions in id order.
   */
  async *listSessions(): AsyncIterable<SessionRecord> {
    yield* this.#list<SessionRecord>({ prefix: this.#key("session") }, "a session");
  }

  /**
   * The session whose current or previous resume token has this SHA-256:
   * one read of the token index, one of the record.
   *
   * @param tokenSha256 The token's SHA-256, lowercase hex.
   * @returns The record, or `undefined`.
   */
  async getSessionByToken(tokenSha256: string): Promise<SessionRecord | undefined> {
    this.#tokenIndex ??= ensureTokenIndex(this.#kv, this.#key).catch((error) => {
      this.#tokenIndex = undefined;
      throw error;
    });
    await this.#tokenIndex;
    return await sessionByToken(this.#kv, this.#key, tokenSha256, (id) => this.getSession(id));
  }

  /**
   * Creates or replaces a job record and its index entries, atomically.
   *
   * @param record The job.
   * @throws {RangeError} when the record exceeds a Deno KV limit.
   */
  async putJob(record: JobRecord): Promise<void> {
    const what = `job "${record.job_id}"`;
    const key = this.#key("job", record.job_id);
    const byPrincipal = this.#key("job_by_principal", record.principal, record.job_id);
    const unfinished = this.#key("job_unfinished", record.job_id);
    await writeRecord<JobRecord>(
      this.#kv,
      this.#key,
      what,
      [key, byPrincipal],
      () => record,
      (op, value, previous) => {
        op.set(key, value).set(byPrincipal, value);
        if (previous !== undefined && previous.principal !== record.principal) {
          op.delete(this.#key("job_by_principal", previous.principal, record.job_id));
        }
        if (isUnfinished(record)) op.set(unfinished, value);
        else op.delete(unfinished);
      },
    );
  }

  /**
   * A job record.
   *
   * @param jobId The job.
   * @returns The record, or `undefined`.
   */
  async getJob(jobId: string): Promise<JobRecord | undefined> {
    return await this.#read<JobRecord>(this.#key("job", jobId), `job "${jobId}"`);
  }

  /**
   * One page of a principal's jobs in `job_id` order, scanning the
   * principal's index from the cursor on.
   *
   * @param query The principal, filters, cursor and page size.
   * @returns The page, and whether more jobs match.
   */
  async listJobs(query: JobQuery): Promise<{ jobs: JobRecord[]; more: boolean }> {
    const prefix = this.#key("job_by_principal", query.principal);
    const selector = query.after_job_id === undefined
      ? { prefix }
      : { prefix, start: [...prefix, query.after_job_id] };
    const jobs: JobRecord[] = [];
    for await (const job of this.#list<JobRecord>(selector, "a job")) {
      if (!jobMatches(job, query)) continue;
      if (jobs.length >= query.limit) return { jobs, more: true };
      jobs.push(job);
    }
    return { jobs, more: false };
  }

  /**
   * Streams every job not yet in a terminal status.
   *
   * @returns The jobs in id order.
   */
  async *listUnfinishedJobs(): AsyncIterable<JobRecord> {
    yield* this.#list<JobRecord>({ prefix: this.#key("job_unfinished") }, "a job");
  }

  /**
   * Binds an idempotency key unless an unexpired binding exists; atomic
   * through a check on the key's versionstamp.
   *
   * @param record The binding to store.
   * @param now The current ISO-8601 time, to judge expiry.
   * @returns `undefined` when stored, else the existing binding.
   * @throws {RangeError} when the key exceeds the Deno KV key limit.
   */
  async claimIdempotencyKey(
    record: IdempotencyRecord,
    now: string,
  ): Promise<IdempotencyRecord | undefined> {
    const key = this.#key("idem", record.principal, record.key);
    const what = `idempotency key "${record.key}"`;
    measure(key, record, what);
    return await commitChecked(this.#kv, key, what, (existing) => {
      const binding = existing as IdempotencyRecord | null;
      if (binding !== null && binding.expires_at > now) return { result: binding };
      return { op: this.#kv.atomic().set(key, record), result: undefined };
    });
  }

  /**
   * Creates or replaces a credential ledger entry.
   *
   * @param record The entry.
   */
  async putCredential(record: CredentialRecord): Promise<void> {
    const key = this.#key("credential", record.credential_id);
    measure(key, record, `credential "${record.credential_id}"`);
    await commit(this.#kv.atomic().set(key, record), `credential "${record.credential_id}"`);
  }

  /**
   * Removes a credential from the ledger.
   *
   * @param credentialId The credential.
   */
  async deleteCredential(credentialId: string): Promise<void> {
    await commit(this.#kv.atomic().delete(this.#key("credential", credentialId)), "a deletion");
  }

  /**
   * Streams the credential ledger.
   *
   * @returns The entries in id order.
   */
  async *listCredentials(): AsyncIterable<CredentialRecord> {
    const prefix = this.#key("credential");
    for await (const entry of this.#kv.list({ prefix }, { batchSize: READ_BATCH })) {
      yield entry.value as CredentialRecord;
    }
  }

  /**
   * Changes a session record in one checked commit, retried on conflict.
   *
   * @throws {RangeError} when the new record exceeds a Deno KV limit.
   */
  async updateSession(
    sessionId: string,
    change: (current: SessionRecord | undefined) => SessionRecord | undefined,
  ): Promise<SessionRecord | undefined> {
    return await this.#writeSession(sessionId, change);
  }

  #writeSession(
    sessionId: string,
    change: (current: SessionRecord | undefined) => SessionRecord | undefined,
  ): Promise<SessionRecord | undefined> {
    const key = this.#key("session", sessionId);
    return writeRecord(
      this.#kv,
      this.#key,
      `session "${sessionId}"`,
      [key],
      change,
      (op, value, current, next) => {
        op.set(key, value);
        indexTokens(op, this.#key, sessionId, current, next);
      },
    );
  }

  /** A record, joined from its parts when stored in parts. */
  async #read<T>(key: KvKeyLike, what: string): Promise<T | undefined> {
    // No write takes a key over the limit: such a record does not exist.
    if (keySize(key) > MAX_KEY_BYTES) return undefined;
    const reread = async () => (await this.#kv.get(key)).value;
    return await resolveRecord<T>(this.#kv, this.#key, await reread(), reread, what);
  }

  /** The records `selector` lists, each joined from its parts when stored in parts. */
  async *#list<T>(selector: KvListSelectorLike, what: string): AsyncIterable<T> {
    for await (const entry of this.#kv.list(selector, { batchSize: READ_BATCH })) {
      const reread = async () => (await this.#kv.get(entry.key as KvKeyLike)).value;
      const record = await resolveRecord<T>(this.#kv, this.#key, entry.value, reread, what);
      // Deleted between the listing and the re-read: it is gone.
      if (record !== undefined) yield record;
    }
  }

  /** Creates or renews an instance's heartbeat. */
  async putInstance(record: InstanceRecord): Promise<void> {
    const key = this.#key("instance", record.instance_id);
    await commit(this.#kv.atomic().set(key, record), `instance "${record.instance_id}"`);
  }

  /** Streams every instance record, expired ones included, in id order. */
  async *listInstances(): AsyncIterable<InstanceRecord> {
    const prefix = this.#key("instance");
    for await (const entry of this.#kv.list({ prefix }, { batchSize: READ_BATCH })) {
      yield entry.value as InstanceRecord;
    }
  }

  /** Removes an instance record. */
  async deleteInstance(instanceId: string): Promise<void> {
    await commit(this.#kv.atomic().delete(this.#key("instance", instanceId)), "a deletion");
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
