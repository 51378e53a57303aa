// This module is browser compatible.
// What the runtime was configured with: plain data, built and frozen once by
// the Runtime, read by the modules that serve sessions. Nothing here changes
// while the runtime runs, and nothing here is live state.

import type { Feature } from "../protocol/messages.ts";

/** Per-session buffering limits. */
export interface SessionLimits {
  /** Events retained (not yet acknowledged or expired) before emitting fails. */
  readonly maxBufferedEvents: number;
  /** Approximate bytes retained before emitting fails. */
  readonly maxBufferedBytes: number;
  /** Unacknowledged events after which emitters wait for acks (with `ack` negotiated). */
  readonly ackWindow: number;
  /** Unacknowledged events after which a `back_pressure` status is emitted. */
  readonly backPressureLag: number;
  /** `job.submit` envelope ids remembered to recognise retransmissions. */
  readonly recentSubmitIds: number;
}

/** The runtime's settings, resolved from its options with their defaults. */
export interface RuntimeConfig {
  readonly name: string;
  readonly version: string;
  /** What `session.welcome` offers (spec 1.1 §6.2). */
  readonly features: readonly Feature[];
  readonly resumeWindowSec: number;
  readonly heartbeatIntervalSec: number;
  readonly cancelGraceMs: number;
  readonly idempotencyTtlSec: number;
  readonly limits: SessionLimits;
  /** Milliseconds a connection has to complete its handshake. */
  readonly helloTimeoutMs: number;
  /** Seconds a connected session may carry nothing before it is disconnected; 0 never. */
  readonly idleSessionSec: number;
  /** Grace after a lease's `expires_at`, in milliseconds (spec 1.1 §14). */
  readonly expiryGraceMs: number;
  /** Whether leases without `model.use` forbid every model (spec 1.1 §9.7). */
  readonly requireModelLease: boolean;
  /** Bytes per `result_chunk`, at most 1 MiB (spec 1.1 §8.4, §14). */
  readonly resultChunkBytes: number;
  /** Cap on a streamed result's total size in bytes; beyond it the job fails with INTERNAL_ERROR. */
  readonly maxResultBytes: number;
  /** Whether jobs end as soon as their lease expires (spec 1.1 §9.5). */
  readonly terminateOnExpiry: boolean;
  /** This runtime instance, among those sharing the store (see `_instance.ts`). */
  readonly instanceId: string;
  /** Milliseconds between two reads of a log another instance writes, when no notification comes. */
  readonly storePollMs: number;
}
