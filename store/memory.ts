// This module is browser compatible.
/**
 * The in-memory {@linkcode EventStore}: the default, and the reference the
 * other stores are tested against.
 *
 * @module
 */

import type { EventStore, LogBounds, ReadOptions, StoredEvent } from "./types.ts";

export type { EventStore, LogBounds, ReadOptions, StoredEvent } from "./types.ts";

interface SessionLog {
  /** Retained events; `events[i]` has `event_seq === first + i`. */
  events: StoredEvent[];
  first: number;
}

/**
 * Keeps every session's event log in arrays in memory. Nothing survives the
 * process; use the Deno KV or IndexedDB store for that.
 *
 * @example Append and read back
 * ```ts
 * import { MemoryEventStore } from "@arcp/arcp/store/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
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
export class MemoryEventStore implements EventStore {
  #logs = new Map<string, SessionLog>();

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
    return Promise.resolve();
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
    }
    return Promise.resolve();
  }

  /** The retained range of a session's log. */
  bounds(sessionId: string): Promise<LogBounds> {
    const log = this.#logs.get(sessionId);
    if (log === undefined) return Promise.resolve({ first: 1, last: 0 });
    return Promise.resolve({ first: log.first, last: log.first + log.events.length - 1 });
  }
}
