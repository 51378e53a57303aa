// This module is browser compatible.
// The session log of a store several runtime instances share (Deno Deploy
// isolates on one KV): jobs submitted elsewhere, or lost jobs recovered
// elsewhere, append to the same log. Appends are compare-and-append; when
// another instance appended first, its events are taken in (sent before
// the rest of the batch) and the session's unstored events renumbered after
// them, until the batch is stored. While asked to, the log is watched for
// such appends; trims never pass what a reader elsewhere has yet to read.

import type { Clock } from "../protocol/clock.ts";
import type { Envelope } from "../protocol/messages.ts";
import type { EventStore, RuntimeStore, StoredEvent, TerminalEnvelope } from "../store/types.ts";
import type { LogSink, SessionLog } from "./_session_log.ts";
import { LogChanges, trimShared } from "./_shared_store.ts";
import { retried } from "./_retry.ts";

/** Catch-ups with other writers tolerated for one batch before giving up. */
const MAX_CATCH_UPS = 100;

/** What a shared log needs of the runtime: narrow on purpose. */
export interface SharedLogInputs {
  /** The shared store's event log. */
  log: EventStore & Required<Pick<EventStore, "compareAndAppend">>;
  /** The session records, whose reader registrations bound trimming. */
  records: Pick<RuntimeStore, "getSession">;
  /** Milliseconds between two reads of the log when no notification comes. */
  pollMs: number;
  /** Aborted when the runtime closes: ends every watch. */
  signal: AbortSignal;
  /** Times the polling and the reader registrations trims respect. */
  clock: Clock;
}

export class SharedLog implements SessionLog {
  readonly #io: SharedLogInputs;
  readonly #sessionId: string;
  readonly #sink: LogSink;
  /** The session's jobs that run on another instance: their events come through the store. */
  readonly #elsewhere = new Set<string>();
  #attached = false;
  /** Watches the log while a connection is attached and jobs run elsewhere. */
  #tail: AbortController | undefined;

  constructor(io: SharedLogInputs, sessionId: string, sink: LogSink) {
    this.#io = io;
    this.#sessionId = sessionId;
    this.#sink = sink;
  }

  async append(batch: Envelope[], events: StoredEvent[]): Promise<void> {
    const stored = await this.#compareAndAppend(events);
    if (stored === events.length) {
      this.#sink.stored(events.at(-1)?.event_seq ?? this.#sink.storedSeq, batch);
    } else await this.#persistContested(batch, events, stored);
  }

  #compareAndAppend(events: readonly StoredEvent[]): Promise<number> {
    return retried(() => this.#io.log.compareAndAppend(this.#sessionId, events));
  }

  /**
   * Goes on storing a batch of which only `stored` events went in, another
   * instance having appended first: catches up with its events and renumbers
   * the rest after them, until stored.
   */
  async #persistContested(batch: Envelope[], events: StoredEvent[], stored: number): Promise<void> {
    let rest = batch;
    for (let attempt = 0; stored < events.length; attempt++) {
      if (stored > 0) {
        const cut = rest.indexOf(events[stored - 1]!) + 1;
        this.#sink.stored(events[stored - 1]!.event_seq, rest.slice(0, cut));
        rest = rest.slice(cut);
      }
      if (attempt === MAX_CATCH_UPS) {
        throw new Error(
          `Cannot append to session "${this.#sessionId}": too many conflicting writers`,
        );
      }
      rest = await this.#catchUp(rest);
      events = rest.filter((e): e is StoredEvent => e.event_seq !== undefined);
      stored = events.length === 0 ? 0 : await this.#compareAndAppend(events);
    }
    this.#sink.stored(events.at(-1)?.event_seq ?? this.#sink.storedSeq, rest);
  }

  async catchUp(): Promise<void> {
    await this.#catchUp([]);
  }

  /**
   * Takes in what other instances appended after the stored events: the
   * sink renumbers the unstored ones (`rest` among them) after them, then
   * they are stored.
   *
   * @returns `rest` without the events the sink dropped.
   */
  async #catchUp(rest: Envelope[]): Promise<Envelope[]> {
    const from = this.#sink.storedSeq;
    const { last } = await this.#io.log.bounds(this.#sessionId);
    if (last <= from) return rest;
    const foreign: StoredEvent[] = [];
    const ended = new Map<string, TerminalEnvelope>();
    // Through the end as read first: others may be appending meanwhile.
    for await (const event of this.read(from)) {
      if (event.event_seq > last) break;
      foreign.push(event);
      if (event.type === "job.result" || event.type === "job.error") {
        ended.set(event.job_id, event as TerminalEnvelope);
      }
    }
    rest = this.#sink.admit(last, rest, ended);
    this.#sink.stored(last, foreign);
    if (ended.size > 0) {
      for (const jobId of ended.keys()) this.#elsewhere.delete(jobId);
      this.#updateTail();
    }
    return rest;
  }

  follow(jobIds: readonly string[]): void {
    for (const jobId of jobIds) this.#elsewhere.add(jobId);
    this.#updateTail();
  }

  attached(attached: boolean): void {
    this.#attached = attached;
    this.#updateTail();
  }

  /** Watches the log exactly while a connection could miss other instances' appends. */
  #updateTail(): void {
    const wanted = this.#attached && this.#elsewhere.size > 0;
    if (wanted && this.#tail === undefined) {
      const tail = this.#tail = new AbortController();
      const changes = new LogChanges(
        this.#io.log,
        this.#sessionId,
        this.#io.pollMs,
        AbortSignal.any([tail.signal, this.#io.signal]),
        this.#io.clock,
      );
      void (async () => {
        while (await changes.wait()) this.#sink.behind();
      })().finally(() => changes.close());
    } else if (!wanted && this.#tail !== undefined) {
      this.#tail.abort();
      this.#tail = undefined;
    }
  }

  read(after: number): AsyncIterable<StoredEvent> {
    return this.#io.log.read(this.#sessionId, { after });
  }

  trim(through: number): Promise<void> {
    return trimShared(this.#io.records, this.#io.log, this.#sessionId, through, this.#io.clock);
  }
}
