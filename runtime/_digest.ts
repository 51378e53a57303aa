// This module is browser compatible.
// SHA-256 digests: of resume tokens (stored hashed, compared in constant time)
// and of submissions, whose fingerprint decides "identical parameters" for an
// idempotency key (spec §7.2) over canonical JSON, so key order does not matter.

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import type { JobSubmitPayload } from "../protocol/messages.ts";

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== "object") return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    sorted[key] = canonical((value as Record<string, unknown>)[key]);
  }
  return sorted;
}

/**
 * Lowercase hex SHA-256 of `text`. Synchronous (noble's audited pure-JS
 * SHA-256): every submit with an idempotency key pays for one, and Web
 * Crypto's async digest costs several times more for such small inputs.
 */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

/** The fingerprint of a submission: agent, input, lease request, constraints and time limit. */
export function submissionFingerprint(payload: JobSubmitPayload): string {
  return sha256Hex(JSON.stringify(canonical([
    payload.agent,
    payload.input ?? null,
    payload.lease_request ?? {},
    payload.lease_constraints ?? {},
    payload.max_runtime_sec ?? null,
  ])));
}

/** Compares two equal-length hex digests without an early exit, so timing says nothing. */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
