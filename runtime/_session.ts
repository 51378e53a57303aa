// This module is browser compatible.
// A runtime-side session: it outlives its connections (spec §6.7), owns the
// session-scoped event_seq (spec §8.3) and the outbound pipeline that writes
// every sequenced envelope to the store before it reaches the transport. It
// replays the log on resume (spec §6.3) and frees it on acknowledgement
// (spec 1.1 §6.5), within per-session caps (spec 1.0 §14). Other runtime
// instances sharing the store may append to the same log (jobs submitted
// there, lost jobs recovered there): appends are compare-and-append, and the
// session catches up with what they wrote before its own events go on.

import { ArcpError } from "../protocol/errors.ts";
import type { Envelope } from "../protocol/messages.ts";
import type { RuntimeStore, SessionRecord, StoredEvent, TerminalEnvelope } from "../store/types.ts";
import type { Principal } from "./auth.ts";
import type { RuntimeJob } from "./_job.ts";
import type { SessionLimits } from "./_config.ts";
import { compareAndAppend, readAppended, type SessionShared } from "./_shared_store.ts";
import { SharedRecord } from "./_session_record.ts";
import { isTerminal } from "./_recovery.ts";
import { SessionRetention } from "./_session_retention.ts";
import { RecentSubmits } from "./_submit_ids.ts";
import { retried } from "./_retry.ts";

/** Where a session's outbound frames go while a connection is attached. */
export interface Outlet {
  /** Writes frames in order; resolves when the transport can take more. */
  write(frames: readonly Envelope[]): Promise<void>;
  /** Called when writing failed, or the session failed: the session is left detached. */
  drop(reason: unknown): void;
  /**
   * Called when another connection resumed the session: this one closes
   * without marking the session detached, since the other holds it.
   */
  supersede(reason: ArcpError): void;
}

/** Frames queued before a producer has to wait for the pipeline to drain. */
const HIGH_WATER_MARK = 1024;
/** The largest batch handed to the store in one append. */
const MAX_BATCH = 512;
/** Frames per transport write while replaying. */
const REPLAY_BATCH = 256;
/** Catch-ups with other writers tolerated for one batch before giving up. */
const MAX_CATCH_UPS = 100;

const RESOLVED: Promise<void> = Promise.resolve();

/** Frames a flush decided to write, and to which connection. */
type Deliveries = Array<[Outlet, readonly Envelope[]]>;

export class RuntimeSession {
  readonly id: string;
  readonly principal: Principal;
  /** The session's record as this instance holds it (see {@linkcode SharedRecord}). */
  readonly record: SessionRecord;
  readonly #record: SharedRecord;
  /** Jobs this session submitted: it alone may cancel them (spec §7.4). */
  readonly jobs: Map<string, RuntimeJob> = new Map();
  /** Jobs of other sessions this session observes (spec 1.1 §7.6). */
  readonly subscriptions: Map<string, { end(): void }> = new Map();
  /**
   * Envelope ids of recent submits: kept with the session, not the
   * connection, since a retransmission comes after a resume.
   */
  readonly recentSubmits: RecentSubmits;
  readonly #store: RuntimeStore;
  readonly #onStoreError: (error: unknown) => void;
  readonly #shared: SessionShared;
  /** Compare-and-appends to this session's log: how many events went in. */
  readonly #append: (events: readonly StoredEvent[]) => Promise<number>;
  /** This session's jobs that run on another instance: their events come through the store. */
  readonly #elsewhere = new Set<string>();
  /** Watches the log while a connection is attached and jobs run elsewhere. */
  #tail: AbortController | undefined;
  /** Set when the log may have grown elsewhere: the flush loop catches up. */
  #behind = false;
  /** Seq counters, retained sizes, caps and ack waiters. */
  readonly #retention: SessionRetention;
  #outlet: Outlet | undefined;
  #replaying = false;
  #held: Envelope[] = [];
  #queue: Envelope[] = [];
  #flushing: Promise<void> = RESOLVED;
  #flushActive = false;
  #drained: PromiseWithResolvers<void> | undefined;
  /** Terminal envelopes that may be stored only once their job's record is. */
  readonly #gates = new Map<Envelope, Promise<void>>();
  /** Set once the log cannot take this session's events: nothing more is sent. */
  #failed: ArcpError | undefined;

  constructor(
    record: SessionRecord,
    principal: Principal,
    store: RuntimeStore,
    limits: SessionLimits,
    onStoreError: (error: unknown) => void,
    shared: SessionShared,
    restored?: { lastSeq: number; trimmedSeq: number },
  ) {
    this.id = record.session_id;
    this.recentSubmits = new RecentSubmits(limits.recentSubmitIds);
    this.#record = new SharedRecord(record, store, shared.instanceId, {
      stored: restored !== undefined,
      onStoreError,
    });
    this.record = this.#record.record;
    this.principal = principal;
    this.#store = store;
    this.#onStoreError = onStoreError;
    this.#shared = shared;
    this.#append = (events) => retried(() => compareAndAppend(store, this.id, events));
    this.#retention = new SessionRetention(
      { id: this.id, store, limits, onStoreError },
      restored ?? { lastSeq: 0, trimmedSeq: 0 },
    );
    this.#retention.acking = record.features?.includes("ack") ?? false;
  }

  /**
   * Changes the session's record now and stores it after every earlier
   * change, unless another instance took the session over (see
   * {@linkcode SharedRecord.update}); `required`, a write given up rejects.
   */
  updateRecord(patch: Partial<SessionRecord>, required = false): Promise<void> {
    return this.#record.update(patch, required);
  }

  /**
   * Re-reads the record, and the log's end, after earlier writes landed:
   * another instance may have moved the session on since it was here.
   *
   * @returns `false` when the record is gone: the session expired.
   */
  async refresh(): Promise<boolean> {
    if (!await this.#record.reload()) return false;
    // Attached here, it is held here: its tail and appends keep it current.
    if (!this.attached) await this.sync();
    return true;
  }

  /** Makes this instance the session's holder with `patch`, unless the token rotated meanwhile. */
  takeOver(patch: Partial<SessionRecord>): Promise<boolean> {
    return this.#record.takeOver(patch);
  }

  /** Catches up with what other instances appended to the log, then resolves. */
  sync(): Promise<void> {
    this.#behind = true;
    this.#kick();
    return this.flushed();
  }

  /** Asks the instance running a job of this session to cancel it (see `cancel_requests`). */
  requestCancel(jobId: string, reason: string): Promise<void> {
    this.followElsewhere([jobId]);
    return this.#record.update({
      cancel_requests: { ...this.record.cancel_requests, [jobId]: reason },
    });
  }

  /** Follows jobs of this session that run elsewhere: their events reach it through the store. */
  followElsewhere(jobIds: Iterable<string>): void {
    for (const jobId of jobIds) if (!this.jobs.has(jobId)) this.#elsewhere.add(jobId);
    this.#updateTail();
  }

  /** Watches the log exactly while a connection could miss other instances' appends. */
  #updateTail(): void {
    const wanted = this.#outlet !== undefined && this.#elsewhere.size > 0;
    if (wanted && this.#tail === undefined) {
      const tail = this.#tail = new AbortController();
      const changes = this.#shared.changes(this.id, tail.signal);
      void (async () => {
        while (await changes.wait()) {
          this.#behind = true;
          this.#kick();
        }
      })().finally(() => changes.close());
    } else if (!wanted && this.#tail !== undefined) {
      this.#tail.abort();
      this.#tail = undefined;
    }
  }

  /** The highest event_seq assigned so far. */
  get lastSeq(): number {
    return this.#retention.lastSeq;
  }

  /** The highest event_seq the client acknowledged. */
  get ackedSeq(): number {
    return this.#retention.ackedSeq;
  }

  get attached(): boolean {
    return this.#outlet !== undefined;
  }

  /** Attaches a connection that has seen everything: a new session. */
  attach(outlet: Outlet, acking: boolean): void {
    this.#outlet = outlet;
    this.#retention.acking = acking;
    this.#updateTail();
  }

  detach(outlet: Outlet): void {
    if (this.#outlet !== outlet) return;
    this.#outlet = undefined;
    this.#replaying = false;
    this.#held = [];
    this.#retention.releaseAckWaiters(Number.POSITIVE_INFINITY);
    this.#updateTail();
  }

  /**
   * Claims the session for a resume after `after`, before its welcome is
   * sent: the previous connection is dropped, and from now on nothing past
   * `after` is trimmed to make room, so the replay will find it all.
   *
   * @throws {ArcpError} `RESUME_WINDOW_EXPIRED` when the log no longer holds
   *   the events after `after` (spec §6.3).
   */
  claimForResume(after: number): void {
    this.#retention.resumed(after);
    this.#dropPrevious(undefined);
  }

  #dropPrevious(outlet: Outlet | undefined): void {
    const previous = this.#outlet;
    if (previous === undefined || previous === outlet) return;
    this.detach(previous);
    previous.supersede(
      new ArcpError("INVALID_REQUEST", "The session was resumed on another connection"),
    );
  }

  /**
   * Attaches a resuming connection: replays every stored event after `after`,
   * then switches to live delivery with neither gap nor duplicate, even while
   * jobs keep emitting (spec §6.3). A previous connection is dropped.
   */
  async resume(outlet: Outlet, after: number, acking: boolean): Promise<void> {
    if (this.#failed !== undefined) throw this.#failed;
    this.#retention.resumed(after);
    this.#dropPrevious(outlet);
    this.#outlet = outlet;
    this.#retention.acking = acking;
    this.#replaying = true;
    this.#updateTail();
    this.acknowledge(after);
    let cursor = after;
    for (;;) {
      let batch: StoredEvent[] = [];
      for await (const event of this.#store.read(this.id, { after: cursor })) {
        // Not taken in yet (another instance's, or a batch whose append is
        // still returning): the flush loop decides who sends it.
        if (event.event_seq > this.#retention.storedSeq) break;
        batch.push(event);
        cursor = event.event_seq;
        if (batch.length === REPLAY_BATCH) {
          await this.#write(outlet, batch);
          batch = [];
        }
      }
      if (batch.length > 0) await this.#write(outlet, batch);
      if (this.#outlet !== outlet) return;
      // Synchronous with the flush loop's own check: nothing stored after
      // `cursor` has been skipped, and everything stored later goes live.
      if (cursor >= this.#retention.storedSeq) break;
    }
    this.#replaying = false;
    const held = this.#held;
    this.#held = [];
    if (held.length > 0) await outlet.write(held);
  }

  /**
   * Queues a `job.event`/`job.result`/`job.error` envelope and assigns its
   * event_seq now, so seq order is emission order across all jobs. `size` is
   * its approximate encoded size in bytes. The promise is the emitter's
   * back-pressure: it waits for acks past the ack window (with `ack` and a
   * connection), else for delivery while more than three quarters of a cap
   * is undelivered, else for room in the outbound queue.
   *
   * `stored`, for a terminal envelope, resolves once the job's record is
   * stored: the envelope reaches the log, and so any client, only then.
   *
   * @throws {ArcpError} `INTERNAL_ERROR` when the session's buffer is full;
   *   terminal envelopes (`force`) are always taken.
   */
  emit(
    envelope: Envelope & { job_id: string },
    size: number,
    force = false,
    stored?: Promise<void>,
  ): Promise<void> {
    envelope.event_seq = this.#retention.sequence(size, force);
    if (stored !== undefined && this.#failed === undefined) this.#gates.set(envelope, stored);
    const queued = this.#enqueue(envelope);
    if (force) return queued;
    const acked = this.#retention.acking && this.#outlet !== undefined
      ? this.#retention.ackWindowWait()
      : undefined;
    return acked ?? this.#retention.deliveryWait() ?? queued;
  }

  /**
   * The session's resume window passed with no client: emitters held for
   * delivery go on, and the next events they emit past three quarters of a
   * cap are refused, which ends their jobs with `INTERNAL_ERROR`.
   */
  abandon(): void {
    if (this.#outlet === undefined) this.#retention.abandon();
  }

  /**
   * Told, for a session with jobs here and no connection here, whether a
   * connection on another instance holds it: that instance delivers the
   * log, so emitters here do not wait for delivery.
   */
  heldElsewhere(held: boolean): void {
    this.#retention.heldElsewhere(held && this.#outlet === undefined);
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
    if (!this.#retention.acking || this.#outlet === undefined) return undefined;
    return this.#retention.backPressureNotice();
  }

  /** Records `session.ack` (spec 1.1 §6.5) and frees what it covers. */
  acknowledge(seq: number): void {
    this.#retention.acknowledge(seq);
  }

  /** Resolves once everything queued so far has been stored and written. */
  async flushed(): Promise<void> {
    while (this.#flushActive) await this.#flushing;
  }

  #enqueue(envelope: Envelope): Promise<void> {
    if (this.#failed !== undefined) return RESOLVED;
    this.#queue.push(envelope);
    this.#kick();
    if (this.#queue.length < HIGH_WATER_MARK) return RESOLVED;
    this.#drained ??= Promise.withResolvers();
    return this.#drained.promise;
  }

  #kick(): void {
    // The flag, not the promise, says whether a flush runs: a flush with
    // nothing to await finishes before `#flush()` even returns its promise.
    if (!this.#flushActive) {
      this.#flushActive = true;
      this.#flushing = this.#flush();
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0 || this.#behind) {
        const deliveries: Deliveries = [];
        try {
          if (this.#queue.length === 0) {
            this.#behind = false;
            await this.#catchUp([], deliveries);
          } else {
            const batch = this.#queue.length <= MAX_BATCH
              ? this.#queue
              : this.#queue.slice(0, MAX_BATCH);
            this.#queue = batch === this.#queue ? [] : this.#queue.slice(MAX_BATCH);
            const events = batch.filter((e): e is StoredEvent => e.event_seq !== undefined);
            if (this.#gates.size > 0) await this.#endsStored(events);
            // Control frames alone go out at once, before anything closes the connection.
            const stored = events.length === 0 ? 0 : await this.#append(events);
            if (stored === events.length) {
              const last = events.at(-1)?.event_seq ?? this.#retention.storedSeq;
              this.#advance(last, batch, deliveries);
            } else await this.#persistContested(batch, events, stored, deliveries);
          }
        } catch (error) {
          // Nothing unstored may be sent.
          this.#fail(error);
          continue;
        }
        for (const [outlet, frames] of deliveries) {
          try {
            await this.#write(outlet, frames);
          } catch (error) {
            this.detach(outlet);
            outlet.drop(error);
          }
        }
        // Acks may have come in while these events were being stored.
        this.#retention.freeAcknowledged();
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

  /** Writes `frames` to `outlet`, then counts their events delivered if it is still the session's connection. */
  async #write(outlet: Outlet, frames: readonly Envelope[]): Promise<void> {
    await outlet.write(frames);
    if (outlet !== this.#outlet) return;
    for (let i = frames.length - 1; i >= 0; i--) {
      const seq = frames[i]!.event_seq;
      if (seq !== undefined) return this.#retention.delivered(seq);
    }
  }

  /** Waits until the jobs ending in `events` have their ends stored (see `emit`). */
  async #endsStored(events: readonly StoredEvent[]): Promise<void> {
    for (const event of events) {
      const gate = this.#gates.get(event);
      if (gate === undefined) continue;
      this.#gates.delete(event);
      await gate;
    }
  }

  /**
   * The log cannot take this session's events (the store failed for good,
   * after retries), and a log with a gap cannot be resumed: the session
   * sends nothing more, its connection is dropped with an `INTERNAL_ERROR`
   * naming the cause, and its jobs end with it (their records say so).
   */
  #fail(error: unknown): void {
    this.#onStoreError(error);
    if (this.#failed !== undefined) return;
    const cause = error instanceof Error ? error.message : String(error);
    this.#failed = new ArcpError(
      "INTERNAL_ERROR",
      `Cannot store the events of session ${this.id}: ${cause}`,
    );
    this.#queue = [];
    // The ends these gates wait on will never be sent.
    this.#gates.clear();
    for (const job of this.jobs.values()) job.abort(this.#failed, { graceMs: 0 });
    const outlet = this.#outlet;
    if (outlet !== undefined) {
      this.detach(outlet);
      outlet.drop(this.#failed);
    }
  }

  /**
   * Goes on storing a batch of which only `stored` events went in, another
   * instance having appended first: catches up with its events (sent before
   * the rest of the batch) and renumbers the rest after them, until stored.
   * Decides who sends what into `deliveries`.
   */
  async #persistContested(
    batch: Envelope[],
    events: StoredEvent[],
    stored: number,
    deliveries: Deliveries,
  ): Promise<void> {
    let rest = batch;
    for (let attempt = 0; stored < events.length; attempt++) {
      if (stored > 0) {
        const cut = rest.indexOf(events[stored - 1]!) + 1;
        this.#advance(events[stored - 1]!.event_seq, rest.slice(0, cut), deliveries);
        rest = rest.slice(cut);
      }
      if (attempt === MAX_CATCH_UPS) {
        throw new Error(`Cannot append to session "${this.id}": too many conflicting writers`);
      }
      rest = await this.#catchUp(rest, deliveries);
      events = rest.filter((e): e is StoredEvent => e.event_seq !== undefined);
      stored = events.length === 0 ? 0 : await this.#append(events);
    }
    this.#advance(events.at(-1)?.event_seq ?? this.#retention.storedSeq, rest, deliveries);
  }

  /**
   * Marks the log stored through `seq` and decides, synchronously with a
   * replay's own check, who sends `frames`: a replay reads stored events
   * itself, so only control frames wait for it.
   */
  #advance(seq: number, frames: readonly Envelope[], deliveries: Deliveries): void {
    this.#retention.stored(seq);
    const outlet = this.#outlet;
    if (outlet === undefined || frames.length === 0) return;
    if (!this.#replaying) deliveries.push([outlet, frames]);
    else for (const frame of frames) if (frame.event_seq === undefined) this.#held.push(frame);
  }

  /**
   * Takes in what other instances appended after the stored events: their events
   * are sent first, a job of this session ended by one of them stops here
   * (its unstored events are dropped), and the unstored events of `rest` and
   * the queue are renumbered after them.
   *
   * @returns `rest` without the dropped events.
   */
  async #catchUp(rest: Envelope[], deliveries: Deliveries): Promise<Envelope[]> {
    const from = this.#retention.storedSeq;
    const { last, events: foreign } = await readAppended(this.#store, this.id, from);
    if (last <= from) return rest;
    const ended = new Map<string, TerminalEnvelope>();
    for (const event of foreign) if (isTerminal(event)) ended.set(event.job_id, event);
    [rest, this.#queue] = this.#retention.admitForeign(last, [rest, this.#queue], ended) as [
      Envelope[],
      Envelope[],
    ];
    this.#advance(last, foreign, deliveries);
    for (const [jobId, terminal] of ended) {
      this.jobs.get(jobId)?.endedElsewhere(terminal);
      this.#elsewhere.delete(jobId);
    }
    void this.#record.dropCancelRequests(ended);
    this.#updateTail();
    return rest;
  }
}
