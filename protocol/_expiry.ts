// This module is browser compatible.
// Lease expiration (spec 1.1 §9.5, §9.4, §14): `expires_at` parsing,
// submission-time validation and expiry checks with a bounded grace.

import { ArcpError } from "./errors.ts";
import type { LeaseConstraints } from "./messages.ts";

const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
const NANOS_PER_MS = 1_000_000n;

/** Nanoseconds since the epoch of an ISO 8601 UTC `Z` timestamp, or `undefined`. */
export function expiryNanos(value: unknown): bigint | undefined {
  if (typeof value !== "string") return undefined;
  const match = ISO_UTC.exec(value);
  if (match === null) return undefined;
  const [year, month, day, hours, minutes, seconds] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hours, minutes, seconds, 0);
  // Out-of-range fields (Feb 30, 24:00, :60) roll over; reject them instead.
  if (
    date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day || date.getUTCHours() !== hours ||
    date.getUTCMinutes() !== minutes || date.getUTCSeconds() !== seconds
  ) {
    return undefined;
  }
  return BigInt(date.getTime()) * NANOS_PER_MS + BigInt((match[7] ?? "").padEnd(9, "0"));
}

/** Parses `expires_at` or throws `INVALID_REQUEST`. */
export function requireExpiryNanos(value: unknown): bigint {
  const nanos = expiryNanos(value);
  if (nanos === undefined) {
    throw new ArcpError(
      "INVALID_REQUEST",
      `Invalid lease_constraints.expires_at ${
        JSON.stringify(value) ?? String(value)
      }: expected an ISO 8601 UTC timestamp such as "2026-05-13T23:42:00Z" (spec §9.5)`,
      { details: { expires_at: value } },
    );
  }
  return nanos;
}

function nowMillis(now: number | Date): number {
  const ms = now instanceof Date ? now.getTime() : now;
  if (typeof ms !== "number" || !Number.isFinite(ms)) {
    throw new RangeError(`Cannot check lease expiry: "now" is not a valid time (${String(now)})`);
  }
  return ms;
}

/**
 * Validates a submitted `lease_constraints.expires_at` (spec 1.1 §9.5): an
 * ISO 8601 timestamp in UTC with the `Z` suffix (`YYYY-MM-DDTHH:MM:SS`, up to
 * nine fractional digits), strictly after `now`.
 *
 * @param expiresAt The submitted value.
 * @param now The current time, as epoch milliseconds or a `Date`, from the
 * runtime's (injectable) clock.
 * @returns The expiry as epoch milliseconds, fractions truncated.
 * @throws {ArcpError} `INVALID_REQUEST` when the value is not such a
 * timestamp or is not in the future.
 * @throws {RangeError} When `now` is not a finite time.
 * @example Validate at submission
 * ```ts
 * import { validateExpiresAt } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const now = Date.parse("2026-05-13T19:30:00Z");
 * assert.equal(validateExpiresAt("2026-05-13T23:42:00Z", now), Date.parse("2026-05-13T23:42:00Z"));
 * assert.throws(() => validateExpiresAt("2026-05-13T19:00:00Z", now), { code: "INVALID_REQUEST" });
 * assert.throws(() => validateExpiresAt("2026-05-13T23:42:00+02:00", now), {
 *   code: "INVALID_REQUEST",
 * });
 * ```
 */
export function validateExpiresAt(expiresAt: unknown, now: number | Date): number {
  const nanos = requireExpiryNanos(expiresAt);
  const ms = nowMillis(now);
  if (nanos <= BigInt(Math.floor(ms)) * NANOS_PER_MS) {
    throw new ArcpError(
      "INVALID_REQUEST",
      `Invalid lease_constraints.expires_at "${expiresAt}": it is not in the future (now ${
        new Date(ms).toISOString()
      }, spec §9.5)`,
      { details: { expires_at: expiresAt } },
    );
  }
  return Number(nanos / NANOS_PER_MS);
}

/**
 * Whether a lease has expired at `now`: operations at or after `expires_at`
 * fail with `LEASE_EXPIRED` (spec 1.1 §9.5), here after a small bounded
 * grace for clock skew (spec 1.1 §14).
 *
 * @param expiresAt The lease's `expires_at`.
 * @param now The current time, as epoch milliseconds or a `Date`.
 * @param graceMs Milliseconds of tolerance after `expires_at`.
 * @returns `true` when `now ≥ expires_at + graceMs`.
 * @throws {ArcpError} `INVALID_REQUEST` when `expiresAt` is not an ISO 8601
 * UTC timestamp.
 * @throws {RangeError} When `now` or `graceMs` is not finite, or `graceMs` is
 * negative.
 * @example Expiry with the default 1 s grace
 * ```ts
 * import { isExpired } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const at = "2026-05-13T23:42:00Z";
 * const ms = Date.parse(at);
 * assert.equal(isExpired(at, ms - 1), false);
 * assert.equal(isExpired(at, ms + 999), false);
 * assert.equal(isExpired(at, ms + 1000), true);
 * assert.equal(isExpired(at, ms, 0), true);
 * ```
 */
export function isExpired(expiresAt: string, now: number | Date, graceMs = 1000): boolean {
  if (!Number.isFinite(graceMs) || graceMs < 0) {
    throw new RangeError(`Cannot check lease expiry: graceMs must be ≥ 0, got ${graceMs}`);
  }
  const nanos = requireExpiryNanos(expiresAt);
  const nowNanos = BigInt(Math.floor(nowMillis(now))) * NANOS_PER_MS;
  return nowNanos >= nanos + BigInt(Math.round(graceMs * 1e6));
}

/**
 * The effective expiry of a delegated lease (spec 1.1 §9.4): the earlier of
 * the child's and the parent's `expires_at`, so a child that omits it
 * inherits the parent's.
 *
 * @param child The child's lease constraints, if any.
 * @param parent The parent's lease constraints, if any.
 * @returns The effective `expires_at`, or `undefined` when neither has one.
 * @throws {ArcpError} `INVALID_REQUEST` when either `expires_at` is not an
 * ISO 8601 UTC timestamp.
 * @example Inherit and bound
 * ```ts
 * import { effectiveExpiry } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const parent = { expires_at: "2026-05-13T23:42:00Z" };
 * assert.equal(effectiveExpiry(undefined, parent), "2026-05-13T23:42:00Z");
 * assert.equal(effectiveExpiry({ expires_at: "2026-05-13T20:00:00Z" }, parent), "2026-05-13T20:00:00Z");
 * assert.equal(effectiveExpiry({ expires_at: "2026-05-14T00:00:00Z" }, parent), "2026-05-13T23:42:00Z");
 * assert.equal(effectiveExpiry(undefined, undefined), undefined);
 * ```
 */
export function effectiveExpiry(
  child: LeaseConstraints | undefined,
  parent: LeaseConstraints | undefined,
): string | undefined {
  const childAt = child?.expires_at;
  const parentAt = parent?.expires_at;
  if (childAt === undefined) {
    if (parentAt !== undefined) requireExpiryNanos(parentAt);
    return parentAt;
  }
  if (parentAt === undefined) {
    requireExpiryNanos(childAt);
    return childAt;
  }
  return requireExpiryNanos(childAt) <= requireExpiryNanos(parentAt) ? childAt : parentAt;
}
