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
 * A session's event log. The runtime assigns `event_seq` (contiguous from 1
 * per session) and batches appends; a store only persists and replays.
 */
export interface EventStore {
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

/** Everything a runtime stores. */
export interface RuntimeStore extends EventStore {
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
   * stored. Optional: without it the runtime scans `listSessions()`.
   */
  getSessionByToken?(tokenSha256: string): Promise<SessionRecord | undefined>;
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
   * It may be called again when another writer got in between. Optional:
   * without it, a read then a write stand in, and two runtime instances
   * racing on one session may overwrite each other.
   *
   * @returns The record stored afterwards, or `undefined` when there is none.
   */
  updateSession?(
    sessionId: string,
    change: (current: SessionRecord | undefined) => SessionRecord | undefined,
  ): Promise<SessionRecord | undefined>;
  /**
   * Creates or renews an instance's heartbeat. Optional, with
   * `listInstances` and `deleteInstance`: a store without them serves one
   * runtime instance at a time.
   */
  putInstance?(record: InstanceRecord): Promise<void>;
  /** Every instance record, expired ones included, in id order. */
  listInstances?(): AsyncIterable<InstanceRecord>;
  /** Removes an instance record; a missing one is no error. */
  deleteInstance?(instanceId: string): Promise<void>;
}
