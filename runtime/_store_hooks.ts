// This module is browser compatible.
// What hangs on a session's envelopes reaching its log: a terminal envelope
// is stored only once its job's record is (a gate), and a subscription from
// another session sees an envelope only once it is stored (spec 1.1 §7.6).

import type { Envelope } from "../protocol/messages.ts";

export class StoreHooks {
  /** Terminal envelopes that may be stored only once their job's record is. */
  readonly #gates = new Map<Envelope, Promise<void>>();
  /** Told once their envelope is stored, or that it never will be. */
  readonly #onStored = new Map<Envelope, (stored: boolean) => void>();

  /** Whether some envelope waits on a gate: only then is a batch checked for one. */
  get gated(): boolean {
    return this.#gates.size > 0;
  }

  /** Hangs `gate` and `onStored` (either may be absent) on `envelope`. */
  add(envelope: Envelope, gate?: Promise<void>, onStored?: (stored: boolean) => void): void {
    if (gate !== undefined) this.#gates.set(envelope, gate);
    if (onStored !== undefined) this.#onStored.set(envelope, onStored);
  }

  /** Waits until the jobs ending in `frames` have their ends stored. */
  async gates(frames: readonly Envelope[]): Promise<void> {
    for (const frame of frames) {
      const gate = this.#gates.get(frame);
      if (gate === undefined) continue;
      this.#gates.delete(frame);
      await gate;
    }
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
  }

  /** Nothing more will be stored: the gates are dropped, and whoever waited is told. */
  fail(): void {
    this.#gates.clear();
    const unstored = [...this.#onStored.values()];
    this.#onStored.clear();
    for (const onStored of unstored) onStored(false);
  }
}
