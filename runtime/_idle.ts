// This module is browser compatible.
// Disconnecting sessions that carry nothing (spec 1.1 §14 "Heartbeat
// amplification": sustained zero-throughput sessions are disconnect-eligible).
// Throughput is a request from the client or a job frame to it; heartbeats
// and acks are not, and a session with a running job or a subscription is
// never idle, however quiet its jobs are.

import type { Clock, ClockTimer } from "../protocol/clock.ts";
import type { RuntimeSession } from "./_session.ts";

/** Client messages that keep a connection alive without carrying work. */
const NOT_THROUGHPUT = new Set(["session.ping", "session.pong", "session.ack"]);

/** Whether a client message of `type` counts as throughput. */
export function isThroughput(type: unknown): boolean {
  return !NOT_THROUGHPUT.has(type as string);
}

/**
 * Watches one connected session. Touching it only stores the time: the timer
 * is re-armed when it fires, for what is left of the limit, so busy
 * connections cost no timer work per frame.
 */
export class IdleWatch {
  readonly #limitMs: number;
  readonly #session: RuntimeSession;
  readonly #onIdle: () => void;
  readonly #clock: Clock;
  #last: number;
  #timer: ClockTimer | undefined;

  /**
   * @param limitSec Seconds without throughput before `onIdle`.
   * @param session The session watched.
   * @param onIdle Called once, when the session has been idle that long.
   * @param clock Where the time and the timer come from.
   */
  constructor(limitSec: number, session: RuntimeSession, onIdle: () => void, clock: Clock) {
    this.#clock = clock;
    this.#last = clock.now();
    this.#limitMs = limitSec * 1000;
    this.#session = session;
    this.#onIdle = onIdle;
    this.#arm(this.#limitMs);
  }

  /** Something went through. */
  touch(): void {
    this.#last = this.#clock.now();
  }

  stop(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimeout(() => this.#check(), ms);
  }

  #check(): void {
    const session = this.#session;
    if (session.jobs.size > 0 || session.subscriptions.size > 0) this.touch();
    const left = this.#last + this.#limitMs - this.#clock.now();
    if (left > 0) return this.#arm(left);
    this.#timer = undefined;
    this.#onIdle();
  }
}
