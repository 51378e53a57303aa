// Records in PostgreSQL: the `records` table holds each record's key as a
// `text[]` (compared in byte order), its JSON text and a version drawn from
// the `record_versions` sequence. A write checked by version is one
// conditional statement.

import type postgres from "postgres";
import type { ListOptions, RecordEntry, RecordKey, WriteOptions } from "./types.ts";

/** Records listed per query. */
const LIST_PAGE = 200;
/** Sorts after every string the store's keys hold, to bound a prefix range. */
const PAST_ANY = "\u{10FFFF}";

/** The records of one schema. */
export class PgRecords {
  #sql: postgres.Sql;
  #records: string;
  #next: string;

  constructor(sql: postgres.Sql, schema: string) {
    this.#sql = sql;
    this.#records = `"${schema}".records`;
    this.#next = `nextval('"${schema}".record_versions')`;
  }

  /** The record at `key`, or `undefined`. */
  async get(key: RecordKey): Promise<RecordEntry | undefined> {
    const [row] = await this.#sql.unsafe<{ value: string; version: string }[]>(
      `SELECT value, version FROM ${this.#records} WHERE key = $1::text[]`,
      [encodeKey(key)],
    );
    return row === undefined
      ? undefined
      : { key, value: JSON.parse(row.value), version: `${row.version}` };
  }

  /** Writes a record in one statement, checked against its version when asked. */
  async set(key: RecordKey, value: unknown, options: WriteOptions = {}): Promise<boolean> {
    const records = this.#records;
    const next = this.#next;
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
    const records = this.#records;
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

  /** Streams the records under `prefix` in key order, a page at a time, resuming after the last key seen. */
  async *list(prefix: RecordKey, options: ListOptions = {}): AsyncIterable<RecordEntry> {
    const head = encodeKey(prefix);
    // Every key under the prefix sorts below the prefix with its last element extended.
    const upper = [...head.slice(0, -1), `${head.at(-1) ?? ""}${PAST_ANY}`];
    let after: string[] = options.after === undefined || compare(encodeKey(options.after), head) < 0
      ? head
      : encodeKey(options.after);
    while (true) {
      const rows = await this.#sql.unsafe<{ key: string[]; value: string; version: string }[]>(
        `SELECT key, value, version FROM ${this.#records}
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
