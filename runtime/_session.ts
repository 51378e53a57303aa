// This module is browser compatible.
// A runtime-side session: it outlives its connections (spec §6.7), owns the
// session-scoped event_seq (spec §8.3) and the outbound pipeline that writes
// every sequenced envelope to the store before it reaches the transport. It
// replays the log on resume (spec §6.3) and frees it on acknowledgement
// (spec 1.1 §6.5), within per-session caps (spec 1.0 §14). Its log (see
// `_session_log.ts`) hands back what it stored, in order; only then is it
// sent, to the connection and to other sessions' subscriptions.

import { ArcpError } from "../protocol/errors.ts";
import type { Envelope } from "../protocol/messages.ts";
import type { RuntimeStore, SessionRecord, StoredEvent, TerminalEnvelope } from "../store/types.ts";
import type { Principal } from "./auth.ts";
import type { RuntimeJob } from "./_job.ts";
import type { SessionLimits } from "./_config.ts";
import type { SessionLog, SessionLogs } from "./_session_log.ts";
import { SharedRecord } from "./_session_record.ts";
import { SessionRetention } from "./_session_retention.ts";
import { StoreHooks } from "./_store_hooks.ts";
import { RecentSubmits } from "./_submit_ids.ts";
import type { SessionTelemetry } from "./_telemetry.ts";

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

const RESOLVED: Promise<void> = Promise.resolve();

/** Frames a flush decided to write, and to which connection. */
type Deliveries = Array<[Outlet, readonly Envelope[]]>;

/** What a session shares with the runtime: where its record and log live. */
export interface SessionShared {
  /** This runtime instance: it writes the record only while the record names it. */
  instanceId: string;
  /** Opens the session's log (chosen once for the runtime). */
  logs: SessionLogs;
  /** Told of each stored batch (see `_telemetry.ts`). */
  telemetry: SessionTelemetry;
}

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
  readonly #onStoreError: (error: unknown) => void;
  readonly #telemetry: SessionTelemetry;
  /** Stores this session's events and hands them back in log order. */
  readonly #log: SessionLog;
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
  /** What the running flush iteration will write, and where. */
  #deliveries: Deliveries = [];
  #drained: PromiseWithResolvers<void> | undefined;
  /** Gates of terminal envelopes, and who is told once an envelope is stored (see `emit`). */
  readonly #hooks = new StoreHooks();
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
    this.#onStoreError = onStoreError;
    this.#telemetry = shared.telemetry;
    const retention = this.#retention = new SessionRetention(
      { id: this.id, log: { trim: (through) => this.#log.trim(through) }, limits, onStoreError },
      restored ?? { lastSeq: 0, trimmedSeq: 0 },
    );
    this.#log = shared.logs(this.id, {
      get storedSeq() {
        return retention.storedSeq;
      },
      stored: (seq, frames) => this.#advance(seq, frames),
      admit: (last, rest, ended) => this.#admit(last, rest, ended),
      behind: () => {
        this.#behind = true;
        this.#kick();
      },
    });
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
    const ids = [...jobIds].filter((jobId) => !this.jobs.has(jobId));
    if (ids.length > 0) this.#log.follow(ids);
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
    this.#log.attached(true);
  }

  detach(outlet: Outlet): void {
    if (this.#outlet !== outlet) return;
    this.#outlet = undefined;
    this.#replaying = false;
    this.#held = [];
    this.#retention.releaseAckWaiters(Number.POSITIVE_INFINITY);
    this.#log.attached(false);
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
    this.#log.attached(true);
    this.acknowledge(after);
    let cursor = after;
    for (;;) {
      let batch: StoredEvent[] = [];
      for await (const event of this.#log.read(cursor)) {
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
   * `stored`, for a terminal envelope, writes the job's record and resolves
   * once it is stored: it is called once everything emitted before the
   * envelope is in the log, and the envelope reaches the log, and so any
   * client, only then.
   * `onStored` is called with `true` once the envelope is in the log, with
   * `false` when it never will be: how subscriptions from other sessions
   * see it (spec 1.1 §7.6) only once stored.
   *
   * @throws {ArcpError} `INTERNAL_ERROR` when the session's buffer is full;
   *   terminal envelopes (`force`) are always taken.
   */
  emit(
    envelope: Envelope & { job_id: string },
    size: number,
    force = false,
    stored?: () => Promise<void>,
    onStored?: (stored: boolean) => void,
  ): Promise<void> {
    envelope.event_seq = this.#retention.sequence(size, force);
    if (this.#failed === undefined) this.#hooks.add(envelope, stored, onStored);
    else {
      void stored?.();
      onStored?.(false);
    }
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
        const deliveries: Deliveries = this.#deliveries = [];
        try {
          if (this.#queue.length === 0) {
            this.#behind = false;
            await this.#log.catchUp();
          } else {
            let size = Math.min(this.#queue.length, MAX_BATCH);
            if (this.#hooks.gated) size = this.#hooks.beforeNextGate(this.#queue, size);
            const batch = this.#queue.length === size ? this.#queue : this.#queue.slice(0, size);
            this.#queue = batch === this.#queue ? [] : this.#queue.slice(size);
            const events = batch.filter((e): e is StoredEvent => e.event_seq !== undefined);
            if (this.#hooks.gated) await this.#hooks.openGate(batch);
            // Control frames alone go out at once, before anything closes the connection.
            if (events.length === 0) this.#advance(this.#retention.storedSeq, batch);
            else await this.#append(batch, events);
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

  /** Appends a batch to the log, timed for the telemetry: per batch, never per event. */
  async #append(batch: Envelope[], events: StoredEvent[]): Promise<void> {
    // A duration, not a deadline: measured on the monotonic clock.
    const started = performance.now();
    await this.#log.append(batch, events);
    this.#telemetry.appended(events.length, (performance.now() - started) / 1000);
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
    // The ends these gates wait on will never be sent, nor anything unstored seen.
    this.#hooks.fail();
    for (const job of this.jobs.values()) job.abort(this.#failed, { graceMs: 0 });
    const outlet = this.#outlet;
    if (outlet !== undefined) {
      this.detach(outlet);
      outlet.drop(this.#failed);
    }
  }

  /**
   * Marks the log stored through `seq` and decides, synchronously with a
   * replay's own check, who sends `frames`: a replay reads stored events
   * itself, so only control frames wait for it.
   */
  #advance(seq: number, frames: readonly Envelope[]): void {
    this.#retention.stored(seq);
    this.#hooks.stored(frames);
    const outlet = this.#outlet;
    if (outlet === undefined || frames.length === 0) return;
    if (!this.#replaying) this.#deliveries.push([outlet, frames]);
    else for (const frame of frames) if (frame.event_seq === undefined) this.#held.push(frame);
  }

  /**
   * Other instances appended through `last` (see `LogSink.admit`):
   * the unstored events of `rest` and the queue are renumbered after theirs,
   * and a job of this session ended by one of them stops here (its unstored
   * events are dropped).
   */
  #admit(
    last: number,
    rest: Envelope[],
    ended: ReadonlyMap<string, TerminalEnvelope>,
  ): Envelope[] {
    [rest, this.#queue] = this.#retention.admitForeign(last, [rest, this.#queue], ended) as [
      Envelope[],
      Envelope[],
    ];
    if (ended.size === 0) return rest;
    this.#hooks.drop(ended);
    for (const [jobId, terminal] of ended) this.jobs.get(jobId)?.endedElsewhere(terminal);
    void this.#record.dropCancelRequests(ended);
    return rest;
  }
}
