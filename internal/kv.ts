// The structural subset of Deno KV the Deno KV store and the client's Deno
// KV resume state use, so that `@deno/kv` or a test double can stand in for
// `Deno.Kv`, and the commit both sides make. Private to the package: not
// exported.

/** A Deno KV key as the store writes it: strings and numbers. */
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

/** The subset of `Deno.AtomicOperation` the store uses. */
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
 * The subset of `Deno.Kv` the store uses, so that `@deno/kv` or a test
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
