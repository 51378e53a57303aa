// This module is browser compatible.
// A runtime-side session: it outlives its connections (spec §6.7), owns the
// session-scoped event_seq (spec §8.3) and the outbound pipeline that writes
// every sequenced envelope to the store before it reaches the transport. It
// replays the log on resume (spec §6.3) and frees it on acknowledgement
// (spec 1.1 §6.5), within per-session caps (spec 1.0 §14).

import { ArcpError } from "../protocol/errors.ts";
import type { Envelope } from "../protocol/messages.ts";
import type { RuntimeStore, SessionRecord, StoredEvent } from "../store/types.ts";
import type { Principal } from "./auth.ts";
import type { RuntimeJob } from "./_job.ts";
import type { Subscription } from "./_subscription.ts";

/** Where a session's outbound frames go while a connection is attached. */
export interface Outlet {
  /** Writes frames in order; resolves when the transport can take more. */
  write(frames: readonly Envelope[]): Promise<void>;
  /** Called when writing failed, or another connection resumed the session. */
  drop(reason: unknown): void;
}

/** Per-session buffering limits. */
export interface SessionLimits {
  /** Events retained (not yet acknowledged or expired) before emitting fails. */
  maxBufferedEvents: number;
  /** Approximate bytes retained before emitting fails. */
  maxBufferedBytes: number;
  /** Unacknowledged events after which emitters wait for acks (with `ack` negotiated). */
  ackWindow: number;
  /** Unacknowledged events after which a `back_pressure` status is emitted. */
  backPressureLag: number;
}

/** Frames queued before a producer has to wait for the pipeline to drain. */
const HIGH_WATER_MARK = 1024;
/** The largest batch handed to the store in one append. */
const MAX_BATCH = 512;
/** Frames per transport write while replaying. */
const REPLAY_BATCH = 256;
/** Acknowledged events freed per store trim. */
const TRIM_STEP = 256;

const RESOLVED: Promise<void> = Promise.resolve();

export class RuntimeSession {
  readonly id: string;
  readonly principal: Principal;
  /**
   * The authoritative copy of the stored record: every change is made here
   * first, synchronously, then written in order, so no read-modify-write of
   * the store can undo another (a detach racing a resume's token rotation).
   */
  readonly record: SessionRecord;
  #persisting: Promise<void> = RESOLVED;
  /** Jobs this session submitted: it alone may cancel them (spec §7.4). */
  readonly jobs: Map<string, RuntimeJob> = new Map();
  /** Jobs of other sessions this session observes (spec 1.1 §7.6). */
  readonly subscriptions: Map<string, Subscription> = new Map();
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
  #outlet: Outlet | undefined;
  #replaying = false;
  #held: Envelope[] = [];
  #acking = false;
  #lagNotified = false;
  #queue: Envelope[] = [];
  #flushing: Promise<void> = RESOLVED;
  #flushActive = false;
  #drained: PromiseWithResolvers<void> | undefined;
  #ackWaiters: Array<{ seq: number; resolve(): void }> = [];

  constructor(
    record: SessionRecord,
    principal: Principal,
    store: RuntimeStore,
    limits: SessionLimits,
    onStoreError: (error: unknown) => void,
    restored: { lastSeq: number; trimmedSeq: number } = { lastSeq: 0, trimmedSeq: 0 },
  ) {
    this.id = record.session_id;
    this.record = { ...record };
    this.principal = principal;
    this.#store = store;
    this.#limits = limits;
    this.#onStoreError = onStoreError;
    this.#lastSeq = restored.lastSeq;
    this.#storedSeq = restored.lastSeq;
    this.#ackedSeq = restored.trimmedSeq;
    this.#trimmedSeq = restored.trimmedSeq;
    // Events restored from the store count toward the caps at no size.
    this.#sizes = new Array(restored.lastSeq - restored.trimmedSeq).fill(0);
  }

  /** Changes the session's record now and stores it after every earlier change. */
  updateRecord(patch: Partial<SessionRecord>): Promise<void> {
    Object.assign(this.record, patch);
    const snapshot = { ...this.record };
    this.#persisting = this.#persisting.then(() => this.#store.putSession(snapshot)).catch(
      this.#onStoreError,
    );
    return this.#persisting;
  }

  /** The highest event_seq assigned so far. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** The highest event_seq the client acknowledged. */
  get ackedSeq(): number {
    return this.#ackedSeq;
  }

  get attached(): boolean {
    return this.#outlet !== undefined;
  }

  /** Attaches a connection that has seen everything: a new session. */
  attach(outlet: Outlet, acking: boolean): void {
    this.#outlet = outlet;
    this.#acking = acking;
  }

  detach(outlet: Outlet): void {
    if (this.#outlet !== outlet) return;
    this.#outlet = undefined;
    this.#replaying = false;
    this.#held = [];
    this.#releaseAckWaiters(Number.POSITIVE_INFINITY);
  }

  /**
   * Attaches a resuming connection: replays every stored event after `after`,
   * then switches to live delivery with neither gap nor duplicate, even while
   * jobs keep emitting (spec §6.3). A previous connection is dropped.
   */
  async resume(outlet: Outlet, after: number, acking: boolean): Promise<void> {
    const previous = this.#outlet;
    if (previous !== undefined && previous !== outlet) {
      this.detach(previous);
      previous.drop(
        new ArcpError("INVALID_REQUEST", "The session was resumed on another connection"),
      );
    }
    this.#outlet = outlet;
    this.#acking = acking;
    this.#replaying = true;
    this.acknowledge(after);
    let cursor = after;
    for (;;) {
      let batch: StoredEvent[] = [];
      for await (const event of this.#store.read(this.id, { after: cursor })) {
        batch.push(event);
        cursor = event.event_seq;
        if (batch.length === REPLAY_BATCH) {
          await outlet.write(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await outlet.write(batch);
      if (this.#outlet !== outlet) return;
      // Synchronous with the flush loop's own check: nothing stored after
      // `cursor` has been skipped, and everything stored later goes live.
      if (cursor >= this.#storedSeq) break;
    }
    this.#replaying = false;
    const held = this.#held;
    this.#held = [];
    if (held.length > 0) await outlet.write(held);
  }

  /**
   * Queues a `job.event`/`job.result`/`job.error` envelope and assigns its
   * event_seq now, so seq order is emission order across all jobs. `size` is
   * its approximate encoded size in bytes.
   *
   * @throws {ArcpError} `INTERNAL_ERROR` when the session's buffer is full;
   *   terminal envelopes (`force`) are always taken.
   */
  emit(envelope: Envelope & { job_id: string }, size: number, force = false): Promise<void> {
    const retained = this.#lastSeq - this.#trimmedSeq;
    if (
      !force &&
      (retained >= this.#limits.maxBufferedEvents ||
        this.#bufferedBytes + size > this.#limits.maxBufferedBytes)
    ) {
      throw new ArcpError(
        "INTERNAL_ERROR",
        `Session ${this.id} buffer is full: ${retained} unacknowledged events, about ${this.#bufferedBytes} bytes ` +
          `(limits ${this.#limits.maxBufferedEvents} events, ${this.#limits.maxBufferedBytes} bytes)`,
        { retryable: false },
      );
    }
    envelope.event_seq = ++this.#lastSeq;
    this.#sizes.push(size);
    this.#bufferedBytes += size;
    const queued = this.#enqueue(envelope);
    if (
      this.#acking && this.#outlet !== undefined &&
      this.#lastSeq - this.#ackedSeq > this.#limits.ackWindow
    ) {
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#ackWaiters.push({ seq: this.#lastSeq - this.#limits.ackWindow, resolve });
      return promise;
    }
    return queued;
  }

  /** Queues an unsequenced control message behind everything emitted before it. */
  send(envelope: Envelope): Promise<void> {
    return this.#enqueue(envelope);
  }

  /**
   * The consumer lag to report as a `back_pressure` status, once each time it
   * crosses the threshold (spec 1.1 §6.5); `undefined` otherwise.
   */
  takeBackPressureNotice(): number | undefined {
    if (!this.#acking || this.#outlet === undefined) return undefined;
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
    this.#releaseAckWaiters(this.#ackedSeq);
    this.#free(this.#ackedSeq);
  }

  /** Resolves once everything queued so far has been stored and written. */
  async flushed(): Promise<void> {
    while (this.#flushActive) await this.#flushing;
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
      this.#store.trim(this.id, { through: this.#trimmedSeq }).catch(this.#onStoreError);
    }
  }

  #releaseAckWaiters(acked: number): void {
    if (this.#ackWaiters.length === 0) return;
    this.#ackWaiters = this.#ackWaiters.filter((waiter) => {
      if (waiter.seq > acked) return true;
      waiter.resolve();
      return false;
    });
  }

  #enqueue(envelope: Envelope): Promise<void> {
    this.#queue.push(envelope);
    // The flag, not the promise, says whether a flush runs: a flush with
    // nothing to await finishes before `#flush()` even returns its promise.
    if (!this.#flushActive) {
      this.#flushActive = true;
      this.#flushing = this.#flush();
    }
    if (this.#queue.length < HIGH_WATER_MARK) return RESOLVED;
    this.#drained ??= Promise.withResolvers();
    return this.#drained.promise;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.length <= MAX_BATCH
          ? this.#queue
          : this.#queue.slice(0, MAX_BATCH);
        this.#queue = batch === this.#queue ? [] : this.#queue.slice(MAX_BATCH);
        const events = batch.filter((e): e is StoredEvent => e.event_seq !== undefined);
        if (events.length > 0) {
          try {
            await this.#store.append(this.id, events);
          } catch (error) {
            // Nothing unstored may be sent: the runtime reports it and closes.
            this.#onStoreError(error);
            continue;
          }
          this.#storedSeq = events[events.length - 1]!.event_seq;
        }
        const outlet = this.#outlet;
        if (outlet !== undefined) {
          if (this.#replaying) {
            // The replay reads stored events itself; only control frames wait.
            for (const frame of batch) if (frame.event_seq === undefined) this.#held.push(frame);
          } else {
            try {
              await outlet.write(batch);
            } catch (error) {
              this.detach(outlet);
              outlet.drop(error);
            }
          }
        }
        // Acks may have come in while these events were being stored.
        if (this.#ackedSeq > this.#trimmedSeq) this.#free(this.#ackedSeq);
        if (this.#drained !== undefined && this.#queue.length < HIGH_WATER_MARK) {
          this.#drained.resolve();
          this.#drained = undefined;
        }
      }
    } finally {
      this.#flushActive = false;
      this.#drained?.resolve();
      this.#drained = undefined;
    }
  }
}
