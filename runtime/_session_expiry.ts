// This module is browser compatible.
// When a detached session stops being resumable (spec §6.3): its resume
// window is timed on the runtime's clock, and it is deleted only once no
// instance holds it and none of its jobs still runs.

import type { ClockTimer } from "../protocol/clock.ts";
import { isoAt } from "../protocol/clock.ts";
import type { RuntimeConfig } from "./_config.ts";
import type { LiveState, RuntimePolicies, RuntimeServices } from "./_core.ts";
import type { InstanceView } from "./_instance.ts";
import { jobsElsewhere, windowPassed } from "./_recovery.ts";
import type { RuntimeSession } from "./_session.ts";

/** What expiry reads of the runtime. */
export interface ExpiryScope
  extends
    Pick<RuntimeConfig, "resumeWindowSec" | "instanceId">,
    Pick<RuntimePolicies, "clock" | "logger">,
    Pick<RuntimeServices, "store">,
    LiveState {
  /** The live and dead instances sharing the store. */
  instances(): Promise<InstanceView>;
  /** Keeps a store write among those the runtime's close waits for. */
  track(task: Promise<void>): void;
}

/** The resume windows of this runtime's detached sessions. */
export class SessionExpiry {
  readonly #scope: ExpiryScope;
  readonly #timers = new Map<string, ClockTimer>();
  #closed = false;

  constructor(scope: ExpiryScope) {
    this.#scope = scope;
  }

  /** A session lost its connection: its detachment is stored and its window starts. */
  detached(session: RuntimeSession): void {
    if (session.attached) return;
    this.#scope.track(session.updateRecord({
      detached_at: session.record.detached_at ?? isoAt(this.#scope.clock),
      acked_seq: session.ackedSeq,
    }));
    this.schedule(session.id, this.#scope.resumeWindowSec * 1000);
  }

  /** A session was resumed: it no longer expires. */
  cancel(sessionId: string): void {
    this.#scope.clock.clearTimeout(this.#timers.get(sessionId));
    this.#timers.delete(sessionId);
  }

  /** Looks at a session again in `delayMs` milliseconds, unless a look is due already. */
  schedule(sessionId: string, delayMs: number): void {
    if (this.#closed || this.#timers.has(sessionId)) return;
    const timer = this.#scope.clock.setTimeout(() => this.#expire(sessionId), Math.max(0, delayMs));
    this.#timers.set(sessionId, timer);
  }

  /** Stops every timer: the runtime is closing. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) this.#scope.clock.clearTimeout(timer);
    this.#timers.clear();
  }

  #expire(sessionId: string): void {
    const scope = this.#scope;
    this.#timers.delete(sessionId);
    const session = scope.sessions.get(sessionId);
    if (session?.attached) return;
    // A session with running jobs stays: their events must stay resumable.
    if (session !== undefined && session.jobs.size > 0) {
      scope.track(this.#abandonUnheld(session));
      return this.schedule(sessionId, scope.resumeWindowSec * 1000);
    }
    scope.track(
      this.#expireStored(sessionId).catch((error) => {
        scope.logger.warn(`arcp runtime: cannot delete expired session ${sessionId}`, error);
      }),
    );
  }

  /**
   * Stops holding the agents of a session whose client did not come back
   * within the resume window, here or on another instance: their next
   * events past three quarters of a buffer cap end their jobs.
   */
  async #abandonUnheld(session: RuntimeSession): Promise<void> {
    // A store that cannot say whether another instance holds the session:
    // stop holding (the buffer caps bound what the jobs may then emit).
    const stored = await this.#scope.store.getSession(session.id).catch((error) => {
      this.#scope.logger.warn(`arcp runtime: cannot read session ${session.id}`, error);
      return undefined;
    });
    if (stored?.detached_at === null) return;
    session.abandon();
  }

  /**
   * Deletes an expired session, as the store sees it: another instance may
   * have resumed it since, or still run one of its jobs.
   */
  async #expireStored(sessionId: string): Promise<void> {
    const scope = this.#scope;
    const session = scope.sessions.get(sessionId);
    // After the session's pending record writes, or one would bring it back.
    await session?.updateRecord({});
    const stored = await scope.store.getSession(sessionId);
    const holder = stored?.instance_id;
    const heldElsewhere = holder !== undefined && holder !== scope.instanceId &&
      (await scope.instances()).live.has(holder);
    const now = scope.clock.now();
    if (stored !== undefined && !heldElsewhere) {
      if (!windowPassed(stored, now)) {
        const expiresAt = Date.parse(stored.detached_at ?? new Date(now).toISOString()) +
          stored.resume_window_sec * 1000;
        return this.schedule(sessionId, expiresAt - now);
      }
      if ((await jobsElsewhere(scope, sessionId)).length > 0) {
        return this.schedule(sessionId, scope.resumeWindowSec * 1000);
      }
    }
    const current = scope.sessions.get(sessionId);
    if (current !== undefined && (current.attached || current.jobs.size > 0)) return;
    for (const subscription of current?.subscriptions.values() ?? []) subscription.end();
    scope.sessions.delete(sessionId);
    if (stored !== undefined && !heldElsewhere) await scope.store.deleteSession(sessionId);
  }
}
