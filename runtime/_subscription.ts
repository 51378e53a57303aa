// This module is browser compatible.
// One session observing another session's job (spec 1.1 §7.6): the job's
// events, re-stamped into the subscriber's own session and seq space.

import { encodeMessage } from "../protocol/envelope.ts";
import { newMessageId } from "../protocol/ids.ts";
import type { Clock } from "../protocol/clock.ts";
import type { Envelope } from "../protocol/messages.ts";
import type { RuntimeStore } from "../store/types.ts";
import type { RuntimeSession } from "./_session.ts";
import { followLog } from "./_shared_store.ts";

/** What following a job that runs on another instance reads of the runtime. */
export interface FollowScope {
  readonly store: RuntimeStore;
  /** Milliseconds between two reads of the log when no notification comes. */
  readonly storePollMs: number;
  /** Aborted when the runtime closes: ends the follow. */
  readonly closing: AbortSignal;
  /** Times the polling and the reader registration. */
  readonly clock: Clock;
  readonly logger: Pick<Console, "warn">;
}

/** Whether an event hands over a credential's value (spec 1.1 §9.8.2). */
function isCredentialRotation(envelope: Envelope): boolean {
  const payload = envelope.payload as { kind?: unknown; body?: { phase?: unknown } };
  return envelope.type === "job.event" && payload.kind === "status" &&
    payload.body?.phase === "credential_rotated";
}

/** The rotation event without the value, for observers other than the submitter (spec 1.1 §14). */
function withoutValue(payload: Record<string, unknown>): Record<string, unknown> {
  const { value: _secret, ...body } = payload.body as Record<string, unknown>;
  return { ...payload, body };
}

export class Subscription {
  readonly session: RuntimeSession;
  readonly jobId: string;
  readonly #onEnd: (subscription: Subscription) => void;
  /** Whether the subscriber is another principal than the submitter: it never sees credential values. */
  readonly #redact: boolean;
  /** Live events that arrived while history was being replayed. */
  #pending: Array<[Envelope & { job_id: string }, number]> | undefined = [];
  readonly #ended = new AbortController();

  constructor(
    session: RuntimeSession,
    jobId: string,
    owner: string,
    onEnd: (subscription: Subscription) => void,
  ) {
    this.session = session;
    this.jobId = jobId;
    this.#redact = session.principal.id !== owner;
    this.#onEnd = onEnd;
  }

  get ended(): boolean {
    return this.#ended.signal.aborted;
  }

  /** Aborted when the subscription ends. */
  get signal(): AbortSignal {
    return this.#ended.signal;
  }

  /** A live event of the job; held until the history replay is done. */
  deliver(envelope: Envelope & { job_id: string }, size: number): void {
    if (this.#pending !== undefined) this.#pending.push([envelope, size]);
    else this.forward(envelope, size);
  }

  /** Ends the replay: the held live events follow it, then delivery is direct. */
  goLive(): void {
    const pending = this.#pending ?? [];
    this.#pending = undefined;
    for (const [envelope, size] of pending) this.forward(envelope, size);
  }

  /** Re-stamps an event of the job into the subscriber's session. */
  forward(envelope: Envelope & { job_id: string }, size: number): void {
    if (this.ended) return;
    const terminal = envelope.type === "job.result" || envelope.type === "job.error";
    const copy: Envelope & { job_id: string } = {
      arcp: envelope.arcp,
      id: newMessageId(),
      type: envelope.type,
      session_id: this.session.id,
      job_id: envelope.job_id,
      event_seq: 0,
      payload: this.#redact && isCredentialRotation(envelope)
        ? withoutValue(envelope.payload as Record<string, unknown>)
        : envelope.payload,
    };
    if (envelope.trace_id !== undefined) copy.trace_id = envelope.trace_id;
    try {
      void this.session.emit(copy, size, terminal);
    } catch {
      // The subscriber's buffer is full: observing stops, the job goes on.
      this.#stop(
        "this session's event buffer is full; acknowledge events, then subscribe again",
      );
      return;
    }
    if (terminal) this.end();
  }

  /** The job's end will never be stored (its session's log failed): observing stops. */
  lost(): void {
    this.#stop("the job's events can no longer be stored");
  }

  /** Ends the subscription and tells the subscriber why, so its handle does not wait forever. */
  #stop(why: string): void {
    if (this.ended) return;
    this.end();
    void this.session.send(encodeMessage("session.error", {
      code: "INTERNAL_ERROR",
      message: `The subscription to job ${this.jobId} ended: ${why}`,
      retryable: true,
    }, { session_id: this.session.id, job_id: this.jobId }));
  }

  end(): void {
    if (this.ended) return;
    this.#ended.abort();
    this.#onEnd(this);
  }
}

/**
 * Feeds `subscription` the events of a job that runs on another runtime
 * instance, read from its session's log after `after` as they are appended,
 * until the job's terminal event (or the subscription's end).
 */
export async function followElsewhere(
  core: FollowScope,
  subscription: Subscription,
  sessionId: string,
  after: number,
): Promise<void> {
  const signal = AbortSignal.any([subscription.signal, core.closing]);
  try {
    for await (
      const event of followLog(core.store, sessionId, after, core.storePollMs, signal, core.clock)
    ) {
      if (event.job_id === subscription.jobId) subscription.forward(event, 0);
      if (subscription.ended) return;
    }
  } catch (error) {
    core.logger.warn(`arcp runtime: cannot follow job ${subscription.jobId}`, error);
    subscription.end();
  }
}

/**
 * A subscription of `session` to `jobId` (submitted by principal `owner`)
 * that unregisters itself from both ends when it ends.
 */
export function observe(
  session: RuntimeSession,
  jobId: string,
  live: { subscribe(s: Subscription): void; unsubscribe(s: Subscription): void } | undefined,
  owner: string,
): Subscription {
  const subscription = new Subscription(session, jobId, owner, (ended) => {
    live?.unsubscribe(ended);
    if (session.subscriptions.get(jobId) === ended) session.subscriptions.delete(jobId);
  });
  session.subscriptions.set(jobId, subscription);
  live?.subscribe(subscription);
  return subscription;
}
