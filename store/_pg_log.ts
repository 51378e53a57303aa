// A session's event log in PostgreSQL: `logs` holds each session's first and
// last seq (the row a writer locks), `events` one row per event, its JSON
// text. An append locks the session's `logs` row and inserts the whole batch
// in one statement of the same transaction, so a batch is stored entirely or
// not at all and two writers of one session take turns.

import type postgres from "postgres";
import type { LogBounds, ReadOptions, StoredEvent } from "./types.ts";
import { firstNewEvent } from "./_log.ts";
import { changePayload, LOG_CHANNEL } from "./_pg_watch.ts";
import { keepFrameText } from "../transports/frame_text.ts";

/** Events read per query at most: a read holds one page in memory. */
const READ_PAGE = 500;
/** Bytes of events per page: a page stops at the first event that reaches it (so holds at least one). */
const READ_PAGE_BYTES = 4 * 1024 * 1024;

interface LogRow {
  first_seq: string | number;
  last_seq: string | number;
}

/** The event logs of one schema. */
export class PgLog {
  #sql: postgres.Sql;
  #name: string;
  #logs: string;
  #events: string;

  constructor(sql: postgres.Sql, schema: string) {
    this.#sql = sql;
    this.#name = schema;
    this.#logs = `"${schema}".logs`;
    this.#events = `"${schema}".events`;
  }

  /**
   * Appends the batch in one transaction, skipping already-stored seqs; when `exact`, only if
   * it continues the log exactly. Returns how many events were stored.
   */
  append(sessionId: string, events: readonly StoredEvent[], exact: boolean): Promise<number> {
    if (events.length === 0) return Promise.resolve(0);
    return this.#sql.begin(async (tx) => {
      const { last } = await this.#lockLog(tx, sessionId);
      let start: number;
      if (exact) {
        if (events[0]!.event_seq !== last + 1) return 0;
        start = firstNewEvent(events, last);
      } else {
        start = firstNewEvent(events, last);
        if (start === events.length) return 0;
      }
      const batch = events.slice(start);
      // One statement, one round trip: the events, the log's new last seq
      // and the NOTIFY that wakes watchers once the transaction commits.
      // The events go as the texts the transport sends (encoded once for
      // both), one per line, numbered from the first seq. JSON text never
      // holds a raw line break (JSON.stringify escapes every one inside a
      // string), so splitting on them is exact, and far cheaper for
      // PostgreSQL than parsing the batch as JSON or a text[] literal.
      await tx.unsafe(
        `WITH stored AS (
           INSERT INTO ${this.#events} (session_id, event_seq, event)
             SELECT $1, $3::bigint + n - 1, e
               FROM unnest(string_to_array($2::text, E'\\n')) WITH ORDINALITY AS batch(e, n)
         ), moved AS (
           UPDATE ${this.#logs} SET last_seq = $4 WHERE session_id = $1
         )
         SELECT pg_notify($5, $6)`,
        [
          sessionId,
          batch.map(keepFrameText).join("\n"),
          batch[0]!.event_seq,
          batch.at(-1)!.event_seq,
          LOG_CHANNEL,
          changePayload(this.#name, sessionId),
        ],
      );
      return batch.length;
    });
  }

  /** Tells watchers, once this transaction commits, that the session's log changed: one NOTIFY per transaction. */
  async #notify(tx: postgres.TransactionSql, sessionId: string): Promise<void> {
    await tx.unsafe(`SELECT pg_notify($1, $2)`, [
      LOG_CHANNEL,
      changePayload(this.#name, sessionId),
    ]);
  }

  /**
   * Locks the session's log row until the transaction ends, creating it
   * first when missing (a session's first append only: one round trip
   * otherwise).
   */
  async #lockLog(tx: postgres.TransactionSql, sessionId: string): Promise<LogBounds> {
    const lock = () =>
      tx.unsafe<LogRow[]>(
        `SELECT first_seq, last_seq FROM ${this.#logs} WHERE session_id = $1 FOR UPDATE`,
        [sessionId],
      );
    let [row] = await lock();
    if (row === undefined) {
      await tx.unsafe(
        `INSERT INTO ${this.#logs} (session_id, first_seq, last_seq) VALUES ($1, 1, 0)
           ON CONFLICT (session_id) DO NOTHING`,
        [sessionId],
      );
      [row] = await lock();
    }
    return { first: Number(row!.first_seq), last: Number(row!.last_seq) };
  }

  /** Streams retained events after `options.after`, a page at a time, until a query finds nothing more. */
  async *read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent> {
    let after = options.after;
    while (!options.signal?.aborted) {
      // A page ends at READ_PAGE events or once READ_PAGE_BYTES are reached, whichever is first:
      // the running sum streams with the index scan, so LIMIT still stops it early.
      const rows = await this.#sql.unsafe<{ event: string }[]>(
        `SELECT event FROM (
           SELECT event, octet_length(event) AS size,
                  sum(octet_length(event)) OVER (ORDER BY event_seq) AS total
             FROM ${this.#events}
             WHERE session_id = $1 AND event_seq > $2 ORDER BY event_seq LIMIT ${READ_PAGE}
         ) page WHERE total - size < ${READ_PAGE_BYTES}`,
        [sessionId, after],
      );
      for (const row of rows) {
        if (options.signal?.aborted) return;
        const event = JSON.parse(row.event) as StoredEvent;
        after = event.event_seq;
        yield event;
      }
      // A short page may have been followed by appends meanwhile: stop only at an empty one.
      if (rows.length === 0) return;
    }
  }

  /** Drops events with `event_seq <= through`, bounds and events in one transaction. */
  async trim(sessionId: string, options: { through: number }): Promise<void> {
    await this.#sql.begin(async (tx) => {
      const [row] = await tx.unsafe<LogRow[]>(
        `SELECT first_seq, last_seq FROM ${this.#logs} WHERE session_id = $1 FOR UPDATE`,
        [sessionId],
      );
      if (row === undefined) return;
      const first = Number(row.first_seq);
      const last = Number(row.last_seq);
      if (options.through < first) return;
      const through = Math.min(options.through, last);
      await tx.unsafe(`UPDATE ${this.#logs} SET first_seq = $2 WHERE session_id = $1`, [
        sessionId,
        through + 1,
      ]);
      await tx.unsafe(`DELETE FROM ${this.#events} WHERE session_id = $1 AND event_seq <= $2`, [
        sessionId,
        through,
      ]);
      await this.#notify(tx, sessionId);
    });
  }

  /** The retained range of a session's log. */
  async bounds(sessionId: string): Promise<LogBounds> {
    const [row] = await this.#sql.unsafe<LogRow[]>(
      `SELECT first_seq, last_seq FROM ${this.#logs} WHERE session_id = $1`,
      [sessionId],
    );
    if (row === undefined) return { first: 1, last: 0 };
    return { first: Number(row.first_seq), last: Number(row.last_seq) };
  }

  /** Forgets a session's whole log, bounds and events in one transaction. */
  async drop(sessionId: string): Promise<void> {
    await this.#sql.begin(async (tx) => {
      await tx.unsafe(`DELETE FROM ${this.#logs} WHERE session_id = $1`, [sessionId]);
      await tx.unsafe(`DELETE FROM ${this.#events} WHERE session_id = $1`, [sessionId]);
    });
  }
}
