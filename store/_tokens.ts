// This module is browser compatible.
// The resume-token index every store keeps beside its session records, so a
// resume naming no session finds it by the token's hash alone. The hashes are
// what records already hold; an index entry is only a pointer, and a lookup
// keeps a record only while it still holds the hash.

import type { SessionRecord } from "./types.ts";

/** The token hashes a session record answers to: its current one and any previous one. */
export function tokenHashes(record: SessionRecord | undefined): string[] {
  if (record === undefined) return [];
  const hashes = [record.resume_token_sha256];
  const previous = record.previous_token_sha256;
  if (previous && previous !== record.resume_token_sha256) hashes.push(previous);
  return hashes;
}

/** The index entries a write from `before` to `after` removes and adds. */
export function tokenChanges(
  before: SessionRecord | undefined,
  after: SessionRecord | undefined,
): { removed: string[]; added: string[] } {
  const kept = tokenHashes(after);
  return { removed: tokenHashes(before).filter((hash) => !kept.includes(hash)), added: kept };
}

/** `record`, when it still answers to `tokenSha256` (an index entry may be stale). */
export function holdingToken(
  record: SessionRecord | undefined,
  tokenSha256: string,
): SessionRecord | undefined {
  return record !== undefined && tokenHashes(record).includes(tokenSha256) ? record : undefined;
}
