// This module is browser compatible.
// Store operations that stay correct when several runtime instances share
// one store (Deno Deploy isolates on one KV), and what stands in for the
// optional log methods they use when a store lacks them.

import { type Clock, every, isoAt } from "../protocol/clock.ts";
import { newId } from "../protocol/ids.ts";
import type { EventStore, RuntimeStore, SessionRecord, StoredEvent } from "../store/types.ts";

/** How long a reader's registration keeps a log from being trimmed without renewal. */
const READER_TTL_MS = 30_000;
/** Renewal interval of an idle reader's registration. */
const READER_RENEW_MS = 10_000;

/**
 * Appends `events` where they continue the log; how many were stored. A
 * store without `compareAndAppend` is taken to have one writer per log.
 */
export async function compareAndAppend(
  store: RuntimeStore,
  sessionId: string,
  events: readonly StoredEvent[],
): Promise<number> {
  if (store.compareAndAppend !== undefined) return await store.compareAndAppend(sessionId, events);
  await store.append(sessionId, events);
  return events.length;
}

/**
 * Tells when a session's log may have grown: at the store's change
 * notification, if it has one, and every `pollMs` in any case, since a
 * notification may miss other processes' writes (a local Deno KV file).
 * Starts watching at once, so nothing appended after construction is missed.
 */
export class LogChanges {
  readonly #controller = new AbortController();
  readonly #watching: Promise<void>;
  readonly #stopPolling: (() => void) | undefined;
  #changed = Promise.withResolvers<void>();
  #pending = false;

  /**
   * @param store The shared store.
   * @param sessionId The session whose log to watch.
   * @param pollMs Milliseconds between two wake-ups without a notification; `Infinity` for none.
   * @param signal Ends the watch.
   * @param clock Times the polling.
   */
  constructor(
    store: Pick<EventStore, "watch">,
    sessionId: string,
    pollMs: number,
    signal: AbortSignal,
    clock: Clock,
  ) {
    const { signal: own } = this.#controller;
    const stop = () => this.close();
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
    own.addEventListener("abort", () => {
      signal.removeEventListener("abort", stop);
      this.#changed.resolve();
    }, { once: true });
    this.#watching = (async () => {
      if (store.watch === undefined) return;
      try {
        for await (const _ of store.watch(sessionId, { signal: own })) this.#poke();
      } catch {
        // Polling goes on without the notifications.
      }
    })();
    this.#stopPolling = Number.isFinite(pollMs) && !own.aborted
      ? every(clock, pollMs, () => this.#poke())
      : undefined;
  }

  #poke(): void {
    this.#pending = true;
    this.#changed.resolve();
  }

  /** Resolves `true` at the next possible change (at once if one came since the last call), `false` once closed. */
  async wait(): Promise<boolean> {
    while (!this.#pending && !this.#controller.signal.aborted) {
      await this.#changed.promise;
      this.#changed = Promise.withResolvers();
    }
    this.#pending = false;
    return !this.#controller.signal.aborted;
  }

  /** Stops watching and polling; resolves once the store's watch has ended. */
  close(): Promise<void> {
    this.#stopPolling?.();
    this.#controller.abort();
    return this.#watching;
  }
}

/** Trims a session's log through `through`, but never past a reader's registration. */
export async function trimShared(
  records: Pick<RuntimeStore, "getSession">,
  log: Pick<EventStore, "trim">,
  sessionId: string,
  through: number,
  clock: Clock,
): Promise<void> {
  const record = await records.getSession(sessionId);
  const limit = trimLimit(record, through, isoAt(clock));
  if (limit > 0) await log.trim(sessionId, { through: limit });
}

/**
 * The highest seq a session's log may be trimmed through, for `through`
 * acknowledged by its client: never past what a registered reader on another
 * instance has yet to read.
 */
export function trimLimit(record: SessionRecord | undefined, through: number, now: string): number {
  let limit = through;
  for (const reader of Object.values(record?.readers ?? {})) {
    if (reader.expires_at > now) limit = Math.min(limit, reader.after);
  }
  return limit;
}

/**
 * A reader of a session's log on this instance, registered in the session's
 * record so that the instance holding the session keeps the events it has
 * not read yet (see {@linkcode trimLimit}).
 */
export class LogReader {
  readonly #store: RuntimeStore;
  readonly #sessionId: string;
  readonly #id = newId("rdr");
  readonly #minIntervalMs: number;
  readonly #clock: Clock;
  #after = -1;
  #writtenAt = 0;

  /**
   * @param store The shared store.
   * @param sessionId The session whose log is read.
   * @param minIntervalMs Least milliseconds between two moves of the registration.
   * @param clock What registrations expire by.
   */
  constructor(store: RuntimeStore, sessionId: string, minIntervalMs: number, clock: Clock) {
    this.#clock = clock;
    this.#store = store;
    this.#sessionId = sessionId;
    this.#minIntervalMs = minIntervalMs;
  }

  /**
   * Registers that everything through `seq` has been read: written at once
   * the first time, then at most every `minIntervalMs` (and at least every
   * few seconds, to renew it).
   *
   * @returns `false` when the session is gone.
   */
  async advance(seq: number): Promise<boolean> {
    const now = this.#clock.now();
    const due = this.#after < 0 ||
      (seq > this.#after && now - this.#writtenAt >= this.#minIntervalMs) ||
      now - this.#writtenAt >= READER_RENEW_MS;
    if (!due) return true;
    this.#after = seq;
    this.#writtenAt = now;
    const expiresAt = new Date(now + READER_TTL_MS).toISOString();
    const stored = await this.#store.updateSession(this.#sessionId, (current) =>
      current && {
        ...current,
        readers: { ...current.readers, [this.#id]: { after: seq, expires_at: expiresAt } },
      });
    return stored !== undefined;
  }

  /** Removes the registration. */
  async remove(): Promise<void> {
    if (this.#after < 0) return;
    await this.#store.updateSession(this.#sessionId, (current) => {
      if (current?.readers?.[this.#id] === undefined) return undefined;
      const { [this.#id]: _gone, ...readers } = current.readers;
      return { ...current, readers };
    });
  }
}

/**
 * The events of a session's log after `after`, as they are appended, until
 * `signal` aborts: how an instance follows a log another instance writes.
 * Registered as a reader of the log first, so none is trimmed before it is
 * read.
 */
export async function* followLog(
  store: RuntimeStore,
  sessionId: string,
  after: number,
  pollMs: number,
  signal: AbortSignal,
  clock: Clock,
): AsyncIterable<StoredEvent> {
  const changes = new LogChanges(store, sessionId, pollMs, signal, clock);
  const reader = new LogReader(store, sessionId, pollMs, clock);
  let cursor = after;
  try {
    do {
      if (!await reader.advance(cursor)) return;
      for await (const event of store.read(sessionId, { after: cursor, signal })) {
        cursor = event.event_seq;
        yield event;
      }
    } while (await changes.wait());
  } finally {
    await changes.close();
    await reader.remove();
  }
}
