// This module is browser compatible.
// What a session retains of its log until the client acknowledges it (spec
// 1.1 §6.5): the event_seq counters, the estimated size of every retained
// event, the per-session caps (spec 1.0 §14), the ack window emitters wait
// on and the back-pressure notice, and the trimming of the stored log.

import { ArcpError } from "../protocol/errors.ts";
import type { Envelope } from "../protocol/messages.ts";
import type { RuntimeStore, TerminalEnvelope } from "../store/types.ts";
import type { SessionLimits } from "./_session.ts";
import { renumberAfter } from "./_session_record.ts";
import { trimShared } from "./_shared_store.ts";

/** Acknowledged events freed per store trim. */
const TRIM_STEP = 256;

const RESOLVED: Promise<void> = Promise.resolve();

export class SessionRetention {
  readonly #sessionId: string;
  readonly #store: RuntimeStore;
  readonly #limits: SessionLimits;
  readonly #onStoreError: (error: unknown) => void;
  #lastSeq: number;
  #storedSeq: number;
  #ackedSeq: number;
  #trimmedSeq: number;
  /** Estimated sizes of retained events, `sizes[i]` for seq `trimmedSeq + 1 + i`. */
  #sizes: number[] = [];
  #sizesOffset = 0;
  #bufferedBytes = 0;
  #lagNotified = false;
  #trimming: Promise<void> = RESOLVED;
  #ackWaiters: Array<{ seq: number; resolve(): void }> = [];

  /**
   * @param session The session's id, its store, its caps, and where trim
   *   failures go.
   * @param restored The log's end and trim point, for a session read from the store.
   */
  constructor(
    session: {
      id: string;
      store: RuntimeStore;
      limits: SessionLimits;
      onStoreError: (error: unknown) => void;
    },
    restored: { lastSeq: number; trimmedSeq: number },
  ) {
    this.#sessionId = session.id;
    this.#store = session.store;
    this.#limits = session.limits;
    this.#onStoreError = session.onStoreError;
    this.#lastSeq = restored.lastSeq;
    this.#storedSeq = restored.lastSeq;
    this.#ackedSeq = restored.trimmedSeq;
    this.#trimmedSeq = restored.trimmedSeq;
    // Events restored from the store count toward the caps at no size.
    this.#sizes = new Array(restored.lastSeq - restored.trimmedSeq).fill(0);
  }

  /** The highest event_seq assigned so far. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** The highest event_seq in the store. */
  get storedSeq(): number {
    return this.#storedSeq;
  }

  /** The highest event_seq the client acknowledged. */
  get ackedSeq(): number {
    return this.#ackedSeq;
  }

  /**
   * Assigns the next event_seq to an event of about `size` bytes.
   *
   * @throws {ArcpError} `INTERNAL_ERROR` when the session's buffer is full;
   *   terminal envelopes (`force`) are always taken.
   */
  sequence(size: number, force: boolean): number {
    const retained = this.#lastSeq - this.#trimmedSeq;
    if (
      !force &&
      (retained >= this.#limits.maxBufferedEvents ||
        this.#bufferedBytes + size > this.#limits.maxBufferedBytes)
    ) {
      throw new ArcpError(
        "INTERNAL_ERROR",
        `Session ${this.#sessionId} buffer is full: ${retained} unacknowledged events, about ${this.#bufferedBytes} bytes ` +
          `(limits ${this.#limits.maxBufferedEvents} events, ${this.#limits.maxBufferedBytes} bytes)`,
        { retryable: false },
      );
    }
    this.#sizes.push(size);
    this.#bufferedBytes += size;
    return ++this.#lastSeq;
  }

  /**
   * Resolves once the client has acknowledged all but an ack window of the
   * events sequenced so far; `undefined` when it already has.
   */
  ackWindowWait(): Promise<void> | undefined {
    if (this.#lastSeq - this.#ackedSeq <= this.#limits.ackWindow) return undefined;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#ackWaiters.push({ seq: this.#lastSeq - this.#limits.ackWindow, resolve });
    return promise;
  }

  /**
   * The consumer lag to report as a `back_pressure` status, once each time it
   * crosses the threshold (spec 1.1 §6.5); `undefined` otherwise.
   */
  backPressureNotice(): number | undefined {
    const lag = this.#lastSeq - this.#ackedSeq;
    if (lag < this.#limits.backPressureLag / 2) this.#lagNotified = false;
    if (lag <= this.#limits.backPressureLag || this.#lagNotified) return undefined;
    this.#lagNotified = true;
    return lag;
  }

  /** Records `session.ack` (spec 1.1 §6.5) and frees what it covers. */
  acknowledge(seq: number): void {
    if (seq <= this.#ackedSeq) return;
    this.#ackedSeq = Math.min(seq, this.#lastSeq);
    this.releaseAckWaiters(this.#ackedSeq);
    this.#free(this.#ackedSeq);
  }

  /** Marks the log stored through `seq`. */
  stored(seq: number): void {
    this.#storedSeq = seq;
  }

  /** Frees what acks covered while it was not yet stored. */
  freeAcknowledged(): void {
    if (this.#ackedSeq > this.#trimmedSeq) this.#free(this.#ackedSeq);
  }

  /** Wakes the emitters waiting for acks through `acked` (all of them: `Infinity`). */
  releaseAckWaiters(acked: number): void {
    if (this.#ackWaiters.length === 0) return;
    this.#ackWaiters = this.#ackWaiters.filter((waiter) => {
      if (waiter.seq > acked) return true;
      waiter.resolve();
      return false;
    });
  }

  /**
   * Makes room for the events other instances appended after the stored
   * ones, through `last`: the unstored events of `lists` are renumbered after
   * them, and those of the jobs in `ended` dropped.
   *
   * @returns `lists`, renumbered and without the dropped events.
   */
  admitForeign(
    last: number,
    lists: readonly Envelope[][],
    ended: ReadonlyMap<string, TerminalEnvelope>,
  ): Envelope[][] {
    const from = this.#storedSeq;
    const retained = this.#sizesOffset + from - this.#trimmedSeq;
    const renumbered = renumberAfter(last, lists, {
      sizes: this.#sizes.slice(retained),
      ended,
    });
    this.#lastSeq = renumbered.last;
    this.#bufferedBytes -= renumbered.droppedBytes;
    // Other instances' events count toward the caps at no size.
    this.#sizes = [
      ...this.#sizes.slice(this.#sizesOffset, retained),
      ...new Array<number>(last - from).fill(0),
      ...renumbered.sizes,
    ];
    this.#sizesOffset = 0;
    return renumbered.lists;
  }

  #free(through: number): void {
    const count = Math.min(through, this.#storedSeq) - this.#trimmedSeq;
    if (count <= 0) return;
    for (let i = 0; i < count; i++) this.#bufferedBytes -= this.#sizes[this.#sizesOffset + i] ?? 0;
    this.#sizesOffset += count;
    if (this.#sizesOffset > 4096) {
      this.#sizes = this.#sizes.slice(this.#sizesOffset);
      this.#sizesOffset = 0;
    }
    const previous = this.#trimmedSeq;
    this.#trimmedSeq += count;
    if (this.#trimmedSeq - previous >= TRIM_STEP || this.#trimmedSeq === this.#lastSeq) {
      this.#trimLog(this.#trimmedSeq);
    }
  }

  /** Trims the stored log through `through`, but never past what readers elsewhere still need. */
  #trimLog(through: number): void {
    this.#trimming = this.#trimming.then(() => trimShared(this.#store, this.#sessionId, through))
      .catch(this.#onStoreError);
  }
}
