// The PostgreSQL store's tables and their migrations: versioned, applied in
// order under a transaction-scoped advisory lock, so that several processes
// opening one database at once apply each migration exactly once.

import type postgres from "postgres";

/** A schema name the store accepts: a plain, unquoted-style identifier. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The schema name, checked.
 *
 * @throws {TypeError} when `schema` is not an identifier of at most 63 characters.
 */
export function checkSchema(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new TypeError(
      `Invalid PostgreSQL schema name ${
        JSON.stringify(schema)
      }: letters, digits and _ only, not starting with a digit, at most 63 characters`,
    );
  }
  return schema;
}

/**
 * The migrations, in order: migration `n` is `MIGRATIONS[n - 1]`. Append
 * only; a released migration never changes. Each statement runs with `$schema`
 * replaced by the quoted schema name.
 */
const MIGRATIONS: readonly (readonly string[])[] = [[
  `CREATE TABLE $schema.logs (
     session_id text COLLATE "C" PRIMARY KEY,
     first_seq bigint NOT NULL,
     last_seq bigint NOT NULL,
     CHECK (first_seq >= 1 AND first_seq <= last_seq + 1)
   )`,
  `CREATE TABLE $schema.events (
     session_id text COLLATE "C" NOT NULL,
     event_seq bigint NOT NULL,
     event text NOT NULL,
     PRIMARY KEY (session_id, event_seq)
   )`,
  `CREATE TABLE $schema.records (
     key text[] COLLATE "C" PRIMARY KEY,
     value text NOT NULL,
     version bigint NOT NULL
   )`,
  `CREATE SEQUENCE $schema.record_versions`,
]];

/** The version a database reaches once {@linkcode migrate} ran. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Creates the schema and applies the migrations it lacks, in one
 * transaction under an advisory lock keyed by the schema's name: a second
 * process waits for the first, then finds nothing left to do.
 *
 * @throws {Error} when the database was migrated by a newer release.
 */
export async function migrate(sql: postgres.Sql, schema: string): Promise<void> {
  const quoted = `"${checkSchema(schema)}"`;
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`arcp.migrate.${schema}`}, 0))`;
    // `IF NOT EXISTS` raises notices the caller's connection would print.
    await tx`SET LOCAL client_min_messages = warning`;
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await tx.unsafe(
      `CREATE TABLE IF NOT EXISTS ${quoted}.migrations
         (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const [row] = await tx.unsafe(
      `SELECT coalesce(max(version), 0) AS v FROM ${quoted}.migrations`,
    );
    const current = Number(row?.v ?? 0);
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `PostgreSQL schema ${quoted} is at version ${current}, newer than this release's ${SCHEMA_VERSION}`,
      );
    }
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      for (const statement of MIGRATIONS[version - 1]!) {
        await tx.unsafe(statement.replaceAll("$schema", quoted));
      }
      await tx.unsafe(`INSERT INTO ${quoted}.migrations (version) VALUES ($1)`, [version]);
    }
  });
}
