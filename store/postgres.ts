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
import { checkSchema, migrate } from "./_pg_schema.ts";
import { LogWatchers } from "./_pg_watch.ts";
import { PgLog } from "./_pg_log.ts";
import { PgRecords } from "./_pg_records.ts";

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
  #owned: boolean;
  #log: PgLog;
  #records: PgRecords;
  #watchers: LogWatchers;

  private constructor(sql: postgres.Sql, schema: string, owned: boolean) {
    super();
    this.#sql = sql;
    this.#owned = owned;
    this.#log = new PgLog(sql, schema);
    this.#records = new PgRecords(sql, schema);
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

  /**
   * Appends a contiguous batch in one transaction; already-stored seqs are skipped.
   *
   * @throws {RangeError} when the batch would leave a gap.
   */
  async append(sessionId: string, events: readonly StoredEvent[]): Promise<void> {
    await this.#log.append(sessionId, events, false);
  }

  /**
   * Appends the batch only when it continues the log exactly, in one transaction; all or
   * nothing.
   *
   * @returns `events.length` when stored, 0 when another writer's events came first.
   * @throws {RangeError} when the batch itself has a gap.
   */
  compareAndAppend(sessionId: string, events: readonly StoredEvent[]): Promise<number> {
    return this.#log.append(sessionId, events, true);
  }

  /**
   * Yields the log's bounds once listening, then after each committed append or trim of the
   * session by any process on the database (LISTEN/NOTIFY: one notification per committed batch,
   * several folded into one while the watcher is busy), until `options.signal` aborts.
   */
  watch(sessionId: string, options: { signal: AbortSignal }): AsyncIterable<LogBounds> {
    return this.#watchers.watch(sessionId, options.signal, () => this.bounds(sessionId));
  }

  /**
   * Streams retained events after `options.after`, a page of 500 events or 4 MiB at a time,
   * including events appended while reading: it ends at the first query that finds nothing more.
   */
  async *read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent> {
    yield* this.#log.read(sessionId, options);
  }

  /** Drops events with `event_seq <= through`, bounds and events in one transaction. */
  async trim(sessionId: string, options: { through: number }): Promise<void> {
    await this.#log.trim(sessionId, options);
  }

  /** The retained range of a session's log. */
  bounds(sessionId: string): Promise<LogBounds> {
    return this.#log.bounds(sessionId);
  }

  /** Forgets a session's whole log, bounds and events in one transaction. */
  async drop(sessionId: string): Promise<void> {
    await this.#log.drop(sessionId);
  }

  /** The record at `key`, or `undefined`. */
  get(key: RecordKey): Promise<RecordEntry | undefined> {
    return this.#records.get(key);
  }

  /** Writes a record in one statement, checked against its version when asked. */
  set(key: RecordKey, value: unknown, options: WriteOptions = {}): Promise<boolean> {
    return this.#records.set(key, value, options);
  }

  /** Deletes a record in one statement, checked against its version when asked. */
  delete(key: RecordKey, options: WriteOptions = {}): Promise<boolean> {
    return this.#records.delete(key, options);
  }

  /**
   * Streams the records under `prefix` in key order (byte order of each element), one page of 200
   * at a time, resuming each page after the last key seen.
   */
  async *list(prefix: RecordKey, options: ListOptions = {}): AsyncIterable<RecordEntry> {
    yield* this.#records.list(prefix, options);
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
  // NOTICEs ("schema already exists, skipping" from migrations) are not errors: not printed.
  const options = { onnotice: () => {} };
  return target === undefined || target === "" ? postgres(options) : postgres(target, options);
}
