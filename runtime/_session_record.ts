// This module is browser compatible.
// What a session shares with other runtime instances: its record, and its
// unstored events, renumbered after events another instance appended.
//
// The record: every change is made to the in-memory copy first,
// synchronously, then written in order, so no read-modify-write of the store
// undoes another (a detach racing a resume's token rotation). With several
// instances on one store, the record names the instance holding the session:
// only that one writes it, and a resume elsewhere takes it over only if the
// token it checked is still current.

import type { Envelope } from "../protocol/messages.ts";
import type { RuntimeStore, SessionRecord } from "../store/types.ts";
import { retried } from "./_retry.ts";

export class SharedRecord {
  /** The record as this instance knows it; replaced in place by newer stored copies. */
  readonly record: SessionRecord;
  readonly #store: RuntimeStore;
  readonly #instanceId: string;
  readonly #onStoreError: (error: unknown) => void;
  #persisting: Promise<void> = Promise.resolve();
  /** Whether the record has been in the store: once gone, it was deleted and stays so. */
  #stored: boolean;

  /**
   * @param record The record, copied.
   * @param store The shared store.
   * @param instanceId This runtime instance.
   * @param options Whether the record was read from the store (else it is
   *   new), and where write failures go.
   */
  constructor(
    record: SessionRecord,
    store: RuntimeStore,
    instanceId: string,
    options: { stored: boolean; onStoreError: (error: unknown) => void },
  ) {
    this.record = { ...record };
    this.#store = store;
    this.#instanceId = instanceId;
    this.#stored = options.stored;
    this.#onStoreError = options.onStoreError;
  }

  /**
   * Applies `patch` now and stores the record after every earlier write,
   * unless the stored record names another instance: that one took the
   * session over, and its record replaces this copy. A failing store is
   * retried; a write given up goes to the store error handler and, when
   * `required`, rejects the returned promise too.
   */
  update(patch: Partial<SessionRecord>, required = false): Promise<void> {
    Object.assign(this.record, patch);
    const snapshot = { ...this.record };
    const written = this.#write(async () => {
      // Readers elsewhere register themselves in the record: theirs is kept.
      const stored = await retried(() =>
        this.#store.updateSession(
          this.record.session_id,
          (current) => this.#ours(current) ? withReaders(snapshot, current) : undefined,
        )
      );
      if (stored !== undefined && stored !== snapshot && !this.#ours(stored)) this.#adopt(stored);
    });
    return written.catch((error) => {
      this.#onStoreError(error);
      if (required) throw error;
    });
  }

  /**
   * Replaces this copy with the stored record, after earlier writes landed.
   *
   * @returns `false` when there is no stored record: the session expired.
   */
  async reload(): Promise<boolean> {
    await this.#persisting;
    const stored = await this.#store.getSession(this.record.session_id);
    if (stored === undefined) return false;
    this.#adopt(stored);
    return true;
  }

  /**
   * Stores `patch` (a rotated token) and names this instance in the record,
   * whichever instance held it, provided the token is still the one this
   * copy had: a concurrent resume elsewhere must not be undone.
   *
   * @returns Whether the session is now held here with `patch`.
   */
  takeOver(patch: Partial<SessionRecord>): Promise<boolean> {
    const expected = this.record.resume_token_sha256;
    const next = { ...patch, instance_id: this.#instanceId };
    return this.#write(async () => {
      const stored = await this.#store.updateSession(
        this.record.session_id,
        (current) =>
          current?.resume_token_sha256 === expected ? { ...current, ...next } : undefined,
      );
      if (stored === undefined) return false;
      this.#adopt(stored);
      return stored.resume_token_sha256 === next.resume_token_sha256;
    });
  }

  /** Forgets the cancel requests of jobs that have ended. */
  dropCancelRequests(ended: ReadonlyMap<string, unknown>): Promise<void> {
    const requests = Object.entries(this.record.cancel_requests ?? {});
    if (!requests.some(([jobId]) => ended.has(jobId))) return Promise.resolve();
    const pending = requests.filter(([jobId]) => !ended.has(jobId));
    return this.update({ cancel_requests: Object.fromEntries(pending) });
  }

  #ours(current: SessionRecord | undefined): boolean {
    if (current === undefined) return !this.#stored;
    return current.instance_id === undefined || current.instance_id === this.#instanceId;
  }

  /** Runs a write after every earlier one; the chain goes on after a failure. */
  #write<T>(task: () => Promise<T>): Promise<T> {
    const done = this.#persisting.then(task);
    this.#persisting = done.then(() => {
      this.#stored = true;
    }, () => {});
    return done;
  }

  #adopt(stored: SessionRecord): void {
    const record = this.record as unknown as Record<string, unknown>;
    for (const key of Object.keys(record)) if (!(key in stored)) delete record[key];
    Object.assign(this.record, stored);
    this.#stored = true;
  }
}

function withReaders(record: SessionRecord, current: SessionRecord | undefined): SessionRecord {
  const { readers: _mine, ...rest } = record;
  return current?.readers === undefined ? rest : { ...rest, readers: current.readers };
}

/**
 * Gives the sequenced envelopes of `lists` (in
 * order, none stored yet) the seqs after `last`, dropping those of jobs in
 * `ended` (another instance ended them). `sizes` are the envelopes' sizes,
 * in the same order.
 */
export function renumberAfter(
  last: number,
  lists: readonly Envelope[][],
  options: { sizes: readonly number[]; ended: ReadonlyMap<string, unknown> },
): { lists: Envelope[][]; sizes: number[]; droppedBytes: number; last: number } {
  const sizes: number[] = [];
  let droppedBytes = 0;
  let index = 0;
  let next = last + 1;
  const keep = (envelope: Envelope) => {
    if (envelope.event_seq === undefined) return true;
    const size = options.sizes[index++] ?? 0;
    if (options.ended.has(envelope.job_id!)) {
      droppedBytes += size;
      return false;
    }
    sizes.push(size);
    envelope.event_seq = next++;
    return true;
  };
  return { lists: lists.map((list) => list.filter(keep)), sizes, droppedBytes, last: next - 1 };
}
