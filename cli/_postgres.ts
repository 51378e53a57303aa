// The PostgreSQL database behind `serve --store postgres`: opened (and its
// schema migrated) at start, with a one-line reason when it cannot be, that
// names where it looked without ever printing a password.

import process from "node:process";
import { openPostgresStore, type PostgresStore } from "../store/postgres.ts";

/** `url` without its password, or what it was not (a URL the driver will refuse anyway). */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.href;
  } catch {
    return "an unparsable URL";
  }
}

/** Where the store connects: `--postgres-url`, else `DATABASE_URL`, else the `PG*` variables. */
function where(url: string | undefined): string {
  if (url !== undefined) return redact(url);
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv !== undefined && fromEnv !== "") return `${redact(fromEnv)} (DATABASE_URL)`;
  return "the database the PG* variables name";
}

/**
 * Opens the store, migrating its schema.
 *
 * @throws {Error} a one-line message naming the database (no password) and the reason.
 */
export async function openPostgres(
  url: string | undefined,
  schema: string,
): Promise<PostgresStore> {
  try {
    return await openPostgresStore(url === undefined ? { schema } : { url, schema });
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split("\n")[0];
    throw new Error(`Cannot open the PostgreSQL store at ${where(url)}: ${reason}`);
  }
}
