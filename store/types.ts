// This module is browser compatible.
/**
 * The storage interface behind everything a runtime must remember: each
 * session's event log (replayed by resume, spec §6.3, and subscription, spec
 * 1.1 §7.6), sessions, jobs and idempotency keys (spec §7.2). Implemented in
 * memory, on Deno KV and on IndexedDB.
 *
 * @module
 */

import type { Envelope, JobStatus, Lease, LeaseConstraints } from "../protocol/messages.ts";

/**
 * A sequenced envelope as logged: a `job.event`, `job.result` or `job.error`
 * carrying its session-scoped `event_seq` (spec §8.3).
 */
export type StoredEvent = Envelope & { job_id: string; event_seq: number };

/** Options of {@linkcode EventStore.read}. */
export interface ReadOptions {
  /** Yield events with `event_seq` greater than this. */
  after: number;
  /** Stops the iteration early. */
  signal?: AbortSignal;
}

/** The range of sequence numbers a session's log still holds. */
export interface LogBounds {
  /** Lowest retained `event_seq`, or `last + 1` when the log is empty. */
  first: number;
  /** Highest `event_seq` ever appended (0 when none). */
  last: number;
}

/**
 * A session's event log: the first of the two contracts a store implements
 * (the other is {@linkcode RecordStore}). The runtime assigns `event_seq`
 * (contiguous from 1 per session, spec §8.3) and batches appends; a log only
 * persists and replays, for resume (spec §6.3) and subscription (spec 1.1
 * §7.6).
 *
 * @example A log in memory
 * ```ts
 * import { MemoryStore } from "@arcp/arcp/store/memory";
 * import assert from "node:assert/strict";
 *
 * const log = new MemoryStore();
 * const event = (seq: number) => ({
 *   arcp: "1.1", id: `m${seq}`, type: "job.event", job_id: "job_1", event_seq: seq,
 *   payload: { kind: "log", ts: new Date().toISOString(), body: { level: "info", message: "hi" } },
 * });
 * await log.append("sess_1", [event(1), event(2)]);
 * await log.trim("sess_1", { through: 1 });
 * assert.deepEqual(await log.bounds("sess_1"), { first: 2, last: 2 });
 * ```
 */
export interface EventLog {
  /**
   * Appends a batch of events in `event_seq` order, atomically: all or none.
   * Idempotent: events at or below the last stored seq are skipped.
   *
   * @throws {RangeError} when the batch would leave a gap in the sequence, or
   *   an event is too large for the backend.
   */
  append(sessionId: string, events: readonly StoredEvent[]): Promise<void>;
  /** Streams the retained events after `options.after`, in order, without loading them all. */
  read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent>;
  /** Drops events with `event_seq <= through`; `bounds().last` is kept. */
  trim(sessionId: string, options: { through: number }): Promise<void>;
  /** The retained range of a session's log. */
  bounds(sessionId: string): Promise<LogBounds>;
  /**
   * Forgets a session's whole log, bounds included: a log appended to
   * afterwards starts again at 1. How a deleted session's log goes.
   */
  drop(sessionId: string): Promise<void>;
  /**
   * Appends a batch only where it continues the log as this writer last saw
   * it: stores the longest prefix of `events` that follows the log's last
   * seq with no other writer's event in between, and stores nothing when the
   * log's last seq is not `events[0].event_seq - 1`. Lets several runtime
   * instances share one session's log without overwriting or silently
   * skipping each other's events. Optional: without it the runtime assumes
   * it is the log's only writer.
   *
   * @returns How many events of the batch were stored (a prefix).
   * @throws {RangeError} when an event is too large for the backend.
   */
  compareAndAppend?(sessionId: string, events: readonly StoredEvent[]): Promise<number>;
  /**
   * Yields the log's bounds each time it may have changed (an append, a
   * trim), until `options.signal` aborts. Notifications may be coalesced or
   * spurious, and a backend may miss other processes' writes (a local Deno KV
   * file does): the runtime also polls `bounds()`. Optional.
   */
  watch?(sessionId: string, options: { signal: AbortSignal }): AsyncIterable<LogBounds>;
  /** Releases what the store opened itself (never a handle it was given). */
  close?(): Promise<void>;
}

/**
 * The former name of {@linkcode EventLog}.
 *
 * @deprecated Use {@linkcode EventLog}.
 */
export type EventStore = EventLog;

/**
 * A record key: a tuple of strings, compared element by element (as Deno KV
 * keys are), so that every key with a given prefix lists together in order.
 */
export type RecordKey = readonly string[];

/** A stored record, as {@linkcode RecordStore.get} and {@linkcode RecordStore.list} yield it. */
export interface RecordEntry {
  /** The record's key. */
  key: RecordKey;
  /** The stored value: what was given to {@linkcode RecordStore.set}. */
  value: unknown;
  /**
   * An opaque version, different after every write of the key (a deleted
   * and re-created key never takes an earlier version back): what
   * {@linkcode WriteOptions.ifVersion} checks.
   */
  version: string;
}

/** Options of {@linkcode RecordStore.set} and {@linkcode RecordStore.delete}. */
export interface WriteOptions {
  /**
   * Writes only if the key is still at this version (`null`: only if the
   * key is absent); checked and written atomically. Without it the write is
   * unconditional.
   */
  ifVersion?: string | null;
}

/** Options of {@linkcode RecordStore.list}. */
export interface ListOptions {
  /** Lists only keys sorting strictly after this one (a keyset cursor). */
  after?: RecordKey;
}

/**
 * A keyed record store: the second contract a store implements. Values are
 * plain JSON-compatible data, of any size (a backend with a value limit
 * splits them). The store may keep the very object it is given and hand it
 * back, so neither the store nor its callers mutate a value once written.
 *
 * Sessions, jobs and their indexes, idempotency keys (spec §7.2), the
 * credential ledger and instance heartbeats are kept on it by the runtime,
 * through the one atomic operation a store provides: a write checked
 * against the version of its key.
 *
 * @example A check-and-set
 * ```ts
 * import { MemoryStore } from "@arcp/arcp/store/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryStore();
 * assert.equal(await store.set(["counter"], 1, { ifVersion: null }), true);
 * const entry = await store.get(["counter"]);
 * assert.equal(await store.set(["counter"], 2, { ifVersion: entry!.version }), true);
 * assert.equal(await store.set(["counter"], 3, { ifVersion: entry!.version }), false);
 * assert.equal((await store.get(["counter"]))?.value, 2);
 * ```
 */
export interface RecordStore {
  /** The record at `key`, or `undefined`. */
  get(key: RecordKey): Promise<RecordEntry | undefined>;
  /**
   * Writes `value` at `key`: unconditionally, or, with `options.ifVersion`,
   * only where the key is still at that version (a check-and-set).
   *
   * @returns `false` when the version check failed (nothing was written).
   * @throws {RangeError} when the key or value is too large for the backend.
   */
  set(key: RecordKey, value: unknown, options?: WriteOptions): Promise<boolean>;
  /**
   * Deletes the record at `key` (a missing one is no error), or, with
   * `options.ifVersion`, only while it is at that version.
   *
   * @returns `false` when the version check failed.
   */
  delete(key: RecordKey, options?: WriteOptions): Promise<boolean>;
  /**
   * Streams the records whose keys start with `prefix` (of at least one
   * element) and are longer than it, in key order, a batch at a time:
   * records written meanwhile may or may not be seen.
   */
  list(prefix: RecordKey, options?: ListOptions): AsyncIterable<RecordEntry>;
}

/**
 * What a store implements to back a runtime: an {@linkcode EventLog} and a
 * {@linkcode RecordStore}, nothing more. The runtime keeps sessions, jobs,
 * idempotency keys, credentials and instance heartbeats on the record store
 * itself. The exported stores (memory, Deno KV, IndexedDB) are each one.
 *
 * @example A store of one's own, on two narrow contracts
 * ```ts
 * import type { Store } from "@arcp/arcp/store/memory";
 * import { MemoryStore } from "@arcp/arcp/store/memory";
 *
 * // A store that logs every record write, delegating storage to another.
 * const inner = new MemoryStore();
 * const store: Store = {
 *   append: (id, events) => inner.append(id, events),
 *   read: (id, options) => inner.read(id, options),
 *   trim: (id, options) => inner.trim(id, options),
 *   bounds: (id) => inner.bounds(id),
 *   drop: (id) => inner.drop(id),
 *   get: (key) => inner.get(key),
 *   set: (key, value, options) => {
 *     console.log("set", key.join("/"));
 *     return inner.set(key, value, options);
 *   },
 *   delete: (key, options) => inner.delete(key, options),
 *   list: (prefix, options) => inner.list(prefix, options),
 * };
 * // new Runtime({ agents, store })
 * ```
 */
export interface Store extends EventLog, RecordStore {}

/** What a runtime remembers of a session between connections and restarts. */
export interface SessionRecord {
  /** The session id (`sess_` + ULID). */
  session_id: string;
  /** The authenticated principal's id. */
  principal: string;
  /** SHA-256 of the current resume token, lowercase hex; the token itself is never stored. */
  resume_token_sha256: string;
  /**
   * SHA-256 of the token this one replaced, while the client has not yet
   * shown it received the new one: a welcome lost in a drop must not strand
   * the session. `null` (or absent) once confirmed.
   */
  previous_token_sha256?: string | null;
  /** Seconds the session stays resumable after its connection goes. */
  resume_window_sec: number;
  /** ISO-8601 UTC creation time. */
  created_at: string;
  /** ISO-8601 UTC time the last connection went, or `null` while one is attached. */
  detached_at: string | null;
  /** Highest `event_seq` the client acknowledged (spec 1.1 §6.5), 0 for none. */
  acked_seq: number;
  /** The features negotiated by the latest hello (spec 1.1 §6.2), kept for a `session.resume`. */
  features?: string[];
  /**
   * The runtime instance that holds (or last held) the session's connection:
   * only it writes the record, until a resume on another instance takes over.
   */
  instance_id?: string;
  /**
   * Readers of the log on other runtime instances (subscribers to its jobs),
   * by reader id: the log is not trimmed past `after` before `expires_at`
   * (ISO-8601 UTC), which each reader renews while it reads.
   */
  readers?: Record<string, { after: number; expires_at: string }>;
  /**
   * `job.cancel` requests for jobs of this session running on another
   * instance, by job id, with their reasons: that instance reads them.
   */
  cancel_requests?: Record<string, string>;
}

/** A job's terminal envelope, kept so late observers can be told how it ended. */
export type TerminalEnvelope = StoredEvent & { type: "job.result" | "job.error" };

/** What a runtime remembers of a job (spec 1.1 §6.6 listing fields and more). */
export interface JobRecord {
  /** The job id (`job_` + ULID, so ids sort by creation). */
  job_id: string;
  /** The submitting session. */
  session_id: string;
  /** The submitting principal's id. */
  principal: string;
  /** The resolved agent, `name@version` or the bare name. */
  agent: string;
  /** Current status (spec §7.3). */
  status: JobStatus;
  /** The effective lease. */
  lease: Lease;
  /** Lease constraints, when given. */
  lease_constraints?: LeaseConstraints;
  /** The parent job, for delegated jobs (spec §10). */
  parent_job_id: string | null;
  /** 32-hex W3C trace-id. */
  trace_id: string;
  /** ISO-8601 UTC acceptance time. */
  created_at: string;
  /** Highest `event_seq` of this job in its session, as of the last write. */
  last_event_seq: number;
  /** The idempotency key it was submitted with, if any. */
  idempotency_key?: string;
  /** Remaining budget per currency as of the last write (spec 1.1 §9.6). */
  budget?: Record<string, number>;
  /** The terminal envelope, once the job has ended. */
  terminal?: TerminalEnvelope;
  /**
   * Set while `terminal` is stored here but not yet known to be in the
   * session's log: the job stays among the unfinished ones, so that if its
   * instance is lost, recovery puts that end in the log.
   */
  terminal_pending?: boolean;
  /** The runtime instance running the job: once its heartbeat expires, the job counts as lost. */
  instance_id?: string;
}

/** A filter and page of {@linkcode RuntimeStore.listJobs} (spec 1.1 §6.6). */
export interface JobQuery {
  /** Only jobs of this principal. */
  principal: string;
  /** Only jobs in one of these statuses. */
  status?: readonly JobStatus[];
  /** Only jobs of this agent: a bare name matches every version. */
  agent?: string;
  /** Only jobs created strictly after this ISO-8601 instant. */
  created_after?: string;
  /** Only jobs created strictly before this ISO-8601 instant. */
  created_before?: string;
  /** Keyset cursor: only jobs whose id sorts after this one. */
  after_job_id?: string;
  /** Page size. */
  limit: number;
}

/** An idempotency key's binding to the job it created (spec §7.2). */
export interface IdempotencyRecord {
  /** The principal that used the key; keys are scoped per principal. */
  principal: string;
  /** The key. */
  key: string;
  /** The job the key resolved to. */
  job_id: string;
  /** SHA-256 hex of the submission's agent, input, lease and constraints, to detect conflicts. */
  fingerprint: string;
  /** ISO-8601 UTC time after which the key may be reused. */
  expires_at: string;
}

/**
 * A provisioned credential that may still be live at its upstream (spec 1.1
 * §9.8.2, §14): written before the credential is requested, deleted once it
 * is revoked. Holds no secret: revocation goes by `credential_id`.
 */
export interface CredentialRecord {
  /** The credential id (`cred_` + ULID), unique across jobs. */
  credential_id: string;
  /** The job it was issued for. */
  job_id: string;
  /** The submitting principal's id, for operators. */
  principal: string;
  /** ISO-8601 UTC time the runtime asked for it. */
  issued_at: string;
  /**
   * `issued` while the job may use it; `revoking` once the job ended and
   * revocation is being retried; `unrevocable` once retries ran out (an
   * operator must act; a restart tries again).
   */
  state: "issued" | "revoking" | "unrevocable";
  /** Failed revocation attempts so far. */
  attempts: number;
  /** The latest revocation failure, with any credential value redacted. */
  last_error?: string;
  /** The runtime instance answerable for it; others revoke it once that one's heartbeat expires. */
  instance_id?: string;
}

/**
 * A runtime instance's heartbeat: several instances may share one store (Deno
 * Deploy isolates on one KV), and each renews its record while it lives.
 * Jobs, sessions and credentials name their instance; once its record has
 * expired, another instance recovers them.
 */
export interface InstanceRecord {
  /** The instance id (`inst_` + ULID), new at every start. */
  instance_id: string;
  /** ISO-8601 UTC start time. */
  started_at: string;
  /** ISO-8601 UTC time after which the instance counts as dead unless renewed. */
  expires_at: string;
}

/**
 * What the runtime sees of a store: a {@linkcode Store} and the records
 * kept on it (sessions with their resume-token index, jobs with their
 * principal and unfinished indexes, idempotency keys, the credential ledger,
 * instance heartbeats), written once for every store in `store/records.ts`.
 * The exported stores are each one; a user-written {@linkcode Store} is
 * wrapped into one by the runtime. Never implement it directly.
 */
export interface RuntimeStore extends Store {
  /** Creates or replaces a session record. */
  putSession(record: SessionRecord): Promise<void>;
  /** A session record, or `undefined`. */
  getSession(sessionId: string): Promise<SessionRecord | undefined>;
  /** Forgets a session and its whole event log. */
  deleteSession(sessionId: string): Promise<void>;
  /** Every stored session, for recovery after a restart. */
  listSessions(): AsyncIterable<SessionRecord>;
  /**
   * The session whose current or previous resume token has this SHA-256
   * (`resume_token_sha256` or `previous_token_sha256`), or `undefined`:
   * how a resume that names no session finds its session (spec §6.3). A
   * store keeps an index from each hash to its session, written and deleted
   * with the record, so the lookup costs the same however many sessions are
   * stored.
   */
  getSessionByToken(tokenSha256: string): Promise<SessionRecord | undefined>;
  /** Creates or replaces a job record. */
  putJob(record: JobRecord): Promise<void>;
  /** A job record, or `undefined`. */
  getJob(jobId: string): Promise<JobRecord | undefined>;
  /** One page of a principal's jobs in `job_id` order, and whether more follow. */
  listJobs(query: JobQuery): Promise<{ jobs: JobRecord[]; more: boolean }>;
  /** Every job record in a non-terminal status, for recovery after a restart. */
  listUnfinishedJobs(): AsyncIterable<JobRecord>;
  /**
   * Binds `record.key` to `record.job_id` unless an unexpired binding exists
   * for the same principal and key; atomic, so two racing submits cannot
   * both win.
   *
   * @returns `undefined` when the binding was stored, else the existing one.
   */
  claimIdempotencyKey(
    record: IdempotencyRecord,
    now: string,
  ): Promise<IdempotencyRecord | undefined>;
  /** Creates or replaces a credential ledger entry. */
  putCredential(record: CredentialRecord): Promise<void>;
  /** Removes a credential from the ledger once it is revoked; a missing one is no error. */
  deleteCredential(credentialId: string): Promise<void>;
  /** Every credential in the ledger, in `credential_id` order. */
  listCredentials(): AsyncIterable<CredentialRecord>;
  /**
   * Changes a session record atomically: `change` gets the stored record (or
   * `undefined`) and returns the record to store, or `undefined` to keep it.
   * It may be called again when another writer got in between (a
   * check-and-set on the record store), so two runtime instances racing on
   * one session never overwrite each other.
   *
   * @returns The record stored afterwards, or `undefined` when there is none.
   */
  updateSession(
    sessionId: string,
    change: (current: SessionRecord | undefined) => SessionRecord | undefined,
  ): Promise<SessionRecord | undefined>;
  /** Creates or renews an instance's heartbeat. */
  putInstance(record: InstanceRecord): Promise<void>;
  /** Every instance record, expired ones included, in id order. */
  listInstances(): AsyncIterable<InstanceRecord>;
  /** Removes an instance record; a missing one is no error. */
  deleteInstance(instanceId: string): Promise<void>;
}
