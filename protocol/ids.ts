// This module is browser compatible.
/**
 * Identifiers: message, session, job and result ids (prefix + ULID), resume
 * tokens and W3C trace-ids, all from Web Crypto randomness.
 *
 * @module
 */

import { monotonicFactory } from "ulid";

// Monotonic: ids minted in the same millisecond still sort in creation order,
// and minting one is an increment rather than sixteen random draws.
const nextUlid: () => string = monotonicFactory();

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
