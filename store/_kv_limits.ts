// The Deno KV limits (denokv `limits.rs`, deno `ext/kv`) and the sizes they
// are measured in, computed before a write so that an oversized value is
// refused with a clear RangeError instead of failing half-way through a batch.

import { serialize } from "node:v8";
import { serializedSizeBound } from "./_kv_size.ts";

/** Largest value: its V8 serialization, header included. */
export const MAX_VALUE_BYTES = 65_536;
/** Largest key, as encoded by Deno KV. */
export const MAX_KEY_BYTES = 2_048;
/** Mutations per atomic commit (the KV allows 1000; one is kept for the log meta). */
export const MAX_COMMIT_MUTATIONS = 999;
/** What one commit may carry: the KV allows 800 KiB; stay well under it. */
export const MAX_COMMIT_BYTES = 512 * 1024;
/** Total size of the keys a commit writes: the KV allows 80 KiB. */
export const MAX_COMMIT_KEY_BYTES = 64 * 1024;

/** A key part this store writes. */
export type KeyPart = string | number;

const encoder = new TextEncoder();

/** Bytes of `key` in Deno KV's tuple encoding (tag, escaped UTF-8, terminator; 9 per number). */
export function keySize(key: readonly KeyPart[]): number {
  let size = 0;
  for (const part of key) {
    if (typeof part === "number") {
      size += 9;
      continue;
    }
    const bytes = encoder.encode(part);
    size += 2 + bytes.length + bytes.filter((byte) => byte === 0).length;
  }
  return size;
}

/**
 * Bytes to count for `value` as Deno KV stores it (V8's structured
 * serialization, header included): an upper bound while that is within the
 * value limit, else the exact size from V8's own serializer, since the size
 * depends on how V8 holds the value (Smi or double, one- or two-byte string,
 * packed or holey array). So a value is refused or split only on its exact
 * size, and commits are packed on sizes never below the real ones.
 */
export function valueSize(value: unknown): number {
  const bound = serializedSizeBound(value, MAX_VALUE_BYTES);
  return bound <= MAX_VALUE_BYTES ? bound : serialize(value).length;
}

/** What one write adds to a commit's totals, as the KV counts them. */
export interface WriteSize {
  /** Key (counted twice by the KV) plus value bytes. */
  bytes: number;
  /** Key bytes. */
  keyBytes: number;
}

/**
 * Checks a key and value against the KV limits; `valueBytes`, when the
 * caller has serialized the value already.
 *
 * @throws {RangeError} naming `what` and the sizes, when either is too large.
 */
export function measure(
  key: readonly KeyPart[],
  value: unknown,
  what: string,
  valueBytes: number = valueSize(value),
): WriteSize {
  const keyBytes = keySize(key);
  if (keyBytes > MAX_KEY_BYTES) {
    throw new RangeError(
      `Cannot store ${what}: its key is ${keyBytes} bytes, over the Deno KV limit of ${MAX_KEY_BYTES}`,
    );
  }
  if (valueBytes > MAX_VALUE_BYTES) {
    throw new RangeError(
      `Cannot store ${what}: it serializes to ${valueBytes} bytes, over the Deno KV limit of ${MAX_VALUE_BYTES}`,
    );
  }
  return { bytes: 2 * keyBytes + valueBytes, keyBytes };
}
