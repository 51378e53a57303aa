/**
 * A {@linkcode Store} on PostgreSQL, through the `postgres` driver (which
 * runs on Deno, Bun and Node): event logs and records (sessions, jobs,
 * idempotency keys, the credential ledger, instance heartbeats) survive
 * restarts and are shared by every process that opens the same database and
 * schema.
 *
 * Tables, in a schema of their own (`arcp` unless told otherwise), created
 * and migrated when the store opens: `logs` (each session log's first and
 * last seq, the row a writer locks), `events` (one row per event, its JSON
 * text), `records` (each record's key as a `text[]` in byte order, its JSON
 * text and a version drawn from a sequence) and `migrations`.
 *
 * @example Open a store, append and read back
 * ```ts ignore
 * import { openPostgresStore } from "@arcp/arcp/store/postgres";
 * import assert from "node:assert/strict";
 *
 * // Connects to DATABASE_URL, else to what the PG* variables say.
 * const store = await openPostgresStore({ schema: "arcp" });
 * const event = (seq: number) => ({
 *   arcp: "1.1", id: `m${seq}`, type: "job.event", job_id: "job_1", event_seq: seq,
 *   payload: { kind: "log", ts: new Date().toISOString(), body: { level: "info", message: `${seq}` } },
 * });
 * await store.append("sess_1", [event(1), event(2)]);
 * assert.deepEqual(await store.bounds("sess_1"), { first: 1, last: 2 });
 * await store.close();
 * ```
 *
 * @module
 */

import postgres from "postgres";
import process from "node:process";
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
import { firstNewEvent } from "./_log.ts";
import { checkSchema, migrate } from "./_pg_schema.ts";
import { changePayload, LOG_CHANNEL, LogWatchers } from "./_pg_watch.ts";

export type * from "./types.ts";
export { StoreRecords } from "./records.ts";

/**
 * A connection (pool) of the `postgres` driver, as `postgres(url)` returns
 * it: the store runs its queries with `begin` and `unsafe`. Typed by shape,
 * so that the driver's own types stay out of this module's API.
 */
export interface PostgresSql {
  /** Runs a function in a transaction. */
  begin: (...args: never[]) => unknown;
  /** Runs a query given as text. */
  unsafe: (...args: never[]) => unknown;
  /** Ends the connections. */
  end: (...args: never[]) => unknown;
}

/** Options of {@linkcode openPostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * A connection URL (`postgres://user:password@host:port/database`). Without
   * it (and without `sql`), the `DATABASE_URL` environment variable, else the
   * driver's `PG*` variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
   * `PGDATABASE`) and their defaults.
   */
  url?: string;
  /**
   * The schema the store's tables live in, created when missing: letters,
   * digits and `_`, not starting with a digit, at most 63 characters.
   *
   * @default {"arcp"}
   */
  schema?: string;
  /**
   * A connection (pool) the caller owns and ends; the store never ends it.
   * Takes precedence over `url`.
   */
  sql?: PostgresSql;
}

/** Events read per query at most: a read holds one page in memory. */
const READ_PAGE = 500;
/** Bytes of events per page: a page stops at the first event that reaches it (so holds at least one). */
const READ_PAGE_BYTES = 4 * 1024 * 1024;
/** Records listed per query. */
const LIST_PAGE = 200;
/** Sorts after every string the store's keys hold, to bound a prefix range. */
const PAST_ANY = "\u{10FFFF}";

interface LogRow {
  first_seq: string | number;
  last_seq: string | number;
}

/**
 * Keeps a runtime's state in PostgreSQL. Every append takes the session's
 * row of `logs` with `SELECT ... FOR UPDATE` and inserts the whole batch in
 * one statement of the same transaction: a batch is stored entirely or not
 * at all, and two writers of one session take turns, so
 * {@linkcode PostgresStore.compareAndAppend} never interleaves their events.
 * A record write checked by version is one conditional statement.
 *
 * Events and record values are stored as JSON text, up to PostgreSQL's 1 GB
 * per value; a NUL in a record key is escaped, in an order-preserving way,
 * since PostgreSQL text cannot hold one.
 *
 * @example A store on a connection the caller owns
 * ```ts ignore
 * import postgres from "postgres";
 * import { openPostgresStore } from "@arcp/arcp/store/postgres";
 *
 * const sql = postgres("postgres://arcp@127.0.0.1:5432/arcp");
 * const store = await openPostgresStore({ sql, schema: "tenant_7" });
 * await store.close(); // does not end `sql`
 * await sql.end();
 * ```
 */
export class PostgresStore extends StoreRecords {
  #sql: postgres.Sql;
  #schema: string;
  #owned: boolean;
  #name: string;
  #watchers: LogWatchers;

  private constructor(sql: postgres.Sql, schema: string, owned: boolean) {
    super();
    this.#sql = sql;
    this.#name = schema;
    this.#schema = `"${schema}"`;
    this.#owned = owned;
    this.#watchers = new LogWatchers(sql, schema);
  }

  /**
   * Connects (unless given `options.sql`), creates the schema and applies
   * the migrations it lacks. Several processes may open one schema at once.
   *
   * @throws {TypeError} when `options.schema` is not a valid name.
   * @throws {Error} when the database cannot be reached or refuses the
   *   migrations; a connection the store opened is ended first.
   */
  static async open(options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const schema = checkSchema(options.schema ?? "arcp");
    const owned = options.sql === undefined;
    const sql = options.sql === undefined ? connect(options.url) : options.sql as postgres.Sql;
    try {
      await migrate(sql, schema);
    } catch (error) {
      if (owned) await sql.end({ timeout: 0 });
      throw error;
    }
    return new PostgresStore(sql, schema, owned);
  }

  #table(name: string): string {
    return `${this.#schema}.${name}`;
  }

  /**
   * Appends a contiguous batch in one transaction; already-stored seqs are skipped.
   *
   * @throws {RangeError} when the batch would leave a gap.
   */
  async append(sessionId: string, events: readonly StoredEvent[]): Promise<void> {
    await this.#append(sessionId, events, false);
  }

  /**
   * Appends the batch only when it continues the log exactly, in one transaction; all or
   * nothing.
   *
   * @returns `events.length` when stored, 0 when another writer's events came first.
   * @throws {RangeError} when the batch itself has a gap.
   */
  compareAndAppend(sessionId: string, events: readonly StoredEvent[]): Promise<number> {
    return this.#append(sessionId, events, true);
  }

  #append(sessionId: string, events: readonly StoredEvent[], exact: boolean): Promise<number> {
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
      await tx.unsafe(
        `INSERT INTO ${this.#table("events")} (session_id, event_seq, event)
           SELECT $1, seq, event FROM unnest($2::bigint[], $3::text[]) AS batch(seq, event)`,
        [sessionId, batch.map((e) => e.event_seq), batch.map((e) => JSON.stringify(e))],
      );
      await tx.unsafe(`UPDATE ${this.#table("logs")} SET last_seq = $2 WHERE session_id = $1`, [
        sessionId,
        batch.at(-1)!.event_seq,
      ]);
      await this.#notify(tx, sessionId);
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
   * Yields the log's bounds once listening, then after each committed append or trim of the
   * session by any process on the database (LISTEN/NOTIFY: one notification per committed batch,
   * several folded into one while the watcher is busy), until `options.signal` aborts.
   */
  watch(sessionId: string, options: { signal: AbortSignal }): AsyncIterable<LogBounds> {
    return this.#watchers.watch(sessionId, options.signal, () => this.bounds(sessionId));
  }

  /** Creates the session's log row when missing and locks it until the transaction ends. */
  async #lockLog(tx: postgres.TransactionSql, sessionId: string): Promise<LogBounds> {
    await tx.unsafe(
      `INSERT INTO ${this.#table("logs")} (session_id, first_seq, last_seq) VALUES ($1, 1, 0)
         ON CONFLICT (session_id) DO NOTHING`,
      [sessionId],
    );
    const [row] = await tx.unsafe<LogRow[]>(
      `SELECT first_seq, last_seq FROM ${this.#table("logs")} WHERE session_id = $1 FOR UPDATE`,
      [sessionId],
    );
    return { first: Number(row!.first_seq), last: Number(row!.last_seq) };
  }

  /**
   * Streams retained events after `options.after`, a page of 500 events or 4 MiB at a time,
   * including events appended while reading: it ends at the first query that finds nothing more.
   */
  async *read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent> {
    let after = options.after;
    while (!options.signal?.aborted) {
      // A page ends at READ_PAGE events or once READ_PAGE_BYTES are reached, whichever is first:
      // the running sum streams with the index scan, so LIMIT still stops it early.
      const rows = await this.#sql.unsafe<{ event: string }[]>(
        `SELECT event FROM (
           SELECT event, octet_length(event) AS size,
                  sum(octet_length(event)) OVER (ORDER BY event_seq) AS total
             FROM ${this.#table("events")}
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
        `SELECT first_seq, last_seq FROM ${this.#table("logs")} WHERE session_id = $1 FOR UPDATE`,
        [sessionId],
      );
      if (row === undefined) return;
      const first = Number(row.first_seq);
      const last = Number(row.last_seq);
      if (options.through < first) return;
      const through = Math.min(options.through, last);
      await tx.unsafe(`UPDATE ${this.#table("logs")} SET first_seq = $2 WHERE session_id = $1`, [
        sessionId,
        through + 1,
      ]);
      await tx.unsafe(
        `DELETE FROM ${this.#table("events")} WHERE session_id = $1 AND event_seq <= $2`,
        [sessionId, through],
      );
      await this.#notify(tx, sessionId);
    });
  }

  /** The retained range of a session's log. */
  async bounds(sessionId: string): Promise<LogBounds> {
    const [row] = await this.#sql.unsafe<LogRow[]>(
      `SELECT first_seq, last_seq FROM ${this.#table("logs")} WHERE session_id = $1`,
      [sessionId],
    );
    if (row === undefined) return { first: 1, last: 0 };
    return { first: Number(row.first_seq), last: Number(row.last_seq) };
  }

  /** Forgets a session's whole log, bounds and events in one transaction. */
  async drop(sessionId: string): Promise<void> {
    await this.#sql.begin(async (tx) => {
      await tx.unsafe(`DELETE FROM ${this.#table("logs")} WHERE session_id = $1`, [sessionId]);
      await tx.unsafe(`DELETE FROM ${this.#table("events")} WHERE session_id = $1`, [sessionId]);
    });
  }

  /** The record at `key`, or `undefined`. */
  async get(key: RecordKey): Promise<RecordEntry | undefined> {
    const [row] = await this.#sql.unsafe<{ value: string; version: string }[]>(
      `SELECT value, version FROM ${this.#table("records")} WHERE key = $1::text[]`,
      [encodeKey(key)],
    );
    return row === undefined
      ? undefined
      : { key, value: JSON.parse(row.value), version: `${row.version}` };
  }

  /** Writes a record in one statement, checked against its version when asked. */
  async set(key: RecordKey, value: unknown, options: WriteOptions = {}): Promise<boolean> {
    const records = this.#table("records");
    const next = `nextval('${this.#schema}.record_versions')`;
    const params = [encodeKey(key), JSON.stringify(value)];
    const { ifVersion } = options;
    if (ifVersion === undefined) {
      await this.#sql.unsafe(
        `INSERT INTO ${records} (key, value, version) VALUES ($1::text[], $2::text, ${next})
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version`,
        params,
      );
      return true;
    }
    if (ifVersion === null) {
      const rows = await this.#sql.unsafe(
        `INSERT INTO ${records} (key, value, version) VALUES ($1::text[], $2::text, ${next})
           ON CONFLICT (key) DO NOTHING RETURNING 1`,
        params,
      );
      return rows.length === 1;
    }
    if (!/^\d{1,18}$/.test(ifVersion)) return false;
    const rows = await this.#sql.unsafe(
      `UPDATE ${records} SET value = $2::text, version = ${next}
         WHERE key = $1::text[] AND version = $3::bigint RETURNING 1`,
      [...params, ifVersion],
    );
    return rows.length === 1;
  }

  /** Deletes a record in one statement, checked against its version when asked. */
  async delete(key: RecordKey, options: WriteOptions = {}): Promise<boolean> {
    const records = this.#table("records");
    const { ifVersion } = options;
    if (ifVersion === undefined) {
      await this.#sql.unsafe(`DELETE FROM ${records} WHERE key = $1::text[]`, [encodeKey(key)]);
      return true;
    }
    if (ifVersion === null) return (await this.get(key)) === undefined;
    if (!/^\d{1,18}$/.test(ifVersion)) return false;
    const rows = await this.#sql.unsafe(
      `DELETE FROM ${records} WHERE key = $1::text[] AND version = $2::bigint RETURNING 1`,
      [encodeKey(key), ifVersion],
    );
    return rows.length === 1;
  }

  /**
   * Streams the records under `prefix` in key order (byte order of each element), one page of 200
   * at a time, resuming each page after the last key seen.
   */
  async *list(prefix: RecordKey, options: ListOptions = {}): AsyncIterable<RecordEntry> {
    const head = encodeKey(prefix);
    // Every key under the prefix sorts below the prefix with its last element extended.
    const upper = [...head.slice(0, -1), `${head.at(-1) ?? ""}${PAST_ANY}`];
    let after: string[] = options.after === undefined || compare(encodeKey(options.after), head) < 0
      ? head
      : encodeKey(options.after);
    while (true) {
      const rows = await this.#sql.unsafe<{ key: string[]; value: string; version: string }[]>(
        `SELECT key, value, version FROM ${this.#table("records")}
           WHERE key > $1::text[] AND key < $2::text[]
             AND key[1:$3] = $4::text[] AND cardinality(key) > $3
           ORDER BY key LIMIT ${LIST_PAGE}`,
        [after, upper, head.length, head],
      );
      for (const row of rows) {
        yield { key: decodeKey(row.key), value: JSON.parse(row.value), version: `${row.version}` };
      }
      if (rows.length < LIST_PAGE) return;
      after = rows.at(-1)!.key;
    }
  }

  /** Ends every watch, and the connection if the store opened it; a given `sql` stays open. */
  async close(): Promise<void> {
    await this.#watchers.close();
    if (this.#owned) {
      this.#owned = false;
      await this.#sql.end();
    }
  }
}

/**
 * Opens a store on PostgreSQL: see {@linkcode PostgresStore.open}.
 *
 * @param options The connection and schema.
 * @returns The store, its schema migrated.
 * @throws {TypeError} when `options.schema` is not a valid name.
 * @throws {Error} when the database cannot be reached or refuses the migrations.
 *
 * @example Open on a URL, in a schema of one's own
 * ```ts ignore
 * import { openPostgresStore } from "@arcp/arcp/store/postgres";
 *
 * const store = await openPostgresStore({
 *   url: "postgres://arcp@127.0.0.1:5432/arcp",
 *   schema: "arcp_staging",
 * });
 * await store.close();
 * ```
 */
export function openPostgresStore(options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  return PostgresStore.open(options);
}

/** A connection from `url`, else `DATABASE_URL`, else the driver's `PG*` defaults. */
function connect(url: string | undefined): postgres.Sql {
  const target = url ?? process.env.DATABASE_URL;
  const options = { onnotice: () => {} };
  return target === undefined || target === "" ? postgres(options) : postgres(target, options);
}

/**
 * A key as stored: PostgreSQL text holds no NUL, so NUL becomes U+0001 U+0001
 * and U+0001 becomes U+0001 U+0002, an escape that keeps byte order.
 */
function encodeKey(key: RecordKey): string[] {
  return key.map((part) =>
    part.includes("\u0000") || part.includes("\u0001")
      ? part.replaceAll("\u0001", "\u0001\u0002").replaceAll("\u0000", "\u0001\u0001")
      : part
  );
}

/** A stored key as it was given: the inverse of {@linkcode encodeKey}. */
function decodeKey(key: readonly string[]): string[] {
  return key.map((part) => {
    if (!part.includes("\u0001")) return part;
    let decoded = "";
    for (let i = 0; i < part.length; i++) {
      const char = part[i]!;
      decoded += char !== "\u0001" ? char : part[++i] === "\u0001" ? "\u0000" : "\u0001";
    }
    return decoded;
  });
}

/** Compares two keys element by element, as PostgreSQL compares `text[] COLLATE "C"`. */
function compare(a: RecordKey, b: RecordKey): number {
  const encoder = new TextEncoder();
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = encoder.encode(a[i]!);
    const y = encoder.encode(b[i]!);
    for (let j = 0; j < Math.min(x.length, y.length); j++) {
      if (x[j] !== y[j]) return x[j]! - y[j]!;
    }
    if (x.length !== y.length) return x.length - y.length;
  }
  return a.length - b.length;
}
