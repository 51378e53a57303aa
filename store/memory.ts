// This module is browser compatible.
/**
 * The in-memory {@linkcode RuntimeStore}: the default, and the reference the
 * other stores are tested against.
 *
 * @module
 */

import type {
  ListOptions,
  LogBounds,
  ReadOptions,
  RecordEntry,
  RecordKey,
  StoredEvent,
  WriteOptions,
} from "./types.ts";
import { StoreRecords } from "./records.ts";
import { RecordTree } from "./_record_tree.ts";

export type * from "./types.ts";
export { StoreRecords } from "./records.ts";

interface SessionLog {
  /** Retained events; `events[i]` has `event_seq === first + i`. */
  events: StoredEvent[];
  first: number;
}

/**
 * Keeps every session's event log and every record (sessions, jobs,
 * idempotency keys, the credential ledger) in memory. Nothing survives the
 * process; use the Deno KV or IndexedDB store for that.
 *
 * @example Append and read back
 * ```ts
 * import { MemoryStore } from "@arcp/arcp/store/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryStore();
 * const event = (seq: number) => ({
 *   arcp: "1.1", id: `m${seq}`, type: "job.event", job_id: "job_1", event_seq: seq,
 *   payload: { kind: "log", ts: new Date().toISOString(), body: { level: "info", message: `${seq}` } },
 * });
 * await store.append("sess_1", [event(1), event(2), event(3)]);
 * const seqs = [];
 * for await (const e of store.read("sess_1", { after: 1 })) seqs.push(e.event_seq);
 * assert.deepEqual(seqs, [2, 3]);
 * ```
 */
export class MemoryStore extends StoreRecords {
  #logs = new Map<string, SessionLog>();
  /**
   * Records in a tree of their key's parts: a lookup hashes strings the
   * caller already holds (their hash is cached) instead of building a text
   * key per operation, and a listing walks only its prefix.
   */
  readonly #records = new RecordTree();
  /** The last version given out: versions never repeat. */
  /** Watchers of each session's log, told its bounds after every change. */
  #watchers = new Map<string, Set<(bounds: LogBounds) => void>>();

  #log(sessionId: string): SessionLog {
    let log = this.#logs.get(sessionId);
    if (log === undefined) {
      log = { events: [], first: 1 };
      this.#logs.set(sessionId, log);
    }
    return log;
  }

  /**
   * Appends a contiguous batch; already-stored seqs are skipped.
   *
   * @throws {RangeError} when the batch would leave a gap.
   */
  append(sessionId: string, events: readonly StoredEvent[]): Promise<void> {
    const log = this.#log(sessionId);
    // Check the whole batch first: a batch is stored entirely or not at all.
    let next = log.first + log.events.length;
    let start = events.length;
    for (const [index, event] of events.entries()) {
      if (event.event_seq < next && start === events.length) continue;
      if (start === events.length) start = index;
      if (event.event_seq !== next) {
        return Promise.reject(
          new RangeError(`Cannot append event_seq ${event.event_seq}: the log expects ${next}`),
        );
      }
      next++;
    }
    for (let index = start; index < events.length; index++) log.events.push(events[index]!);
    if (start < events.length) this.#notify(sessionId, log);
    return Promise.resolve();
  }

  /**
   * Appends the batch only when it continues the log exactly; all or nothing.
   *
   * @returns `events.length` when stored, 0 when another writer's events came first.
   * @throws {RangeError} when the batch itself has a gap.
   */
  compareAndAppend(sessionId: string, events: readonly StoredEvent[]): Promise<number> {
    const log = this.#log(sessionId);
    let next = log.first + log.events.length;
    if (events.length === 0 || events[0]!.event_seq !== next) return Promise.resolve(0);
    for (const event of events) {
      if (event.event_seq !== next++) {
        return Promise.reject(
          new RangeError(`Cannot append event_seq ${event.event_seq}: the log expects ${next - 1}`),
        );
      }
    }
    log.events.push(...events);
    this.#notify(sessionId, log);
    return Promise.resolve(events.length);
  }

  /** Yields the log's bounds after each append or trim in this process, until the signal aborts. */
  async *watch(sessionId: string, options: { signal: AbortSignal }): AsyncIterable<LogBounds> {
    const { signal } = options;
    let changed = Promise.withResolvers<void>();
    let latest: LogBounds | undefined;
    const listener = (bounds: LogBounds) => {
      latest = bounds;
      changed.resolve();
    };
    const onAbort = () => changed.resolve();
    let watchers = this.#watchers.get(sessionId);
    if (watchers === undefined) this.#watchers.set(sessionId, watchers = new Set());
    watchers.add(listener);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal.aborted) {
        await changed.promise;
        changed = Promise.withResolvers();
        if (latest === undefined || signal.aborted) continue;
        const bounds = latest;
        latest = undefined;
        yield bounds;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      watchers.delete(listener);
      if (watchers.size === 0 && this.#watchers.get(sessionId) === watchers) {
        this.#watchers.delete(sessionId);
      }
    }
  }

  #notify(sessionId: string, log: SessionLog): void {
    const watchers = this.#watchers.get(sessionId);
    if (watchers === undefined) return;
    const bounds = { first: log.first, last: log.first + log.events.length - 1 };
    for (const watcher of watchers) watcher(bounds);
  }

  /** Streams retained events after `options.after`, including ones appended while reading. */
  async *read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent> {
    const log = this.#logs.get(sessionId);
    if (log === undefined) return;
    let seq = Math.max(options.after + 1, log.first);
    while (!options.signal?.aborted) {
      const event = log.events[seq - log.first];
      if (event === undefined) return;
      yield event;
      seq++;
    }
  }

  /** Drops events with `event_seq <= through`. */
  trim(sessionId: string, options: { through: number }): Promise<void> {
    const log = this.#logs.get(sessionId);
    if (log !== undefined && options.through >= log.first) {
      const count = Math.min(options.through - log.first + 1, log.events.length);
      log.events.splice(0, count);
      log.first += count;
      this.#notify(sessionId, log);
    }
    return Promise.resolve();
  }

  /** The retained range of a session's log. */
  bounds(sessionId: string): Promise<LogBounds> {
    const log = this.#logs.get(sessionId);
    if (log === undefined) return Promise.resolve({ first: 1, last: 0 });
    return Promise.resolve({ first: log.first, last: log.first + log.events.length - 1 });
  }

  /** Forgets a session's whole log. */
  drop(sessionId: string): Promise<void> {
    this.#logs.delete(sessionId);
    return Promise.resolve();
  }

  /** The record at `key`, or `undefined`. */
  get(key: RecordKey): Promise<RecordEntry | undefined> {
    return Promise.resolve(this.#records.get(key));
  }

  /** Writes a record, when `options.ifVersion` (if given) still holds. */
  set(key: RecordKey, value: unknown, options: WriteOptions = {}): Promise<boolean> {
    return Promise.resolve(this.#records.set(key, value, options.ifVersion));
  }

  /** Deletes a record, when `options.ifVersion` (if given) still holds. */
  delete(key: RecordKey, options: WriteOptions = {}): Promise<boolean> {
    return Promise.resolve(this.#records.delete(key, options.ifVersion));
  }

  /** The records under `prefix`, in key order, as they were when listing began. */
  async *list(prefix: RecordKey, options: ListOptions = {}): AsyncIterable<RecordEntry> {
    yield* this.#records.list(prefix, options.after);
  }
}
