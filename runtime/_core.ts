// This module is browser compatible.
// What the runtime's connections share: configuration, live sessions and
// jobs, the store, and the hooks the Runtime class provides.

import type { Feature } from "../protocol/messages.ts";
import type { JobRecord, RuntimeStore } from "../store/types.ts";
import type { Authenticator, Principal } from "./auth.ts";
import type { SubscribeAudit } from "./context.ts";
import type { RuntimeJob } from "./_job.ts";
import type { CredentialLedger } from "./_credentials.ts";
import type { LeasePolicy } from "./context.ts";
import type { AgentRegistry } from "./_registry.ts";
import type { RuntimeSession, SessionLimits } from "./_session.ts";
import type { SessionLogs } from "./_session_log.ts";
import type { PrincipalCounts } from "./_principal_counts.ts";

export interface RuntimeCore {
  name: string;
  version: string;
  registry: AgentRegistry;
  authenticate: Authenticator | undefined;
  store: RuntimeStore;
  /** Sessions with live state in this process. */
  sessions: Map<string, RuntimeSession>;
  /** Jobs running in this process, by id. */
  jobs: Map<string, RuntimeJob>;
  features: readonly Feature[];
  resumeWindowSec: number;
  heartbeatIntervalSec: number;
  cancelGraceMs: number;
  idempotencyTtlSec: number;
  limits: SessionLimits;
  /** Milliseconds a connection has to complete its handshake. */
  helloTimeoutMs: number;
  /** Seconds a connected session may carry nothing before it is disconnected; 0 never. */
  idleSessionSec: number;
  /** Sessions connected per principal, capped (spec 1.1 §14). */
  connectedSessions: PrincipalCounts;
  /** Jobs running here per principal, capped. */
  runningJobs: PrincipalCounts;
  /** Whether a principal other than the submitter may observe a job (spec 1.1 §7.6). */
  subscribePolicy(subscriber: Principal, job: JobRecord): boolean | Promise<boolean>;
  /** Told of every subscribe decision (spec 1.1 §14). */
  auditSubscribe(audit: SubscribeAudit): void;
  logger: Pick<Console, "debug" | "warn" | "error">;
  /** Milliseconds since the epoch: the clock leases expire by. */
  now: () => number;
  /** Grace after a lease's `expires_at`, in milliseconds (spec 1.1 §14). */
  expiryGraceMs: number;
  /** Whether leases without `model.use` forbid every model (spec 1.1 §9.7). */
  requireModelLease: boolean;
  /** What agents' `ctx.fetch` calls once authorised. */
  fetch: typeof fetch;
  /** Bytes per `result_chunk`, at most 1 MiB (spec 1.1 §8.4, §14). */
  resultChunkBytes: number;
  /** Cap on a streamed result's total size in bytes; beyond it the job fails with INTERNAL_ERROR. */
  maxResultBytes: number;
  /** Issues and revokes provisioned credentials (spec 1.1 §9.8); absent without a provisioner. */
  credentials: CredentialLedger | undefined;
  /** May narrow each requested lease (spec 1.1 §9.2); never widen it. */
  leasePolicy: LeasePolicy | undefined;
  /** Whether jobs end as soon as their lease expires (spec 1.1 §9.5). */
  terminateOnExpiry: boolean;
  /** This runtime instance, among those sharing the store (see `_instance.ts`). */
  instanceId: string;
  /** Milliseconds between two reads of a log another instance writes, when no notification comes. */
  storePollMs: number;
  /** Opens a session's log: shared when the store offers compare-and-append, chosen once. */
  sessionLogs: SessionLogs;
  /** Aborted when the runtime closes: ends every watch of the store. */
  closing: AbortSignal;
  /** Runs `task` in the background; closing waits for it. */
  track(task: Promise<void>): void;
  /** Resolves once restart recovery is done; frames wait for it. */
  ready(): Promise<void>;
  /** Called when a session gains a connection: it must not expire. */
  attached(session: RuntimeSession): void;
  /** Called whenever a session loses its connection; it may expire after the resume window. */
  detached(session: RuntimeSession): void;
  /** Forgets an ended job as live once its end is stored (`stored`), and revokes its credentials. */
  settled(job: RuntimeJob, stored: boolean): void;
}
