// This module is browser compatible.
// Liveness for one connection (spec 1.1 §6.4), the same on both sides: ping
// when nothing was sent for an interval, give up when nothing was received
// for two.

import { newId } from "../protocol/ids.ts";
import { isoTimestamp } from "./time.ts";
import type { SessionPingPayload } from "../protocol/messages.ts";

export class Heartbeat {
  readonly #intervalMs: number;
  readonly #ping: (payload: SessionPingPayload) => void;
  readonly #lost: () => void;
  #lastIn = Date.now();
  #lastOut = Date.now();
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param intervalSec The negotiated `heartbeat_interval_sec`.
   * @param ping Sends a `session.ping` with this payload.
   * @param lost Called once when the peer has been silent for two intervals.
   */
  constructor(intervalSec: number, ping: (payload: SessionPingPayload) => void, lost: () => void) {
    this.#intervalMs = intervalSec * 1000;
    this.#ping = ping;
    this.#lost = lost;
    // Checking at a quarter interval keeps detection within 2.25 intervals.
    this.#timer = setInterval(() => this.#tick(), Math.max(10, this.#intervalMs / 4));
  }

  /** Anything arrived from the peer. */
  received(): void {
    this.#lastIn = Date.now();
  }

  /** Anything was sent to the peer. */
  sent(): void {
    this.#lastOut = Date.now();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const now = Date.now();
    if (now - this.#lastIn >= 2 * this.#intervalMs) {
      this.stop();
      this.#lost();
    } else if (now - this.#lastOut >= this.#intervalMs) {
      this.#lastOut = now;
      this.#ping({ nonce: newId("ping"), sent_at: isoTimestamp(now) });
    }
  }
}
