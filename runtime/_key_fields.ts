// This module is browser compatible.
// Strings that a store keys records by are bounded where they come in: a
// store's key is limited (Deno KV: 2 KiB, shared by the principal id, a
// client-chosen field and the store's prefix). A client-chosen key the store
// would refuse (idempotency keys, list cursors) is the client's
// INVALID_REQUEST; an authenticator's principal id too long to key by
// refuses the hello, not every later request.

import { ArcpError } from "../protocol/errors.ts";

/** Longest idempotency key or list cursor a client may send, in UTF-8 bytes. */
export const MAX_KEY_FIELD_BYTES = 512;

/** Longest principal id an authenticator may return, in UTF-8 bytes. */
export const MAX_PRINCIPAL_ID_BYTES = 256;

const encoder = new TextEncoder();

/**
 * The UTF-8 size of `value` when it is over `limit` bytes, else `undefined`.
 */
export function bytesOver(value: string, limit: number): number | undefined {
  // At most 3 bytes per UTF-16 unit: short strings need no encoding.
  if (value.length * 3 <= limit) return undefined;
  const bytes = encoder.encode(value).length;
  return bytes > limit ? bytes : undefined;
}

/**
 * Checks a client-chosen key field against {@linkcode MAX_KEY_FIELD_BYTES}.
 *
 * @param value The field's value, if sent.
 * @param field What to name it, e.g. `job.submit payload.idempotency_key`.
 * @throws {ArcpError} `INVALID_REQUEST` naming the field, its size and the limit.
 */
export function checkKeyField(value: string | null | undefined, field: string): void {
  if (value === null || value === undefined) return;
  const bytes = bytesOver(value, MAX_KEY_FIELD_BYTES);
  if (bytes !== undefined) {
    throw new ArcpError(
      "INVALID_REQUEST",
      `Invalid ${field}: it is ${bytes} bytes, over the limit of ${MAX_KEY_FIELD_BYTES}`,
    );
  }
}
