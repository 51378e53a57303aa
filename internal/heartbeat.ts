// This module is browser compatible.
// Liveness for one connection (spec 1.1 §6.4), the same on both sides: ping
// when nothing was sent for an interval, give up when nothing was received
// for two.

import { type Clock, every, systemClock } from "../protocol/clock.ts";
import { newId } from "../protocol/ids.ts";
import { isoTimestamp } from "./time.ts";
import type { SessionPingPayload } from "../protocol/messages.ts";

export class Heartbeat {
  readonly #intervalMs: number;
  readonly #ping: (payload: SessionPingPayload) => void;
  readonly #lost: () => void;
  readonly #clock: Clock;
  #lastIn: number;
  #lastOut: number;
  #stopTimer: (() => void) | undefined;

  /**
   * @param intervalSec The negotiated `heartbeat_interval_sec`.
   * @param ping Sends a `session.ping` with this payload.
   * @param lost Called once when the peer has been silent for two intervals.
   * @param clock Where the time and the timer come from.
   */
  constructor(
    intervalSec: number,
    ping: (payload: SessionPingPayload) => void,
    lost: () => void,
    clock: Clock = systemClock,
  ) {
    this.#clock = clock;
    this.#lastIn = this.#lastOut = clock.now();
    this.#intervalMs = intervalSec * 1000;
    this.#ping = ping;
    this.#lost = lost;
    // Checking at a quarter interval keeps detection within 2.25 intervals.
    this.#stopTimer = every(clock, Math.max(10, this.#intervalMs / 4), () => this.#tick());
  }

  /** Anything arrived from the peer. */
  received(): void {
    this.#lastIn = this.#clock.now();
  }

  /** Anything was sent to the peer. */
  sent(): void {
    this.#lastOut = this.#clock.now();
  }

  stop(): void {
    this.#stopTimer?.();
    this.#stopTimer = undefined;
  }

  #tick(): void {
    const now = this.#clock.now();
    if (now - this.#lastIn >= 2 * this.#intervalMs) {
      this.stop();
      this.#lost();
    } else if (now - this.#lastOut >= this.#intervalMs) {
      this.#lastOut = now;
      this.#ping({ nonce: newId("ping"), sent_at: isoTimestamp(now) });
    }
  }
}
