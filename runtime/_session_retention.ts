// This module is browser compatible.
// What a session retains of its log for resume (spec §6.3): the event_seq
// counters, the estimated size of every retained event, the per-session caps
// (spec 1.0 §14) and the trimming of the stored log. With `ack` negotiated,
// events are freed once acknowledged (spec 1.1 §6.5) and emitters wait on the
// ack window; without it, the oldest events already written to a connection
// are freed to keep the log within the caps. Either way emitters wait while
// more than three quarters of a cap is undelivered, so the transport (or,
// without a connection, the client's return) paces them and the caps are
// never hit by an agent that awaits its emitters.

import { ArcpError } from "../protocol/errors.ts";
import type { Envelope } from "../protocol/messages.ts";
import type { TerminalEnvelope } from "../store/types.ts";
import type { SessionLimits } from "./_config.ts";
import type { SessionLog } from "./_session_log.ts";
import { renumberAfter } from "./_session_record.ts";

/** Freed events per store trim; without acks, delivered events are freed a step at a time. */
const TRIM_STEP = 256;

/**
 * Share of each cap that may be undelivered before emitters wait: the rest
 * is headroom for the event each waiting emitter already put in, events
 * emitted without awaiting, and subscriptions, which cannot wait.
 */
const UNDELIVERED_SHARE = 0.75;

const RESOLVED: Promise<void> = Promise.resolve();

export class SessionRetention {
  readonly #sessionId: string;
  readonly #log: Pick<SessionLog, "trim">;
  readonly #limits: SessionLimits;
  readonly #onStoreError: (error: unknown) => void;
  #lastSeq: number;
  #storedSeq: number;
  #ackedSeq: number;
  #trimmedSeq: number;
  /** Trimmed in the store (or being trimmed) through this seq. */
  #storeTrimmedSeq: number;
  /** Written to the attached (or last attached) connection through this seq. */
  #deliveredSeq: number;
  /** Estimated sizes of retained events, `sizes[sizesOffset + i]` for seq `trimmedSeq + 1 + i`. */
  #sizes: number[] = [];
  #sizesOffset = 0;
  #bufferedBytes = 0;
  /** Estimated bytes of the retained events after `deliveredSeq`. */
  #undeliveredBytes = 0;
  #lagNotified = false;
  #trimming: Promise<void> = RESOLVED;
  #ackWaiters: Array<{ seq: number; resolve(): void }> = [];
  /** Emitters waiting for the undelivered events to fall within their share of the caps. */
  #deliveryWaiters: PromiseWithResolvers<void> | undefined;
  /** Set when the resume window passed with events waiting for a client. */
  #abandoned = false;
  /**
   * Whether the client negotiated `ack`: events are then freed once
   * acknowledged; otherwise the oldest delivered ones are, past the caps.
   */
  acking = false;
  /**
   * Set while another instance holds the session: it delivers the log, and
   * only the trims it makes reach here, so emitters here do not wait for
   * delivery (the caps still apply).
   */
  #heldElsewhere = false;

  /**
   * @param session The session's id, its log, its caps, and where trim
   *   failures go.
   * @param restored The log's end and trim point, for a session read from the store.
   */
  constructor(
    session: {
      id: string;
      log: Pick<SessionLog, "trim">;
      limits: SessionLimits;
      onStoreError: (error: unknown) => void;
    },
    restored: { lastSeq: number; trimmedSeq: number },
  ) {
    this.#sessionId = session.id;
    this.#log = session.log;
    this.#limits = session.limits;
    this.#onStoreError = session.onStoreError;
    this.#lastSeq = restored.lastSeq;
    this.#storedSeq = restored.lastSeq;
    this.#ackedSeq = restored.trimmedSeq;
    this.#trimmedSeq = restored.trimmedSeq;
    this.#storeTrimmedSeq = restored.trimmedSeq;
    // Whether a client got the restored events is not known: until a resume
    // says so, they count as undelivered (at no size).
    this.#deliveredSeq = restored.trimmedSeq;
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
   * Assigns the next event_seq to an event of about `size` bytes. Without
   * acks, the oldest delivered events are freed to make room first.
   *
   * @throws {ArcpError} `INTERNAL_ERROR` when the session's buffer is full
   *   of events not yet delivered (or acknowledged), or the resume window
   *   passed while they waited for a client; terminal envelopes (`force`)
   *   are always taken.
   */
  sequence(size: number, force: boolean): number {
    if (!force) {
      if (!this.acking) this.#evict(size);
      const retained = this.#lastSeq - this.#trimmedSeq;
      if (
        retained >= this.#limits.maxBufferedEvents ||
        this.#bufferedBytes + size > this.#limits.maxBufferedBytes
      ) {
        throw this.#full(
          `${retained} events not yet ${this.acking ? "acknowledged" : "delivered"}`,
        );
      }
      if (this.#abandoned && this.#undelivered()) {
        throw this.#full(
          `${
            this.#lastSeq - this.#deliveredSeq
          } events waited for a client for the whole resume window`,
        );
      }
    }
    this.#sizes.push(size);
    this.#bufferedBytes += size;
    this.#undeliveredBytes += size;
    return ++this.#lastSeq;
  }

  #full(what: string): ArcpError {
    return new ArcpError(
      "INTERNAL_ERROR",
      `Session ${this.#sessionId} buffer is full: ${what}, about ${this.#bufferedBytes} bytes retained ` +
        `(maxBufferedEvents is ${this.#limits.maxBufferedEvents}, maxBufferedBytes is ${this.#limits.maxBufferedBytes})`,
      { retryable: false },
    );
  }

  /** Frees the oldest delivered events, a trim step at least, while an event of `size` would not fit. */
  #evict(size: number): void {
    const { maxBufferedEvents, maxBufferedBytes } = this.#limits;
    const limit = Math.min(this.#deliveredSeq, this.#storedSeq);
    let through = this.#trimmedSeq;
    let bytes = this.#bufferedBytes;
    while (
      through < limit &&
      (this.#lastSeq - through >= maxBufferedEvents || bytes + size > maxBufferedBytes ||
        (through > this.#trimmedSeq && through - this.#trimmedSeq < TRIM_STEP))
    ) {
      bytes -= this.#sizeOf(++through);
    }
    if (through > this.#trimmedSeq) this.#free(through);
  }

  #sizeOf(seq: number): number {
    return this.#sizes[this.#sizesOffset + seq - this.#trimmedSeq - 1] ?? 0;
  }

  /** Whether more than {@linkcode UNDELIVERED_SHARE} of a cap is undelivered: emitters wait then. */
  #undelivered(): boolean {
    return this.#lastSeq - this.#deliveredSeq >
        this.#limits.maxBufferedEvents * UNDELIVERED_SHARE ||
      this.#undeliveredBytes > this.#limits.maxBufferedBytes * UNDELIVERED_SHARE;
  }

  /**
   * Resolves once at most three quarters of each cap is undelivered;
   * `undefined` when that is already so.
   */
  deliveryWait(): Promise<void> | undefined {
    if (this.#abandoned || this.#heldElsewhere || !this.#undelivered()) return undefined;
    this.#deliveryWaiters ??= Promise.withResolvers();
    return this.#deliveryWaiters.promise;
  }

  /**
   * Records that the events through `seq` were written to the connection (or
   * acknowledged, here or on another instance): a client is there. Without
   * acks, what they push past the caps is freed.
   */
  delivered(seq: number): void {
    if (seq <= this.#deliveredSeq) return;
    const through = Math.min(seq, this.#lastSeq);
    for (let s = Math.max(this.#deliveredSeq, this.#trimmedSeq) + 1; s <= through; s++) {
      this.#undeliveredBytes -= this.#sizeOf(s);
    }
    this.#deliveredSeq = through;
    this.#abandoned = false;
    if (!this.acking) this.#evict(0);
    if (this.#deliveryWaiters !== undefined && !this.#undelivered()) this.#releaseDeliveryWaiters();
  }

  /**
   * A connection resumes after `seq`: that is what the client has, and the
   * events after it are undelivered again.
   *
   * @throws {ArcpError} `RESUME_WINDOW_EXPIRED` when the log no longer holds
   *   the events after `seq` (spec §6.3).
   */
  resumed(seq: number): void {
    if (seq < this.#trimmedSeq) {
      throw new ArcpError(
        "RESUME_WINDOW_EXPIRED",
        `Cannot resume after event_seq ${seq}: the log starts at ${this.#trimmedSeq + 1}`,
        { details: { first_available_seq: this.#trimmedSeq + 1 } },
      );
    }
    this.#abandoned = false;
    this.#heldElsewhere = false;
    this.#deliveredSeq = seq;
    this.#undeliveredBytes = 0;
    for (let s = Math.max(seq, this.#trimmedSeq) + 1; s <= this.#lastSeq; s++) {
      this.#undeliveredBytes += this.#sizeOf(s);
    }
  }

  /**
   * The resume window passed with no client: waiting emitters go on, and
   * the next events past three quarters of a cap are refused, which ends
   * their jobs.
   */
  abandon(): void {
    this.#abandoned = true;
    this.#releaseDeliveryWaiters();
  }

  /** Whether another instance holds the session now (see `#heldElsewhere`). */
  heldElsewhere(held: boolean): void {
    this.#heldElsewhere = held;
    if (held) this.#releaseDeliveryWaiters();
  }

  #releaseDeliveryWaiters(): void {
    this.#deliveryWaiters?.resolve();
    this.#deliveryWaiters = undefined;
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
    this.delivered(this.#ackedSeq);
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
    // Dropped events were unstored, so undelivered; other instances' count at no size.
    this.#undeliveredBytes -= renumbered.droppedBytes;
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
    for (let i = 0; i < count; i++) {
      const size = this.#sizes[this.#sizesOffset + i] ?? 0;
      this.#bufferedBytes -= size;
      // Acknowledged before it was written: it will not be.
      if (this.#trimmedSeq + 1 + i > this.#deliveredSeq) this.#undeliveredBytes -= size;
    }
    this.#sizesOffset += count;
    if (this.#sizesOffset > 4096) {
      this.#sizes = this.#sizes.slice(this.#sizesOffset);
      this.#sizesOffset = 0;
    }
    this.#trimmedSeq += count;
    if (
      this.#trimmedSeq - this.#storeTrimmedSeq >= TRIM_STEP || this.#trimmedSeq === this.#lastSeq
    ) {
      this.#storeTrimmedSeq = this.#trimmedSeq;
      this.#trimLog(this.#trimmedSeq);
    }
  }

  /** Trims the stored log through `through` (a shared log: never past what readers elsewhere still need). */
  #trimLog(through: number): void {
    this.#trimming = this.#trimming.then(() => this.#log.trim(through)).catch(this.#onStoreError);
  }
}
