// This module is browser compatible.
// A session's event log in the IndexedDB store: `events` (key
// `[session_id, event_seq]`) and `log_meta` (key `session_id`, value
// `{ first, last }`), each change in one transaction.

import type { LogBounds, ReadOptions, StoredEvent } from "./types.ts";
import { firstNewEvent } from "./_log.ts";
import { BATCH, batches, EVENTS, LOG_META } from "./_idb.ts";
import { type IDBDatabaseLike, type IDBKeyRangeLike, request, transact } from "../internal/idb.ts";

/** Appends a contiguous batch in one transaction; already-stored seqs are skipped.
 *
 * @throws {RangeError} when the batch would leave a gap (nothing is stored). */
export async function appendEvents(
  db: IDBDatabaseLike,
  sessionId: string,
  events: readonly StoredEvent[],
): Promise<void> {
  await transact(db, [EVENTS, LOG_META], "readwrite", async (tx) => {
    const meta = tx.objectStore(LOG_META);
    const bounds = (await request(meta.get(sessionId)) as LogBounds | undefined) ??
      { first: 1, last: 0 };
    const start = firstNewEvent(events, bounds.last);
    if (start === events.length) return;
    const log = tx.objectStore(EVENTS);
    for (let index = start; index < events.length; index++) {
      log.put(events[index], [sessionId, events[index]!.event_seq]);
    }
    meta.put({ first: bounds.first, last: events[events.length - 1]!.event_seq }, sessionId);
  });
}

/**
 * Streams retained events after `options.after`, one transaction per batch,
 * including events appended while reading.
 */
export function readLog(
  db: IDBDatabaseLike,
  range: IDBKeyRangeLike,
  sessionId: string,
  options: ReadOptions,
): AsyncIterable<StoredEvent> {
  return batches<StoredEvent>(db, EVENTS, (last) => {
    const from = last === undefined ? options.after + 1 : last.event_seq + 1;
    const events = range.bound([sessionId, from], [sessionId, Infinity]);
    return (tx) => tx.objectStore(EVENTS).getAll(events, BATCH);
  }, options.signal);
}

/** Drops events with `event_seq <= through`, in one transaction. */
export async function trimLog(
  db: IDBDatabaseLike,
  range: IDBKeyRangeLike,
  sessionId: string,
  options: { through: number },
): Promise<void> {
  await transact(db, [EVENTS, LOG_META], "readwrite", async (tx) => {
    const meta = tx.objectStore(LOG_META);
    const bounds = await request(meta.get(sessionId)) as LogBounds | undefined;
    if (bounds === undefined) return;
    const first = Math.min(options.through, bounds.last) + 1;
    if (first <= bounds.first) return;
    tx.objectStore(EVENTS).delete(
      range.bound([sessionId, -Infinity], [sessionId, first], false, true),
    );
    meta.put({ first, last: bounds.last }, sessionId);
  });
}

/** Forgets a session's whole log, bounds included, in one transaction. */
export async function dropLog(
  db: IDBDatabaseLike,
  range: IDBKeyRangeLike,
  sessionId: string,
): Promise<void> {
  await transact(db, [LOG_META, EVENTS], "readwrite", async (tx) => {
    tx.objectStore(LOG_META).delete(sessionId);
    await request(
      tx.objectStore(EVENTS).delete(
        range.bound([sessionId, -Infinity], [sessionId, Infinity]),
      ),
    );
  });
}

/** The retained range of a session's log. */
export async function logBounds(db: IDBDatabaseLike, sessionId: string): Promise<LogBounds> {
  const bounds = await transact(
    db,
    [LOG_META],
    "readonly",
    (tx) => request(tx.objectStore(LOG_META).get(sessionId)),
  ) as LogBounds | undefined;
  return bounds ?? { first: 1, last: 0 };
}
