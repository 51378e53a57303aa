// This module is browser compatible.
/**
 * The in-memory {@linkcode RuntimeStore}: the default, and the reference the
 * other stores are tested against.
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
import { holdingToken, tokenChanges } from "./_tokens.ts";

export type * from "./types.ts";

/**
 * Records go in and out as copies, as with a real database, so no caller can
 * change stored state by mutating an object. Copied by hand: structuredClone
 * costs more than the rest of a submit. Logged envelopes are shared: they are
 * never mutated once emitted.
 */
function copyJob(record: JobRecord): JobRecord {
  const copy = { ...record, lease: { ...record.lease } };
  for (const [capability, patterns] of Object.entries(record.lease)) {
    copy.lease[capability] = [...patterns];
  }
  if (record.lease_constraints !== undefined) {
    copy.lease_constraints = { ...record.lease_constraints };
  }
  if (record.budget !== undefined) copy.budget = { ...record.budget };
  return copy;
}

interface SessionLog {
  /** Retained events; `events[i]` has `event_seq === first + i`. */
  events: StoredEvent[];
  first: number;
}

/**
 * Keeps every session's event log, sessions, jobs, idempotency keys and the
 * credential ledger in memory. Nothing survives the process; use the Deno KV or IndexedDB store
 * for that.
 *
 * @example Append and read back
 * ```ts
 * import { MemoryStore } from "@arcp/arcp/store/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryStore();
 * const event = (seq: number) => ({
 *   arcp: "1.1", id: `m${seq}`, type: "job.event", job_id: "job_1", event_seq: seq,
 *   payload: { kind: "log", ts: new Date().toISOString(), body: { level: "info", message: `${seq}` } },
 * });
 * await store.append("sess_1", [event(1), event(2), event(3)]);
 * const seqs = [];
 * for await (const e of store.read("sess_1", { after: 1 })) seqs.push(e.event_seq);
 * assert.deepEqual(seqs, [2, 3]);
 * ```
 */
export class MemoryStore implements RuntimeStore {
  #logs = new Map<string, SessionLog>();
  #sessions = new Map<string, SessionRecord>();
  /** Session ids by the SHA-256 of their current and previous resume tokens. */
  #sessionsByToken = new Map<string, string>();
  #jobs = new Map<string, JobRecord>();
  #keys = new Map<string, IdempotencyRecord>();
  #credentials = new Map<string, CredentialRecord>();
  #instances = new Map<string, InstanceRecord>();
  /** Watchers of each session's log, told its bounds after every change. */
  #watchers = new Map<string, Set<(bounds: LogBounds) => void>>();

  #log(sessionId: string): SessionLog {
    let log = this.#logs.get(sessionId);
    if (log === undefined) {
      log = { events: [], first: 1 };
      this.#logs.set(sessionId, log);
    }
    return log;
  }

  /**
   * Appends a contiguous batch; already-stored seqs are skipped.
   *
   * @throws {RangeError} when the batch would leave a gap.
   */
  append(sessionId: string, events: readonly StoredEvent[]): Promise<void> {
    const log = this.#log(sessionId);
    // Check the whole batch first: a batch is stored entirely or not at all.
    let next = log.first + log.events.length;
    let start = events.length;
    for (const [index, event] of events.entries()) {
      if (event.event_seq < next && start === events.length) continue;
      if (start === events.length) start = index;
      if (event.event_seq !== next) {
        return Promise.reject(
          new RangeError(`Cannot append event_seq ${event.event_seq}: the log expects ${next}`),
        );
      }
      next++;
    }
    for (let index = start; index < events.length; index++) log.events.push(events[index]!);
    if (start < events.length) this.#notify(sessionId, log);
    return Promise.resolve();
  }

  /**
   * Appends the batch only when it continues the log exactly; all or nothing.
   *
   * @returns `events.length` when stored, 0 when another writer's events came first.
   * @throws {RangeError} when the batch itself has a gap.
   */
  compareAndAppend(sessionId: string, events: readonly StoredEvent[]): Promise<number> {
    const log = this.#log(sessionId);
    let next = log.first + log.events.length;
    if (events.length === 0 || events[0]!.event_seq !== next) return Promise.resolve(0);
    for (const event of events) {
      if (event.event_seq !== next++) {
        return Promise.reject(
          new RangeError(`Cannot append event_seq ${event.event_seq}: the log expects ${next - 1}`),
        );
      }
    }
    log.events.push(...events);
    this.#notify(sessionId, log);
    return Promise.resolve(events.length);
  }

  /** Yields the log's bounds after each append or trim in this process, until the signal aborts. */
  async *watch(sessionId: string, options: { signal: AbortSignal }): AsyncIterable<LogBounds> {
    const { signal } = options;
    let changed = Promise.withResolvers<void>();
    let latest: LogBounds | undefined;
    const listener = (bounds: LogBounds) => {
      latest = bounds;
      changed.resolve();
    };
    const onAbort = () => changed.resolve();
    let watchers = this.#watchers.get(sessionId);
    if (watchers === undefined) this.#watchers.set(sessionId, watchers = new Set());
    watchers.add(listener);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal.aborted) {
        await changed.promise;
        changed = Promise.withResolvers();
        if (latest === undefined || signal.aborted) continue;
        const bounds = latest;
        latest = undefined;
        yield bounds;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      watchers.delete(listener);
      if (watchers.size === 0 && this.#watchers.get(sessionId) === watchers) {
        this.#watchers.delete(sessionId);
      }
    }
  }

  #notify(sessionId: string, log: SessionLog): void {
    const watchers = this.#watchers.get(sessionId);
    if (watchers === undefined) return;
    const bounds = { first: log.first, last: log.first + log.events.length - 1 };
    for (const watcher of watchers) watcher(bounds);
  }

  /** Streams retained events after `options.after`, including ones appended while reading. */
  async *read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent> {
    const log = this.#logs.get(sessionId);
    if (log === undefined) return;
    let seq = Math.max(options.after + 1, log.first);
    while (!options.signal?.aborted) {
      const event = log.events[seq - log.first];
      if (event === undefined) return;
      yield event;
      seq++;
    }
  }

  /** Drops events with `event_seq <= through`. */
  trim(sessionId: string, options: { through: number }): Promise<void> {
    const log = this.#logs.get(sessionId);
    if (log !== undefined && options.through >= log.first) {
      const count = Math.min(options.through - log.first + 1, log.events.length);
      log.events.splice(0, count);
      log.first += count;
      this.#notify(sessionId, log);
    }
    return Promise.resolve();
  }

  /** The retained range of a session's log. */
  bounds(sessionId: string): Promise<LogBounds> {
    const log = this.#logs.get(sessionId);
    if (log === undefined) return Promise.resolve({ first: 1, last: 0 });
    return Promise.resolve({ first: log.first, last: log.first + log.events.length - 1 });
  }

  /** Creates or replaces a session record. */
  putSession(record: SessionRecord): Promise<void> {
    this.#setSession(record.session_id, { ...record });
    return Promise.resolve();
  }

  /** Stores (or, given `undefined`, drops) a session record and its token index entries. */
  #setSession(sessionId: string, record: SessionRecord | undefined): void {
    const { removed, added } = tokenChanges(this.#sessions.get(sessionId), record);
    for (const hash of removed) {
      if (this.#sessionsByToken.get(hash) === sessionId) this.#sessionsByToken.delete(hash);
    }
    for (const hash of added) this.#sessionsByToken.set(hash, sessionId);
    if (record === undefined) this.#sessions.delete(sessionId);
    else this.#sessions.set(sessionId, record);
  }

  /** The session answering to a resume token's SHA-256, found through the token index. */
  getSessionByToken(tokenSha256: string): Promise<SessionRecord | undefined> {
    const sessionId = this.#sessionsByToken.get(tokenSha256);
    const record = sessionId === undefined ? undefined : this.#sessions.get(sessionId);
    const held = holdingToken(record, tokenSha256);
    return Promise.resolve(held && { ...held });
  }

  /** A session record, or `undefined`. */
  getSession(sessionId: string): Promise<SessionRecord | undefined> {
    const record = this.#sessions.get(sessionId);
    return Promise.resolve(record && { ...record });
  }

  /** Forgets a session and its whole event log. */
  deleteSession(sessionId: string): Promise<void> {
    this.#setSession(sessionId, undefined);
    this.#logs.delete(sessionId);
    return Promise.resolve();
  }

  /** Every stored session. */
  async *listSessions(): AsyncIterable<SessionRecord> {
    for (const record of [...this.#sessions.values()]) yield { ...record };
  }

  /** Creates or replaces a job record. */
  putJob(record: JobRecord): Promise<void> {
    this.#jobs.set(record.job_id, copyJob(record));
    return Promise.resolve();
  }

  /** A job record, or `undefined`. */
  getJob(jobId: string): Promise<JobRecord | undefined> {
    const record = this.#jobs.get(jobId);
    return Promise.resolve(record && copyJob(record));
  }

  /** One page of a principal's jobs in `job_id` order. */
  listJobs(query: JobQuery): Promise<{ jobs: JobRecord[]; more: boolean }> {
    const matching = [...this.#jobs.values()]
      .filter((job) => jobMatches(job, query))
      .sort((a, b) => (a.job_id < b.job_id ? -1 : 1));
    return Promise.resolve({
      jobs: matching.slice(0, query.limit).map(copyJob),
      more: matching.length > query.limit,
    });
  }

  /** Every job not yet in a terminal status. */
  async *listUnfinishedJobs(): AsyncIterable<JobRecord> {
    for (const job of [...this.#jobs.values()]) {
      if (job.status === "pending" || job.status === "running") yield copyJob(job);
    }
  }

  /** Binds an idempotency key unless an unexpired binding exists. */
  claimIdempotencyKey(
    record: IdempotencyRecord,
    now: string,
  ): Promise<IdempotencyRecord | undefined> {
    const id = JSON.stringify([record.principal, record.key]);
    const existing = this.#keys.get(id);
    if (existing !== undefined && existing.expires_at > now) {
      return Promise.resolve({ ...existing });
    }
    this.#keys.set(id, { ...record });
    return Promise.resolve(undefined);
  }

  /** Creates or replaces a credential ledger entry. */
  putCredential(record: CredentialRecord): Promise<void> {
    this.#credentials.set(record.credential_id, { ...record });
    return Promise.resolve();
  }

  /** Removes a credential from the ledger. */
  deleteCredential(credentialId: string): Promise<void> {
    this.#credentials.delete(credentialId);
    return Promise.resolve();
  }

  /** Every credential in the ledger, in id order. */
  async *listCredentials(): AsyncIterable<CredentialRecord> {
    const records = [...this.#credentials.values()]
      .sort((a, b) => (a.credential_id < b.credential_id ? -1 : 1));
    for (const record of records) yield { ...record };
  }

  /** Changes a session record in one step: nothing runs in between. */
  updateSession(
    sessionId: string,
    change: (current: SessionRecord | undefined) => SessionRecord | undefined,
  ): Promise<SessionRecord | undefined> {
    const stored = this.#sessions.get(sessionId);
    const next = change(stored && { ...stored });
    if (next !== undefined) this.#setSession(sessionId, { ...next });
    const result = next ?? stored;
    return Promise.resolve(result && { ...result });
  }

  /** Creates or renews an instance's heartbeat. */
  putInstance(record: InstanceRecord): Promise<void> {
    this.#instances.set(record.instance_id, { ...record });
    return Promise.resolve();
  }

  /** Every instance record, in id order. */
  async *listInstances(): AsyncIterable<InstanceRecord> {
    const records = [...this.#instances.values()]
      .sort((a, b) => (a.instance_id < b.instance_id ? -1 : 1));
    for (const record of records) yield { ...record };
  }

  /** Removes an instance record. */
  deleteInstance(instanceId: string): Promise<void> {
    this.#instances.delete(instanceId);
    return Promise.resolve();
  }
}
