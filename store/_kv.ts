// The structural subset of Deno KV the Deno KV store uses, so that
// `@deno/kv` or a test double can stand in for `Deno.Kv`, and the read and
// write helpers built on it.

import { keySize, MAX_COMMIT_BYTES, MAX_COMMIT_MUTATIONS, MAX_KEY_BYTES } from "./_kv_limits.ts";

/** A Deno KV key as this store writes it: strings and numbers. */
export type KvKeyLike = readonly (string | number)[];

/** An entry read from a KV; `versionstamp` is `null` when the key is absent. */
export interface KvEntryLike {
  /** The entry's key. */
  readonly key: readonly unknown[];
  /** The stored value, or `null` when absent. */
  readonly value: unknown;
  /** The entry's version, or `null` when absent. */
  readonly versionstamp: string | null;
}

/** A range of keys to list, as `Deno.KvListSelector`. */
export type KvListSelectorLike =
  | { prefix: KvKeyLike }
  | { prefix: KvKeyLike; start: KvKeyLike }
  | { prefix: KvKeyLike; end: KvKeyLike }
  | { start: KvKeyLike; end: KvKeyLike };

/** The subset of `Deno.AtomicOperation` this store uses. */
export interface KvAtomicLike {
  /** Fails the commit unless `key` is still at `versionstamp` (`null`: absent). */
  check(...checks: { key: KvKeyLike; versionstamp: string | null }[]): KvAtomicLike;
  /** Sets a key. */
  set(key: KvKeyLike, value: unknown): KvAtomicLike;
  /** Deletes a key. */
  delete(key: KvKeyLike): KvAtomicLike;
  /** Commits; `ok: false` when a check failed. */
  commit(): Promise<{ ok: true; versionstamp: string } | { ok: false }>;
}

/**
 * The subset of `Deno.Kv` this store uses, so that `@deno/kv` or a test
 * double can be given instead.
 */
export interface KvLike {
  /** Reads one key. */
  get(key: KvKeyLike): Promise<KvEntryLike>;
  /** Lists a range of keys in key order, fetching `batchSize` at a time. */
  list(
    selector: KvListSelectorLike,
    options?: { limit?: number; batchSize?: number },
  ): AsyncIterable<KvEntryLike>;
  /** Starts an atomic operation. */
  atomic(): KvAtomicLike;
  /** Streams the entries of `keys` now and after each change; optional. */
  watch?(keys: readonly KvKeyLike[]): ReadableStream<readonly KvEntryLike[]>;
  /** Closes the database. */
  close(): void;
}

/** Entries read per `list` call: a read streams, it never loads a whole log. */
export const READ_BATCH = 256;
/** Conflicting commits tolerated in one operation before giving up. */
export const MAX_CONFLICTS = 100;
/** Attempts at a write a local KV file refuses as locked, about two seconds in all. */
const LOCKED_ATTEMPTS = 100;

/**
 * Commits `op`: its versionstamp, or `null` when a check failed. The KV's
 * own size errors become RangeErrors naming `what`. A local KV file refuses
 * a write while another handle (another process) writes, with "database is
 * locked": that write is tried again after a short pause.
 */
export async function commit(op: KvAtomicLike, what: string): Promise<string | null> {
  for (let attempt = 1;; attempt++) {
    try {
      const result = await op.commit();
      return result.ok ? result.versionstamp : null;
    } catch (error) {
      if (error instanceof TypeError && /too large/i.test(error.message)) {
        throw new RangeError(`Cannot store ${what}: ${error.message}`, { cause: error });
      }
      const locked = error instanceof Error && /database is locked/i.test(error.message);
      if (!locked || attempt === LOCKED_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 20));
    }
  }
}

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
