// This module is browser compatible.
/**
 * The options of a {@linkcode Runtime}: agents, authentication, storage,
 * limits, authority policy and credentials. Re-exported by `runtime.ts`.
 *
 * @module
 */

import type { CredentialRecord, JobRecord, Store } from "../store/types.ts";
import type { WebSocketLike } from "../transports/types.ts";
import type { Authenticator, Principal } from "./auth.ts";
import type { AgentDefinition, LeasePolicy, SubscribeAudit } from "./context.ts";
import type { CredentialProvisioner, RevocationRetry } from "./credentials.ts";
import type { Clock } from "../protocol/clock.ts";

/**
 * Upgrades an HTTP request to a WebSocket; `Deno.upgradeWebSocket` has this
 * shape and can be passed as is.
 */
export type UpgradeWebSocket = (request: Request) => { socket: WebSocketLike; response: Response };

/** Options of the {@linkcode Runtime} constructor. */
export interface RuntimeOptions {
  /** Agents to register now; more can be added with {@linkcode Runtime.register}. */
  agents?: AgentDefinition[];
  /**
   * Decides who each `session.hello` speaks for; without one, every session
   * is refused with `UNAUTHENTICATED`.
   */
  authenticate?: Authenticator;
  /**
   * Where event logs and records (sessions, jobs, idempotency keys,
   * credentials) are kept: any {@linkcode Store}, an event log and a keyed
   * record store.
   * @default {new MemoryStore()}
   */
  store?: Store;
  /**
   * Runtime name in `session.welcome`.
   * @default {"@arcp/arcp"}
   */
  name?: string;
  /**
   * Runtime version in `session.welcome`.
   * @default {SDK_VERSION}
   */
  version?: string;
  /**
   * Seconds a session stays resumable after its connection goes (spec §6.2).
   * @default {600}
   */
  resumeWindowSec?: number;
  /**
   * Heartbeat interval advertised in `session.welcome`, in seconds (spec 1.1 §6.4).
   * @default {30}
   */
  heartbeatIntervalSec?: number;
  /**
   * Milliseconds an agent has to stop after cancellation or timeout before
   * its job is ended anyway (spec 1.0 §7.4).
   * @default {30000}
   */
  cancelGraceMs?: number;
  /**
   * Cap on one incoming WebSocket frame in bytes, for {@linkcode Runtime.fetch}.
   * @default {1048576}
   */
  maxFrameBytes?: number;
  /**
   * Cap on how deeply objects and arrays nest in one incoming frame, for
   * {@linkcode Runtime.fetch} (the frame's own object is level 1). A deeper
   * frame is refused with `INVALID_REQUEST` naming the cap, checked by a
   * linear scan before parsing, and the connection carries on.
   * @default {64}
   */
  maxJsonDepth?: number;
  /**
   * Incoming frames a connection of {@linkcode Runtime.fetch} may have
   * waiting for the runtime to read them. A WebSocket cannot be paused, so
   * past this the connection gets a `session.error` (`INTERNAL_ERROR`)
   * naming the cap and is closed; the frames still queued are dropped
   * unanswered, as are frames queued when any connection closes.
   * @default {1024}
   */
  maxQueuedFrames?: number;
  /**
   * Total size of the incoming frames a connection of
   * {@linkcode Runtime.fetch} may have waiting, in bytes (UTF-16 code units
   * of their text); past it, as for `maxQueuedFrames`.
   * @default {8388608}
   */
  maxQueuedBytes?: number;
  /**
   * Connections served at once, over {@linkcode Runtime.fetch} and
   * {@linkcode Runtime.accept} together. Past it, `fetch` answers HTTP 503
   * and `accept` sends `session.error` (`INTERNAL_ERROR`) and closes the
   * transport, both naming the cap.
   * @default {4096}
   */
  maxConnections?: number;
  /**
   * Seconds between SSE comment lines on an idle event stream of the HTTP
   * binding (docs/http-binding.md), so proxies and load balancers that close
   * idle responses leave it open; 0 disables them. Heartbeats
   * (`heartbeatIntervalSec`) keep their own meaning beside them.
   * @default {15}
   */
  httpKeepAliveSec?: number;
  /**
   * Milliseconds a new connection has to complete `session.hello` or
   * `session.resume`; then it gets `session.error` (`UNAUTHENTICATED`)
   * naming the deadline and is closed.
   * @default {10000}
   */
  helloTimeoutMs?: number;
  /**
   * Sessions one principal may have connected at once (spec 1.1 §14
   * "Heartbeat amplification"). A hello or resume past it is refused with
   * `INTERNAL_ERROR` naming the cap; a refused resume leaves the session
   * resumable. Counted per runtime instance.
   * @default {1024}
   */
  maxSessionsPerPrincipal?: number;
  /**
   * Jobs one principal may have running at once on this runtime instance,
   * delegated ones included. A `job.submit` past it is refused with
   * `INTERNAL_ERROR` (spec 1.0 §14: exceeded limits surface as
   * `INTERNAL_ERROR`; it is retryable once a job ends).
   * @default {1024}
   */
  maxRunningJobsPerPrincipal?: number;
  /**
   * Seconds a connected session may go without throughput before it is
   * disconnected (spec 1.1 §14: sustained zero-throughput sessions are
   * disconnect-eligible): no message from the client other than
   * `session.ping`, `session.pong` and `session.ack`, while it has no
   * running job and no subscription. The connection gets `session.error`
   * (`INTERNAL_ERROR`) naming the limit and is closed; the session stays
   * resumable. 0 disables.
   * @default {900}
   */
  idleSessionSec?: number;
  /** Needed by {@linkcode Runtime.fetch}: e.g. `Deno.upgradeWebSocket`. */
  upgradeWebSocket?: UpgradeWebSocket;
  /**
   * URL path at which {@linkcode Runtime.fetch} accepts WebSockets (spec §4.1).
   * @default {"/arcp"}
   */
  path?: string;
  /**
   * Cap on the events a session retains for resume (spec 1.0 §14). With
   * `ack` negotiated, events are retained until acknowledged; without it,
   * the oldest events already written to the connection are trimmed past
   * this cap, and a resume from before them gets `RESUME_WINDOW_EXPIRED`.
   * Emitters wait while more than three quarters of it is not yet written
   * to a connection (with none attached, until a client resumes; past the
   * resume window, the job ends with `INTERNAL_ERROR`). An emit that finds the cap
   * full of events not yet delivered (or, with `ack`, acknowledged) fails
   * with `INTERNAL_ERROR` and ends its job: only an agent that does not
   * await its emitters, or an `ackWindow` over this cap, gets there.
   * @default {100000}
   */
  maxBufferedEvents?: number;
  /**
   * Cap on the approximate bytes (encoded JSON) of the events a session
   * retains for resume, applied as {@linkcode RuntimeOptions.maxBufferedEvents}
   * is: trimming without `ack`, emitters waiting past three quarters of it
   * undelivered, `INTERNAL_ERROR` for an emit that finds it full.
   * @default {67108864}
   */
  maxBufferedBytes?: number;
  /**
   * Unacknowledged events after which emitters wait for the client's acks,
   * when `ack` is negotiated: a slow reader slows its agents (spec 1.1 §6.5).
   * Clients ack every few hundred milliseconds (§6.5), so this must cover
   * that long at full speed; keep it under `maxBufferedEvents`, which acks
   * alone free. Without `ack`, the transport's back-pressure paces emitters
   * instead.
   * @default {65536}
   */
  ackWindow?: number;
  /**
   * Consumer lag in events that triggers a `status {phase: "back_pressure"}`
   * event (spec 1.1 §6.5).
   * @default {32768}
   */
  backPressureLag?: number;
  /**
   * Seconds an idempotency key stays bound to its job (spec §7.2).
   * @default {86400}
   */
  idempotencyTtlSec?: number;
  /**
   * `job.submit` envelope ids each session remembers, of its latest submits. A
   * submit repeating a remembered id is a retransmission (spec 1.0 §5,
   * §7.2): it gets the same `job.accepted` and starts no job, or
   * `INVALID_REQUEST` when its parameters differ. An id older than the last
   * `recentSubmitIds` submits, or one resent after a runtime restart or
   * to another runtime instance, is not recognised (the ids are kept in
   * memory); use `idempotency_key` where that matters. 0 turns it off.
   * @default {256}
   */
  recentSubmitIds?: number;
  /**
   * Whether `subscriber` may observe a job another principal submitted
   * (spec 1.1 §7.6, §14). The default allows only the submitter.
   */
  subscribePolicy?: (subscriber: Principal, job: JobRecord) => boolean | Promise<boolean>;
  /** Told of every `job.subscribe` decision, for audit trails (spec 1.1 §14). */
  onSubscribe?: (audit: SubscribeAudit) => void;
  /**
   * The clock every deadline of the runtime reads and every timer of it is
   * set with: leases, resume windows, idempotency keys, idle sessions, the
   * hello timeout, heartbeats, instance heartbeats, job cancellation grace.
   * Inject one in tests instead of sleeping.
   * @default {systemClock}
   */
  clock?: Clock;
  /**
   * The clock leases expire by, in milliseconds since the epoch.
   * @deprecated Use `clock`; when both are given, this one overrides
   * `clock.now`.
   */
  now?: () => number;
  /**
   * Milliseconds after `expires_at` before a lease counts as expired (spec
   * 1.1 §14 suggests a small bounded grace).
   * @default {1000}
   */
  leaseExpiryGraceMs?: number;
  /**
   * Whether a lease without `model.use` forbids every model (spec 1.1 §9.7);
   * otherwise it allows any.
   * @default {false}
   */
  requireModelLease?: boolean;
  /**
   * What agents' `ctx.fetch` calls once the lease allows the URL.
   * @default {globalThis.fetch}
   */
  fetch?: typeof fetch;
  /**
   * Bytes per `result_chunk` of a streamed result (spec 1.1 §8.4); at most
   * 1 MiB (spec 1.1 §14).
   * @default {65536}
   */
  resultChunkBytes?: number;
  /**
   * Cap on a streamed result's total size in bytes; beyond it the job ends
   * with `INTERNAL_ERROR` (spec 1.1 §14).
   * @default {268435456}
   */
  maxResultBytes?: number;
  /**
   * Mints a short-lived credential per job at an upstream and revokes it when
   * the job ends (spec 1.1 §9.8). Configuring one advertises the
   * `provisioned_credentials` feature; outstanding credentials are kept in
   * the store's ledger and revoked after a restart too.
   */
  provisioner?: CredentialProvisioner;
  /** Backoff of failed revocations (spec 1.1 §14). */
  revocationRetry?: RevocationRetry;
  /**
   * Told of a credential still live after every revocation attempt: an
   * operator must act (spec 1.1 §14). It is also logged, and retried at the
   * next start; see {@linkcode Runtime.outstandingCredentials}.
   */
  onUnrevocable?: (record: CredentialRecord) => void;
  /** May narrow each requested lease, never widen it (spec 1.1 §9.2). */
  leasePolicy?: LeasePolicy;
  /**
   * Ends a job with `LEASE_EXPIRED` as soon as its lease expires (plus the
   * grace), rather than at its next lease-checked operation (spec 1.1 §9.5).
   * @default {false}
   */
  terminateOnLeaseExpiry?: boolean;
  /**
   * Milliseconds this runtime instance's heartbeat in the store stays valid;
   * it is renewed every quarter of that. Several instances may share one
   * store (Deno Deploy isolates on one KV): once an instance's heartbeat has
   * expired, another ends its unfinished jobs with `INTERNAL_ERROR`, marks
   * its sessions detached and revokes its credentials. Longer tolerates
   * longer stalls; shorter reports a lost job sooner.
   * @default {4000}
   */
  instanceTtlMs?: number;
  /**
   * Milliseconds between two reads of a session log that another instance
   * writes (a job running there, followed from here), on top of the store's
   * change notifications, which may miss other processes' writes (a local
   * Deno KV file does).
   * @default {1000}
   */
  storePollMs?: number;
  /** Where diagnostics go; silent by default. */
  logger?: Pick<Console, "debug" | "warn" | "error">;
}

/** Options of {@linkcode Runtime.accept}. */
export interface AcceptOptions {
  /** Closes this connection when aborted; its session and jobs live on. */
  signal?: AbortSignal;
}
