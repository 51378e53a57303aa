// This module is browser compatible.
// What hangs on a session's envelopes reaching its log: a terminal envelope
// is stored only once its job's record is (a gate), and a subscription from
// another session sees an envelope only once it is stored (spec 1.1 §7.6).
// A gate is opened (its record written) only once every envelope before it
// is stored: a record never holds an end whose job's events a crash can lose.

import type { Envelope } from "../protocol/messages.ts";

export class StoreHooks {
  /** Terminal envelopes that may be stored only once their job's record is: each with the write of that record. */
  readonly #gates = new Map<Envelope, () => Promise<void>>();
  /** Told once their envelope is stored, or that it never will be. */
  readonly #onStored = new Map<Envelope, (stored: boolean) => void>();

  /** Whether some envelope waits on a gate: only then is a batch checked for one. */
  get gated(): boolean {
    return this.#gates.size > 0;
  }

  /** Hangs `gate` and `onStored` (either may be absent) on `envelope`. */
  add(envelope: Envelope, gate?: () => Promise<void>, onStored?: (stored: boolean) => void): void {
    if (gate !== undefined) this.#gates.set(envelope, gate);
    if (onStored !== undefined) this.#onStored.set(envelope, onStored);
  }

  /**
   * How many of `queue` (at most `limit`) to store before the next gate: everything up to the
   * first gated envelope after the head, so a gate is only ever at the head
   * of what is stored next, with everything before it already stored.
   */
  beforeNextGate(queue: readonly Envelope[], limit: number): number {
    for (let i = 1; i < limit; i++) if (this.#gates.has(queue[i]!)) return i;
    return limit;
  }

  /** Writes the record of the job ending at the head of `frames`, if it ends there, and waits for it. */
  async openGate(frames: readonly Envelope[]): Promise<void> {
    const head = frames[0];
    const gate = head === undefined ? undefined : this.#gates.get(head);
    if (gate === undefined) return;
    this.#gates.delete(head!);
    await gate();
  }

  /** `frames` are stored: whoever waited on them is told. */
  stored(frames: readonly Envelope[]): void {
    if (this.#onStored.size === 0) return;
    for (const frame of frames) {
      const onStored = this.#onStored.get(frame);
      if (onStored === undefined) continue;
      this.#onStored.delete(frame);
      onStored(true);
    }
  }

  /** The unstored envelopes of the jobs in `jobIds` were dropped: nobody is told of them. */
  drop(jobIds: ReadonlyMap<string, unknown>): void {
    for (const frame of this.#onStored.keys()) {
      if (jobIds.has(frame.job_id!)) this.#onStored.delete(frame);
    }
    // Their jobs still settle: their records are written all the same.
    for (const [frame, gate] of this.#gates) {
      if (!jobIds.has(frame.job_id!)) continue;
      this.#gates.delete(frame);
      void gate();
    }
  }

  /** Nothing more will be stored: the gates are dropped, and whoever waited is told. */
  fail(): void {
    // Their jobs still settle: their records are written all the same.
    const gates = [...this.#gates.values()];
    this.#gates.clear();
    for (const gate of gates) void gate();
    const unstored = [...this.#onStored.values()];
    this.#onStored.clear();
    for (const onStored of unstored) onStored(false);
  }
}
