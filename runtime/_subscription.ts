// This module is browser compatible.
// One session observing another session's job (spec 1.1 §7.6): the job's
// events, re-stamped into the subscriber's own session and seq space.

import { newMessageId } from "../protocol/ids.ts";
import type { Envelope } from "../protocol/messages.ts";
import type { RuntimeSession } from "./_session.ts";

export class Subscription {
  readonly session: RuntimeSession;
  readonly jobId: string;
  readonly #onEnd: (subscription: Subscription) => void;
  /** Live events that arrived while history was being replayed. */
  #pending: Array<[Envelope & { job_id: string }, number]> | undefined = [];
  #ended = false;

  constructor(session: RuntimeSession, jobId: string, onEnd: (subscription: Subscription) => void) {
    this.session = session;
    this.jobId = jobId;
    this.#onEnd = onEnd;
  }

  get ended(): boolean {
    return this.#ended;
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
    if (this.#ended) return;
    const terminal = envelope.type === "job.result" || envelope.type === "job.error";
    const copy: Envelope & { job_id: string } = {
      arcp: envelope.arcp,
      id: newMessageId(),
      type: envelope.type,
      session_id: this.session.id,
      job_id: envelope.job_id,
      event_seq: 0,
      payload: envelope.payload,
    };
    if (envelope.trace_id !== undefined) copy.trace_id = envelope.trace_id;
    try {
      void this.session.emit(copy, size, terminal);
    } catch {
      // The subscriber's buffer is full: observing stops, the job goes on.
      this.end();
      return;
    }
    if (terminal) this.end();
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd(this);
  }
}

/** A subscription of `session` to `jobId` that unregisters itself from both ends when it ends. */
export function observe(
  session: RuntimeSession,
  jobId: string,
  live: { subscribe(s: Subscription): void; unsubscribe(s: Subscription): void } | undefined,
): Subscription {
  const subscription = new Subscription(session, jobId, (ended) => {
    live?.unsubscribe(ended);
    if (session.subscriptions.get(jobId) === ended) session.subscriptions.delete(jobId);
  });
  session.subscriptions.set(jobId, subscription);
  live?.subscribe(subscription);
  return subscription;
}
