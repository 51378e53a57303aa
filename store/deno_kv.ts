/**
 * A {@linkcode RuntimeStore} on Deno KV: event logs, sessions, jobs,
 * idempotency keys and the credential ledger survive restarts and are shared by every process that
 * opens the same database.
 *
 * Key layout, under the store's prefix:
 * `["log", sessionId, seq]` (one event), `["log_meta", sessionId]` (the log's
 * `{ first, last }`), `["session", sessionId]`, `["job", jobId]`,
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
import { firstNewEvent } from "./_log.ts";
import {
  commit,
  deleteAll,
  type KvAtomicLike,
  type KvKeyLike,
  type KvLike,
  watchValues,
} from "./_kv.ts";
import {
  commitEnd,
  type KeyPart,
  MAX_VALUE_BYTES,
  measure,
  valueSize,
  type WriteSize,
} from "./_kv_limits.ts";
import {
  isPartsMarker,
  joinLargeEvent,
  PARTS_PER_COMMIT,
  type PartsMarker,
  splitLargeEvent,
} from "./_kv_parts.ts";

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

/** Events read per `list` call: a read streams, it never loads a whole log. */
const READ_BATCH = 256;
/** Conflicting commits tolerated in one operation before giving up. */
const MAX_CONFLICTS = 100;

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
  #prefix: KvKeyLike;

  /**
   * Wraps an open KV; the store never closes it.
   *
   * @param kv An open `Deno.Kv` (or anything {@linkcode KvLike}).
   * @param options The key prefix.
   */
  constructor(kv: KvLike, options: DenoKvStoreOptions = {}) {
    this.#kv = kv;
    this.#prefix = [...(options.prefix ?? [])];
  }

  #key(...parts: KeyPart[]): KeyPart[] {
    return [...this.#prefix, ...parts];
  }

  async #meta(sessionId: string): Promise<{ bounds: LogBounds; versionstamp: string | null }> {
    const entry = await this.#kv.get(this.#key("log_meta", sessionId));
    const bounds = (entry.value as LogBounds | null) ?? { first: 1, last: 0 };
    return { bounds, versionstamp: entry.versionstamp };
  }

  /**
   * Reads `key`, lets `step` decide from its value, and commits the write
   * `step` returns (if any) only if `key` has not changed since; retries on
   * a conflict.
   */
  async #checked<T>(
    key: KeyPart[],
    what: string,
    step: (value: unknown) => { op?: KvAtomicLike; result: T },
  ): Promise<T> {
    for (let conflicts = 0; conflicts <= MAX_CONFLICTS; conflicts++) {
      const existing = await this.#kv.get(key);
      const { op, result } = step(existing.value);
      if (op === undefined) return result;
      op.check({ key, versionstamp: existing.versionstamp });
      if (await commit(op, what) !== null) return result;
    }
    throw new Error(`Cannot store ${what}: too many conflicting writers`);
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
    await this.#append(sessionId, events, false);
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
    return this.#append(sessionId, events, true);
  }

  /** Stores `events` from the first new one; `exclusive`, stops at any other writer. */
  async #append(
    sessionId: string,
    events: readonly StoredEvent[],
    exclusive: boolean,
  ): Promise<number> {
    let { bounds, versionstamp } = await this.#meta(sessionId);
    if (exclusive && events[0]?.event_seq !== bounds.last + 1) return 0;
    let index = firstNewEvent(events, bounds.last);
    // Each value is serialized once, to measure it. Events over the value
    // limit go to parts first; the log gets a marker, written with the rest
    // of the batch, that makes them visible. Stored ones are skipped unmeasured.
    const values: (StoredEvent | PartsMarker)[] = [...events];
    const sizes: WriteSize[] = [];
    for (let i = 0; i < events.length; i++) {
      const seq = events[i]!.event_seq;
      const key = this.#key("log", sessionId, seq);
      if (i < index) {
        sizes.push({ bytes: 0, keyBytes: 0 });
        continue;
      }
      const bytes = valueSize(events[i]);
      if (bytes <= MAX_VALUE_BYTES) {
        sizes.push(measure(key, events[i], `event_seq ${seq}`, bytes));
      } else {
        const parts = splitLargeEvent(events[i]!);
        for (let n = 0; n < parts.length; n += PARTS_PER_COMMIT) {
          const op = this.#kv.atomic();
          parts.slice(n, n + PARTS_PER_COMMIT).forEach((part, j) =>
            op.set(this.#key("log_part", sessionId, seq, n + j), part)
          );
          await commit(op, `the parts of event_seq ${seq}`);
        }
        values[i] = { event_seq: seq, kv_parts: parts.length };
        sizes.push(measure(key, values[i], `event_seq ${seq}`));
      }
    }
    const metaKey = this.#key("log_meta", sessionId);
    let conflicts = 0;
    while (index < events.length) {
      const end = commitEnd(sizes, index);
      const last = events[end - 1]!.event_seq;
      const op = this.#kv.atomic().check({ key: metaKey, versionstamp });
      for (let i = index; i < end; i++) {
        op.set(this.#key("log", sessionId, events[i]!.event_seq), values[i]);
      }
      op.set(metaKey, { first: bounds.first, last });
      const committed = await commit(op, `events ${events[index]!.event_seq}..${last}`);
      if (committed !== null) {
        versionstamp = committed;
        bounds = { first: bounds.first, last };
        index = end;
        continue;
      }
      // Another writer moved the log: skip what it stored, or fail on a gap.
      if (++conflicts > MAX_CONFLICTS) {
        throw new Error(`Cannot append to session "${sessionId}": too many conflicting writers`);
      }
      ({ bounds, versionstamp } = await this.#meta(sessionId));
      // Exclusive: stop at another writer's events; a trim alone changes nothing.
      if (exclusive && bounds.last !== events[index]!.event_seq - 1) return index;
      if (!exclusive) index += firstNewEvent(events.slice(index), bounds.last);
    }
    return events.length;
  }

  /**
   * Yields the log's bounds now and after each change (`Deno.Kv.watch`).
   * Processes on one local KV file miss each other's changes; Deno Deploy
   * isolates do not.
   */
  async *watch(sessionId: string, options: { signal: AbortSignal }): AsyncIterable<LogBounds> {
    for await (const value of watchValues(this.#kv, this.#key("log_meta", sessionId), options)) {
      yield (value as LogBounds | null) ?? { first: 1, last: 0 };
    }
  }

  /**
   * Streams retained events after `options.after`, one `list` batch at a
   * time, including events appended while reading.
   *
   * @param sessionId The session to read.
   * @param options Where to start, and a signal to stop early.
   * @returns The events in `event_seq` order.
   */
  async *read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent> {
    const prefix = this.#key("log", sessionId);
    let next = Math.max(options.after + 1, (await this.#meta(sessionId)).bounds.first);
    while (!options.signal?.aborted) {
      let count = 0;
      const batch = this.#kv.list({ prefix, start: [...prefix, next] }, {
        limit: READ_BATCH,
        batchSize: READ_BATCH,
      });
      for await (const entry of batch) {
        if (options.signal?.aborted) return;
        const event = isPartsMarker(entry.value)
          ? await joinLargeEvent(this.#kv, this.#key("log_part", sessionId), entry.value)
          : entry.value as StoredEvent;
        count++;
        next = event.event_seq + 1;
        yield event;
      }
      if (count === 0) return;
    }
  }

  /**
   * Drops events with `event_seq <= through`: the bounds move first, in one
   * checked commit, then the events go in commits of at most 999 deletes.
   *
   * @param sessionId The session whose log shrinks.
   * @param options The highest seq to drop.
   */
  async trim(sessionId: string, options: { through: number }): Promise<void> {
    const metaKey = this.#key("log_meta", sessionId);
    const first = await this.#checked(metaKey, `the bounds of "${sessionId}"`, (value) => {
      const bounds = (value as LogBounds | null) ?? { first: 1, last: 0 };
      const first = Math.min(options.through, bounds.last) + 1;
      if (first <= bounds.first) return { result: undefined };
      return { op: this.#kv.atomic().set(metaKey, { first, last: bounds.last }), result: first };
    });
    if (first === undefined) return;
    for (const space of ["log", "log_part"]) {
      const prefix = this.#key(space, sessionId);
      await deleteAll(this.#kv, { prefix, end: [...prefix, first] });
    }
  }

  /**
   * The retained range of a session's log.
   *
   * @param sessionId The session.
   * @returns `{ first: 1, last: 0 }` for an unknown session.
   */
  async bounds(sessionId: string): Promise<LogBounds> {
    return (await this.#meta(sessionId)).bounds;
  }

  /**
   * Creates or replaces a session record.
   *
   * @param record The session.
   * @throws {RangeError} when the record exceeds a Deno KV limit.
   */
  async putSession(record: SessionRecord): Promise<void> {
    const key = this.#key("session", record.session_id);
    measure(key, record, `session "${record.session_id}"`);
    await commit(this.#kv.atomic().set(key, record), `session "${record.session_id}"`);
  }

  /**
   * A session record.
   *
   * @param sessionId The session.
   * @returns The record, or `undefined`.
   */
  async getSession(sessionId: string): Promise<SessionRecord | undefined> {
    const entry = await this.#kv.get(this.#key("session", sessionId));
    return (entry.value as SessionRecord | null) ?? undefined;
  }

  /**
   * Forgets a session: its record and log meta in one commit, then its whole
   * log in commits of at most 999 deletes (calling it again finishes an
   * interrupted deletion).
   *
   * @param sessionId The session.
   */
  async deleteSession(sessionId: string): Promise<void> {
    const op = this.#kv.atomic().delete(this.#key("session", sessionId))
      .delete(this.#key("log_meta", sessionId));
    await commit(op, `the deletion of session "${sessionId}"`);
    await deleteAll(this.#kv, { prefix: this.#key("log", sessionId) });
    await deleteAll(this.#kv, { prefix: this.#key("log_part", sessionId) });
  }

  /**
   * Streams every stored session.
   *
   * @returns The sessions in id order.
   */
  async *listSessions(): AsyncIterable<SessionRecord> {
    const prefix = this.#key("session");
    for await (const entry of this.#kv.list({ prefix }, { batchSize: READ_BATCH })) {
      yield entry.value as SessionRecord;
    }
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
    measure(key, record, what);
    measure(byPrincipal, record, what);
    await this.#checked(key, what, (existing) => {
      const op = this.#kv.atomic().set(key, record).set(byPrincipal, record);
      const previous = existing as JobRecord | null;
      if (previous !== null && previous.principal !== record.principal) {
        op.delete(this.#key("job_by_principal", previous.principal, record.job_id));
      }
      if (isUnfinished(record)) op.set(unfinished, record);
      else op.delete(unfinished);
      return { op, result: undefined };
    });
  }

  /**
   * A job record.
   *
   * @param jobId The job.
   * @returns The record, or `undefined`.
   */
  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const entry = await this.#kv.get(this.#key("job", jobId));
    return (entry.value as JobRecord | null) ?? undefined;
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
    for await (const entry of this.#kv.list(selector, { batchSize: READ_BATCH })) {
      const job = entry.value as JobRecord;
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
    const prefix = this.#key("job_unfinished");
    for await (const entry of this.#kv.list({ prefix }, { batchSize: READ_BATCH })) {
      yield entry.value as JobRecord;
    }
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
    return await this.#checked(key, what, (existing) => {
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
    const key = this.#key("session", sessionId);
    const what = `session "${sessionId}"`;
    return await this.#checked(key, what, (value) => {
      const current = (value as SessionRecord | null) ?? undefined;
      const next = change(current);
      if (next === undefined) return { result: current };
      measure(key, next, what);
      return { op: this.#kv.atomic().set(key, next), result: next };
    });
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
