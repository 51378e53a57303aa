// This module is browser compatible.
// Client-chosen strings that a store keys records by (idempotency keys, list
// cursors) are bounded where they come in: a store's key is limited (Deno KV:
// 2 KiB, shared with the principal and the store's prefix), and a key the
// store refuses must be the client's INVALID_REQUEST, not the runtime's error.

import { ArcpError } from "../protocol/errors.ts";

/** Longest idempotency key or list cursor a client may send, in UTF-8 bytes. */
export const MAX_KEY_FIELD_BYTES = 512;

const encoder = new TextEncoder();

/**
 * Checks a client-chosen key field against {@linkcode MAX_KEY_FIELD_BYTES}.
 *
 * @param value The field's value, if sent.
 * @param field What to name it, e.g. `job.submit payload.idempotency_key`.
 * @throws {ArcpError} `INVALID_REQUEST` naming the field, its size and the limit.
 */
export function checkKeyField(value: string | null | undefined, field: string): void {
  // At most 3 bytes per UTF-16 unit: short strings need no encoding.
  if (value === null || value === undefined || value.length * 3 <= MAX_KEY_FIELD_BYTES) return;
  const bytes = encoder.encode(value).length;
  if (bytes > MAX_KEY_FIELD_BYTES) {
    throw new ArcpError(
      "INVALID_REQUEST",
      `Invalid ${field}: it is ${bytes} bytes, over the limit of ${MAX_KEY_FIELD_BYTES}`,
    );
  }
}
