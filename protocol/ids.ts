// This module is browser compatible.
/**
 * Identifiers: message, session, job and result ids (prefix + ULID), resume
 * tokens and W3C trace-ids, all from Web Crypto randomness.
 *
 * @module
 */

import { decodeTime, ulid } from "ulid";

// Every event carries a fresh id, so minting one is on the hot path. The
// library mints one ULID per millisecond (48-bit time, 80 random bits); ids
// within that millisecond keep its time and upper random bits and count up in
// the lowest 20 bits (carrying into the next 29), so they stay monotonic and
// most cost two table lookups and one concatenation.
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const PAIRS: string[] = Array.from(
  { length: 1024 },
  (_, i) => CROCKFORD[i >> 5]! + CROCKFORD[i & 31]!,
);
const COUNTER_LIMIT = 1 << 20;
let currentMs = -1;
/** The first 16 characters of the millisecond's seed ULID: time and 30 random bits. */
let seedPrefix = "";
/** Random bits 20 to 49 of the id; bit 29 starts clear, so carries never overflow. */
let middle = 0;
let head = "";
let counter = 0;

function reseed(now: number): void {
  const seed = ulid(Math.max(now, currentMs + 1));
  currentMs = decodeTime(seed);
  seedPrefix = seed.slice(0, 16);
  let low = 0;
  for (const char of seed.slice(16)) low = low * 32 + CROCKFORD.indexOf(char);
  middle = Math.floor(low / COUNTER_LIMIT) % (1 << 29);
  counter = low % COUNTER_LIMIT;
  head = seedPrefix + PAIRS[middle >> 20]! + PAIRS[(middle >> 10) & 1023]! + PAIRS[middle & 1023]!;
}

function nextUlid(): string {
  const now = Date.now();
  if (now > currentMs || middle >= (1 << 30) - 1) reseed(now);
  else if (++counter === COUNTER_LIMIT) {
    counter = 0;
    middle++;
    head = seedPrefix + PAIRS[middle >> 20]! + PAIRS[(middle >> 10) & 1023]! +
      PAIRS[middle & 1023]!;
  }
  return head + PAIRS[counter >> 10]! + PAIRS[counter & 1023]!;
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/**
 * A new envelope id, `msg_` + ULID (spec §5.1).
 *
 * @returns The id.
 * @example
 * ```ts
 * import { newMessageId } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.match(newMessageId(), /^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
 * ```
 */
export function newMessageId(): string {
  return `msg_${nextUlid()}`;
}

/**
 * A new session id, `sess_` + ULID.
 *
 * @returns The id.
 * @example
 * ```ts
 * import { newSessionId } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.match(newSessionId(), /^sess_/);
 * ```
 */
export function newSessionId(): string {
  return `sess_${nextUlid()}`;
}

/**
 * A new job id, `job_` + ULID.
 *
 * @returns The id.
 * @example
 * ```ts
 * import { newJobId } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.match(newJobId(), /^job_/);
 * ```
 */
export function newJobId(): string {
  return `job_${nextUlid()}`;
}

/**
 * A new prefixed id for other objects (`res`, `del`, `call`, `cred`, …).
 *
 * @param prefix The prefix without the underscore.
 * @returns `prefix_` + ULID.
 * @example
 * ```ts
 * import { newId } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.match(newId("res"), /^res_/);
 * ```
 */
export function newId(prefix: string): string {
  return `${prefix}_${nextUlid()}`;
}

/**
 * A new resume token: `rt_` + 64 hex digits, 256 bits from
 * `crypto.getRandomValues` (spec 1.0 §14 asks for at least 128).
 *
 * @returns The token.
 * @example
 * ```ts
 * import { newResumeToken } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.match(newResumeToken(), /^rt_[0-9a-f]{64}$/);
 * ```
 */
export function newResumeToken(): string {
  return `rt_${hex(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/**
 * A new W3C trace-id: 32 lowercase hex digits, never all zero (spec §11).
 *
 * @returns The trace-id.
 * @example
 * ```ts
 * import { newTraceId } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.match(newTraceId(), /^[0-9a-f]{32}$/);
 * ```
 */
export function newTraceId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[15] = bytes[15]! | 1;
  return hex(bytes);
}

/**
 * A new W3C span-id: 16 lowercase hex digits, never all zero (spec §11).
 *
 * @returns The span-id.
 * @example
 * ```ts
 * import { newSpanId } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.match(newSpanId(), /^[0-9a-f]{16}$/);
 * ```
 */
export function newSpanId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[7] = bytes[7]! | 1;
  return hex(bytes);
}
