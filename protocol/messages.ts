// This module is browser compatible.
/**
 * Wire types of ARCP 1.0 and 1.1: the envelope (spec §5) and the payload of
 * every message type, spelled as on the wire.
 *
 * @module
 */

import type { ErrorPayload } from "./errors.ts";

/** The protocol version this SDK sends in every envelope's `arcp` field. */
export const PROTOCOL_VERSION = "1.1" as const;

/** A JSON value. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * The ARCP envelope (spec §5): every frame on every transport is one of these.
 * Unknown top-level fields are ignored on receipt.
 */
export type Envelope<T extends string = string, P = unknown> = {
  /** Protocol version: we send `"1.1"` and accept `"1"` and `"1.x"`. */
  arcp: string;
  /** Per-message unique id (`msg_` + ULID when we send). */
  id: string;
  /** The message type, e.g. `job.submit`. */
  type: T;
  /** Session id; absent only on `session.hello` and errors before a session exists. */
  session_id?: string;
  /** W3C trace-id (32 lowercase hex) or full `traceparent` (spec §11). */
  trace_id?: string;
  /** The job a job-scoped message is about. */
  job_id?: string;
  /** Session-scoped sequence number on `job.event`, `job.result` and `job.error` (spec §8.3). */
  event_seq?: number;
  /** The type-specific body. */
  payload: P;
};

/** Name and version of a client or runtime implementation. */
export interface PeerInfo {
  /** Implementation name. */
  name: string;
  /** Implementation version. */
  version: string;
}

/** The feature flags of spec 1.1 §6.2, negotiated by intersection. */
export type Feature =
  | "heartbeat"
  | "ack"
  | "list_jobs"
  | "subscribe"
  | "lease_expires_at"
  | "cost.budget"
  | "model.use"
  | "provisioned_credentials"
  | "progress"
  | "result_chunk"
  | "agent_versions";

/** Every feature flag defined by spec 1.1 §6.2. */
export const FEATURES: readonly Feature[] = [
  "heartbeat",
  "ack",
  "list_jobs",
  "subscribe",
  "lease_expires_at",
  "cost.budget",
  "model.use",
  "provisioned_credentials",
  "progress",
  "result_chunk",
  "agent_versions",
];

/** Capabilities a peer declares in `session.hello` / `session.welcome` (spec §6.2). */
export interface Capabilities {
  /** Encodings; only `json` is defined. */
  encodings?: string[];
  /** Feature flags; unknown flags are ignored. */
  features?: string[];
}

/** An agent in the 1.1 inventory of `session.welcome` (spec 1.1 §6.2, §7.5). */
export interface AgentInfo {
  /** Agent name (`[a-z0-9][a-z0-9._-]*`). */
  name: string;
  /** Registered versions. */
  versions: string[];
  /** The version a bare name resolves to, when there is one. */
  default?: string;
}

/** `session.hello` payload (spec §6.1, §6.2; the resume block of 1.0 §6.3). */
export interface SessionHelloPayload {
  /** Who the client is. */
  client: PeerInfo;
  /** Bearer authentication (spec §6.1). */
  auth?: { scheme: string; token?: string };
  /** Client capabilities. */
  capabilities?: Capabilities;
  /** Resume block of 1.0 §6.3. */
  resume?: { session_id: string; resume_token: string; last_event_seq: number };
  /** Flat resume token, as some peers send it. */
  resume_token?: string;
  /** Flat last sequence, as some peers send it. */
  last_event_seq?: number;
}

/** `session.welcome` payload (spec §6.2). */
export interface SessionWelcomePayload {
  /** Who the runtime is. */
  runtime: PeerInfo;
  /** Opaque credential for resuming this session; rotates on every welcome. */
  resume_token: string;
  /** Seconds the session stays resumable after its last message. */
  resume_window_sec: number;
  /** Seconds between heartbeats when `heartbeat` is negotiated (spec 1.1 §6.4). */
  heartbeat_interval_sec?: number;
  /** Runtime capabilities: features (the intersection) and the agent inventory. */
  capabilities: Capabilities & { agents?: Array<AgentInfo | string> };
}

/** `session.resume` payload (spec 1.1 §6.3 wording). */
export interface SessionResumePayload {
  /** Session to resume; falls back to the envelope's `session_id`. */
  session_id?: string;
  /** Most recent resume token. */
  resume_token: string;
  /** Highest `event_seq` the client processed. */
  last_event_seq: number;
}

/** `session.error` payload: an error plus the correlation we add (see CONFORMANCE.md). */
export interface SessionErrorPayload extends ErrorPayload {
  /** Envelope `id` of the request that failed, when the error answers one. */
  request_id?: string;
  /** The job concerned, when there is one. */
  job_id?: string;
}

/** `session.close` (1.1 §6.7), `session.closed` and `session.bye` (1.0 §6.4) payload. */
export interface SessionClosePayload {
  /** Why the session is closing. */
  reason?: string;
}

/** `session.ping` payload (spec 1.1 §6.4). */
export interface SessionPingPayload {
  /** Opaque value echoed by the pong. */
  nonce: string;
  /** ISO-8601 UTC send time. */
  sent_at: string;
}

/** `session.pong` payload (spec 1.1 §6.4). */
export interface SessionPongPayload {
  /** The nonce of the ping being answered. */
  ping_nonce: string;
  /** ISO-8601 UTC receive time. */
  received_at: string;
}

/** `session.ack` payload (spec 1.1 §6.5). */
export interface SessionAckPayload {
  /** Highest `event_seq` the client has processed. */
  last_processed_seq: number;
}

/** A job's status (spec §7.3). */
export type JobStatus = "pending" | "running" | FinalStatus;

/** A job's terminal status (spec §7.3). */
export type FinalStatus = "success" | "error" | "cancelled" | "timed_out";

/** `session.list_jobs` payload (spec 1.1 §6.6). */
export interface SessionListJobsPayload {
  /** Optional filters; all fields optional. */
  filter?: {
    status?: JobStatus[];
    agent?: string;
    created_after?: string;
    created_before?: string;
  };
  /** Page size. */
  limit?: number;
  /** Opaque cursor from a previous `next_cursor`. */
  cursor?: string | null;
}

/** A lease: capability namespace → patterns (spec §9.1, §9.2). */
export type Lease = Record<string, string[]>;

/** Constraints on a lease (spec 1.1 §9.5). */
export interface LeaseConstraints {
  /** ISO-8601 UTC (`Z`) instant after which the lease is void. */
  expires_at?: string;
}

/** One job in a `session.jobs` listing (spec 1.1 §6.6). */
export interface JobSummary {
  /** The job's id. */
  job_id: string;
  /** The resolved agent, `name@version` when versioned (spec 1.1 §7.5). */
  agent: string;
  /** Current status (spec §7.3). */
  status: JobStatus;
  /** The effective lease (spec §9.1). */
  lease: Lease;
  /** Lease constraints, when the job has any (spec 1.1 §9.5). */
  lease_constraints?: LeaseConstraints;
  /** The delegating job, or `null` for a top-level job (spec §10). */
  parent_job_id: string | null;
  /** ISO-8601 UTC creation time. */
  created_at: string;
  /** The job's W3C trace-id (spec §11). */
  trace_id?: string;
  /** Highest `event_seq` sent for this job so far (spec §8.3). */
  last_event_seq: number;
  /** A running job's credentials; only ever listed for its submitter (spec 1.1 §14). */
  credentials?: Credential[];
}

/** `session.jobs` payload (spec 1.1 §6.6). */
export interface SessionJobsPayload {
  /** Envelope id of the `session.list_jobs` being answered. */
  request_id?: string;
  /** The jobs on this page. */
  jobs: JobSummary[];
  /** Cursor of the next page; `null` on the last. */
  next_cursor: string | null;
}

/** `job.submit` payload (spec §7.1). */
export interface JobSubmitPayload {
  /** `name` or `name@version` (spec 1.1 §7.5). */
  agent: string;
  /** Agent input; any JSON. */
  input?: unknown;
  /** Requested lease (spec §9). */
  lease_request?: Lease;
  /** Lease constraints (spec 1.1 §9.5). */
  lease_constraints?: LeaseConstraints;
  /** Logical idempotency key (spec §7.2). */
  idempotency_key?: string;
  /** Wall-clock limit in seconds; exceeding it ends the job with `TIMEOUT`. */
  max_runtime_sec?: number;
}

/**
 * What a provisioned credential's upstream enforces (spec 1.1 §9.8.1, §9.8.3):
 * informational; absence of a key does not mean the lease lacks it.
 */
export interface CredentialConstraints {
  /** Spend caps as `currency:decimal`, sized to the job's remaining budget. */
  "cost.budget"?: string[];
  /** Allowed model-name globs. */
  "model.use"?: string[];
  /** ISO-8601 UTC expiry, at or before the lease's. */
  expires_at?: string;
  /** Other upstream-specific restrictions. */
  [key: string]: unknown;
}

/** A provisioned credential (spec 1.1 §9.8.1). */
export interface Credential {
  /** Stable identifier for the credential within the job. */
  id: string;
  /** Authentication scheme; `bearer` is the only one the spec defines. */
  scheme: string;
  /** The credential material; treat as a secret. */
  value: string;
  /** Base URL at which the credential is valid. */
  endpoint: string;
  /** Advisory hint for the API protocol to speak at `endpoint`, e.g. `openai`. */
  profile?: string;
  /** Read-only echo of the lease restrictions baked into the credential. */
  constraints?: CredentialConstraints;
}

/** `job.accepted` payload (spec §7.1, §10.1). */
export interface JobAcceptedPayload {
  /** The new job's id. */
  job_id: string;
  /** The resolved agent, `name@version` when versioned. */
  agent?: string;
  /** The effective lease. */
  lease: Lease;
  /** The effective lease constraints (spec 1.1 §9.5). */
  lease_constraints?: LeaseConstraints;
  /** Initial budget counters per currency (spec 1.1 §9.6). */
  budget?: Record<string, number>;
  /** Provisioned credentials for the job (spec 1.1 §9.8). */
  credentials?: Credential[];
  /** ISO-8601 UTC acceptance time. */
  accepted_at?: string;
  /** The job's W3C trace-id (spec §11). */
  trace_id?: string;
  /** The delegating job, on a delegated job's acceptance (spec §10.1). */
  parent_job_id?: string;
  /** The `delegate` event's `delegate_id` this job answers (spec §10.1). */
  delegate_id?: string;
  /** Envelope id of the `job.submit` being answered. */
  request_id?: string;
}

/** `job.cancel` payload (spec §7.4); the job is named by the envelope's `job_id`. */
export interface JobCancelPayload {
  /** Why the job is being cancelled. */
  reason?: string;
  /** Lenient: some peers put the job id in the payload. */
  job_id?: string;
}

/** `job.cancelled` payload (spec 1.1 §7.4). */
export interface JobCancelledPayload {
  /** The cancellation reason, as requested. */
  reason?: string;
}

/** `job.result` payload (spec §7.3, §8.4). */
export interface JobResultPayload {
  /** Always `success` on `job.result` (spec §7.3). */
  final_status: "success";
  /** Inline result, when not streamed. */
  result?: unknown;
  /** Id of the streamed result (spec 1.1 §8.4). */
  result_id?: string;
  /** Size of the streamed result in bytes. */
  result_size?: number;
  /** Human-readable summary of the result. */
  summary?: string;
}

/** `job.error` payload (spec §7.3, §12). */
export interface JobErrorPayload extends ErrorPayload {
  /** The terminal status: `error`, `cancelled` or `timed_out` (spec §7.3). */
  final_status: Exclude<FinalStatus, "success">;
}

/** `job.subscribe` payload (spec 1.1 §7.6). */
export interface JobSubscribePayload {
  /** The job to attach to. */
  job_id: string;
  /** With `history: true`, replay buffered events with `event_seq` above this. */
  from_event_seq?: number;
  /** Whether to replay buffered history; default `false` (live events only). */
  history?: boolean;
}

/** `job.subscribed` payload: the subscriber's authority descriptor (spec 1.1 §7.6). */
export interface JobSubscribedPayload {
  /** The job subscribed to. */
  job_id: string;
  /** The job's status at subscription time (spec §7.3). */
  current_status: JobStatus;
  /** The resolved agent, `name@version` when versioned (spec 1.1 §7.5). */
  agent: string;
  /** The effective capability grants (spec §9.1). */
  lease: Lease;
  /** Echoed when present, currently `expires_at` (spec 1.1 §9.5). */
  lease_constraints?: LeaseConstraints;
  /** Current per-currency budget counters at subscription time (spec 1.1 §9.6). */
  budget?: Record<string, number>;
  /** Provisioned credentials; only ever sent to the job's submitter (spec 1.1 §9.8). */
  credentials?: Credential[];
  /** The delegating job, or `null` for a top-level job (spec §10). */
  parent_job_id: string | null;
  /** The job's W3C trace-id (spec §11). */
  trace_id?: string;
  /** The session `event_seq` from which this subscription's events follow. */
  subscribed_from: number;
  /** Whether buffered history was replayed. */
  replayed: boolean;
  /** Envelope id of the `job.subscribe` being answered. */
  request_id?: string;
}

/** `job.unsubscribe` payload (spec 1.1 §7.6). */
export interface JobUnsubscribePayload {
  /** The job to stop observing. */
  job_id: string;
}
