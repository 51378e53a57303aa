// This module is browser compatible.
// What the runtime's connections share, in narrow parts: the frozen
// configuration (`_config.ts`), the behaviour the options supply, the
// services the Runtime owns, the live sessions and jobs, and the hooks the
// Runtime class provides. Each module takes the parts it uses; only a
// connection takes them all. Modules that sessions and jobs themselves use
// (`_recovery.ts`, `_subscription.ts`) name their own narrower needs, so no
// import leads back here.

import type { Clock } from "../protocol/clock.ts";
import type { JobRecord, RuntimeStore } from "../store/types.ts";
import type { Authenticator, Principal } from "./auth.ts";
import type { LeasePolicy, SubscribeAudit } from "./context.ts";
import type { RuntimeConfig } from "./_config.ts";
import type { RuntimeJob } from "./_job.ts";
import type { CredentialLedger } from "./_credentials.ts";
import type { AgentRegistry } from "./_registry.ts";
import type { RuntimeSession } from "./_session.ts";
import type { SessionLogs } from "./_session_log.ts";
import type { PrincipalCounts } from "./_principal_counts.ts";
import type { RuntimeTelemetry } from "./_telemetry.ts";

/** Behaviour the runtime's options supply: set once, never changed. */
export interface RuntimePolicies {
  readonly authenticate: Authenticator | undefined;
  /** Whether a principal other than the submitter may observe a job (spec 1.1 §7.6). */
  subscribePolicy(subscriber: Principal, job: JobRecord): boolean | Promise<boolean>;
  /** Told of every subscribe decision (spec 1.1 §14). */
  auditSubscribe(audit: SubscribeAudit): void;
  readonly logger: Pick<Console, "debug" | "warn" | "error">;
  /** Milliseconds since the epoch: the clock leases expire by (`clock.now` unless overridden). */
  readonly now: () => number;
  /** Every time read and timer of the runtime. */
  readonly clock: Clock;
  /** What agents' `ctx.fetch` calls once authorised. */
  readonly fetch: typeof fetch;
  /** May narrow each requested lease (spec 1.1 §9.2); never widen it. */
  readonly leasePolicy: LeasePolicy | undefined;
}

/** What the Runtime owns and every connection uses. */
export interface RuntimeServices {
  readonly registry: AgentRegistry;
  readonly store: RuntimeStore;
  /** Issues and revokes provisioned credentials (spec 1.1 §9.8); absent without a provisioner. */
  readonly credentials: CredentialLedger | undefined;
  /** Sessions connected per principal, capped (spec 1.1 §14). */
  readonly connectedSessions: PrincipalCounts;
  /** Jobs running here per principal, capped. */
  readonly runningJobs: PrincipalCounts;
  /** Opens a session's log: shared when the store offers compare-and-append, chosen once. */
  readonly sessionLogs: SessionLogs;
  /** Aborted when the runtime closes: ends every watch of the store. */
  readonly closing: AbortSignal;
  /** Spans and metrics through `@opentelemetry/api` (docs/telemetry.md). */
  readonly telemetry: RuntimeTelemetry;
}

/** The sessions and jobs with live state in this process. */
export interface LiveState {
  /** Sessions with live state in this process. */
  readonly sessions: Map<string, RuntimeSession>;
  /** Jobs running in this process, by id. */
  readonly jobs: Map<string, RuntimeJob>;
}

/** What the Runtime class is told of, and does for its connections. */
export interface RuntimeHooks {
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

/** Every part: what one connection is given. */
export interface RuntimeCore
  extends RuntimeConfig, RuntimePolicies, RuntimeServices, LiveState, RuntimeHooks {}
