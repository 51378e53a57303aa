// Session records in the Deno KV store and their resume-token index:
// `["session_token", sha256]` holds the id of the session whose current or
// previous token has that hash, changed in the same commit as the record. A database written
// before the index existed is indexed once, at the first lookup: the
// `["session_token_index"]` key says that was done.

import {
  commit,
  type KvAtomicLike,
  type KvKeyLike,
  type KvLike,
  MAX_CONFLICTS,
  READ_BATCH,
} from "./_kv.ts";
import { keySize, MAX_KEY_BYTES } from "./_kv_limits.ts";
import type { KeyBuilder } from "./_kv_log.ts";
import { resolveRecord } from "./_kv_record.ts";
import { holdingToken, tokenChanges, tokenHashes } from "./_tokens.ts";
import type { SessionRecord } from "./types.ts";

/** Adds to `op` the index changes of a session's write from `before` to `after`. */
export function indexTokens(
  op: KvAtomicLike,
  key: KeyBuilder,
  sessionId: string,
  before: SessionRecord | undefined,
  after: SessionRecord | undefined,
): void {
  const { removed, added } = tokenChanges(before, after);
  for (const hash of removed) op.delete(key("session_token", hash));
  for (const hash of added) op.set(key("session_token", hash), sessionId);
}

/** The session the index names for `tokenSha256`, when it still holds that hash. */
export async function sessionByToken(
  kv: KvLike,
  key: KeyBuilder,
  tokenSha256: string,
  getSession: (sessionId: string) => Promise<SessionRecord | undefined>,
): Promise<SessionRecord | undefined> {
  const indexKey = key("session_token", tokenSha256);
  if (keySize(indexKey) > MAX_KEY_BYTES) return undefined;
  const { value } = await kv.get(indexKey);
  if (typeof value !== "string") return undefined;
  return holdingToken(await getSession(value), tokenSha256);
}

/**
 * Indexes every stored session by its tokens, unless that was done: a pass
 * over the sessions, once per database. Each entry is committed against its
 * session's version; a session written since was indexed by that write.
 */
export async function ensureTokenIndex(kv: KvLike, key: KeyBuilder): Promise<void> {
  const done = key("session_token_index");
  if ((await kv.get(done)).value !== null) return;
  for await (const entry of kv.list({ prefix: key("session") }, { batchSize: READ_BATCH })) {
    const sessionKey = entry.key as KvKeyLike;
    const reread = async () => (await kv.get(sessionKey)).value;
    const what = `session "${String(sessionKey.at(-1))}"`;
    const record = await resolveRecord<SessionRecord>(kv, key, entry.value, reread, what);
    if (record === undefined) continue;
    const op = kv.atomic().check({ key: sessionKey, versionstamp: entry.versionstamp });
    for (const hash of tokenHashes(record)) {
      op.set(key("session_token", hash), record.session_id);
    }
    await commit(op, `the token index of ${what}`);
  }
  await commit(kv.atomic().set(done, 1), "the token index");
}

/**
 * Deletes a session record, its log meta and its token index entries in one
 * commit checked against the record, so the entries go with the very
 * version deleted; retried on conflict.
 *
 * @returns What the record's key held (a marker to parts the caller drops).
 */
export async function deleteSessionRecord(
  kv: KvLike,
  key: KeyBuilder,
  sessionId: string,
): Promise<unknown> {
  const sessionKey = key("session", sessionId);
  const what = `the deletion of session "${sessionId}"`;
  for (let conflicts = 0; conflicts <= MAX_CONFLICTS; conflicts++) {
    const entry = await kv.get(sessionKey);
    const reread = async () => (await kv.get(sessionKey)).value;
    const record = await resolveRecord<SessionRecord>(kv, key, entry.value, reread, what);
    const op = kv.atomic().check({ key: sessionKey, versionstamp: entry.versionstamp })
      .delete(sessionKey).delete(key("log_meta", sessionId));
    for (const hash of tokenHashes(record)) op.delete(key("session_token", hash));
    if (await commit(op, what) !== null) return entry.value;
  }
  throw new Error(`Cannot commit ${what}: too many conflicting writers`);
}
