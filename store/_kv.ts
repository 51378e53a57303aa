// The Deno KV store's read and write helpers, on the structural KV of
// `internal/kv.ts`.

import { keySize, MAX_COMMIT_BYTES, MAX_COMMIT_MUTATIONS, MAX_KEY_BYTES } from "./_kv_limits.ts";
import {
  commit,
  type KvAtomicLike,
  type KvKeyLike,
  type KvLike,
  type KvListSelectorLike,
} from "../internal/kv.ts";

/** Entries read per `list` call: a read streams, it never loads a whole log. */
export const READ_BATCH = 256;
/** Conflicting commits tolerated in one operation before giving up. */
export const MAX_CONFLICTS = 100;

/**
 * Reads `key`, lets `step` decide from its value, and commits the write
 * `step` returns (if any) only if `key` has not changed since; retries on
 * a conflict.
 */
export async function commitChecked<T>(
  kv: KvLike,
  key: KvKeyLike,
  what: string,
  step: (value: unknown) => { op?: KvAtomicLike; result: T },
): Promise<T> {
  for (let conflicts = 0; conflicts <= MAX_CONFLICTS; conflicts++) {
    const existing = await kv.get(key);
    const { op, result } = step(existing.value);
    if (op === undefined) return result;
    op.check({ key, versionstamp: existing.versionstamp });
    if (await commit(op, what) !== null) return result;
  }
  throw new Error(`Cannot store ${what}: too many conflicting writers`);
}

/** Deletes every key `selector` lists, in commits of at most 999 deletes. */
export async function deleteAll(kv: KvLike, selector: KvListSelectorLike): Promise<void> {
  for (;;) {
    const keys: KvKeyLike[] = [];
    let bytes = 0;
    for await (const entry of kv.list(selector, { limit: MAX_COMMIT_MUTATIONS })) {
      const key = entry.key as KvKeyLike;
      bytes += keySize(key);
      keys.push(key);
      if (bytes > MAX_COMMIT_BYTES - MAX_KEY_BYTES) break;
    }
    if (keys.length === 0) return;
    const op = kv.atomic();
    for (const key of keys) op.delete(key);
    await commit(op, "deletions");
  }
}

/**
 * The value of `key` now and after each change, through `kv.watch`, until
 * `signal` aborts; nothing when the KV cannot watch.
 */
export async function* watchValues(
  kv: KvLike,
  key: KvKeyLike,
  options: { signal: AbortSignal },
): AsyncIterable<unknown> {
  const { signal } = options;
  if (kv.watch === undefined || signal.aborted) return;
  const reader = kv.watch([key]).getReader();
  // Ends the watch; a watch that cannot be cancelled is already over.
  const onAbort = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || signal.aborted) return;
      yield value[0]?.value ?? null;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    // The same: a watch that cannot be cancelled is already over.
    await reader.cancel().catch(() => {});
  }
}
