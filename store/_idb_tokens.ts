// This module is browser compatible.
// The IndexedDB store's resume-token index (`session_tokens`, schema version
// 3): each session's token hashes point at its id, changed in the same
// transaction as its record. A database upgraded by an older schema has no
// index; the store then writes records alone and finds a token by a scan.

import type { SessionRecord } from "./types.ts";
import {
  type IDBDatabaseLike,
  type IDBTransactionLike,
  request,
  SESSION_TOKENS,
  SESSIONS,
  transact,
} from "./_idb.ts";
import { holdingToken, tokenChanges } from "./_tokens.ts";

/** The object stores a session write spans: `sessions`, and the index when `db` has it. */
export function sessionStores(db: IDBDatabaseLike): string[] {
  return hasTokenIndex(db) ? [SESSIONS, SESSION_TOKENS] : [SESSIONS];
}

/** Whether `db` has the resume-token index. */
export function hasTokenIndex(db: IDBDatabaseLike): boolean {
  return db.objectStoreNames.contains(SESSION_TOKENS);
}

/**
 * Replaces (given `undefined`, deletes) a session record in `tx`, which
 * spans `stores` (from {@linkcode sessionStores}), with its index entries.
 */
export async function writeSession(
  tx: IDBTransactionLike,
  stores: readonly string[],
  sessionId: string,
  record: SessionRecord | undefined,
): Promise<void> {
  const sessions = tx.objectStore(SESSIONS);
  if (stores.includes(SESSION_TOKENS)) {
    const current = await request(sessions.get(sessionId)) as SessionRecord | undefined;
    const { removed, added } = tokenChanges(current, record);
    const tokens = tx.objectStore(SESSION_TOKENS);
    for (const hash of removed) tokens.delete(hash);
    for (const hash of added) tokens.put(sessionId, hash);
  }
  await request(record === undefined ? sessions.delete(sessionId) : sessions.put(record));
}

/** The session the index names for a token hash, when it still holds that hash. */
export async function indexedSessionByToken(
  db: IDBDatabaseLike,
  tokenSha256: string,
): Promise<SessionRecord | undefined> {
  const record = await transact(db, [SESSIONS, SESSION_TOKENS], "readonly", async (tx) => {
    const sessionId = await request(tx.objectStore(SESSION_TOKENS).get(tokenSha256));
    if (typeof sessionId !== "string") return undefined;
    return await request(tx.objectStore(SESSIONS).get(sessionId)) as SessionRecord | undefined;
  });
  return holdingToken(record, tokenSha256);
}
