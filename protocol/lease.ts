// This module is browser compatible.
/**
 * Leases (spec §9): grammar validation, enforcement checks against
 * canonical targets, the delegation subset relation, and expiry.
 *
 * Namespaces are read as follows. `fs.read`/`fs.write` patterns are absolute
 * path globs, `net.fetch` patterns are http(s) URL globs, `tool.call`,
 * `agent.delegate` and `model.use` patterns are name globs, and
 * `cost.budget` patterns are amounts (spec 1.1 §9.6). Vendor namespaces
 * (`x-…`) and other well-formed but unknown namespaces are accepted, carried
 * untouched and reported, so a newer peer's lease is not refused; their
 * patterns match as plain globs and are only ever subset-equal to an
 * identical parent pattern.
 *
 * Targets and path or URL patterns are canonicalised alike (see
 * `canonical.ts`) before matching. In a `net.fetch` pattern, scheme and port
 * are literal, `*` in the host spans one DNS label and `**` any number of
 * labels (so any host is `https://**\/**`), and the path is a segment glob.
 * A pattern without a query allows any query; a pattern with one requires
 * the target's serialised query to match it as a glob.
 *
 * @example Validate and enforce a lease
 * ```ts
 * import { authorize, leaseAllows, validateLease } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const { lease } = validateLease({
 *   "fs.read": ["/workspace/**"],
 *   "net.fetch": ["https://api.example.com/**"],
 * });
 * assert.ok(leaseAllows(lease, "fs.read", "/workspace/src/a.ts"));
 * assert.ok(!leaseAllows(lease, "fs.read", "/workspace/../etc/passwd"));
 * const decision = authorize(lease, "net.fetch", "HTTPS://API.EXAMPLE.COM:443/v1");
 * assert.deepEqual(decision, {
 *   allowed: true,
 *   capability: "net.fetch",
 *   target: "https://api.example.com/v1",
 *   pattern: "https://api.example.com/**",
 * });
 * ```
 *
 * @module
 */

import { patternKind, patternMatches } from "./_lease_patterns.ts";
import { canonicalFsPath, canonicalName, type Checked } from "./_path.ts";
import { formatUrl, parseUrl, type UrlParts } from "./_url.ts";
import type { Lease } from "./messages.ts";

export { effectiveExpiry, isExpired, validateExpiresAt } from "./_expiry.ts";
export {
  type LeaseValidation,
  RESERVED_CAPABILITIES,
  type ReservedCapability,
  validateLease,
  type ValidateLeaseOptions,
} from "./_lease_grammar.ts";
export {
  assertLeaseSubset,
  isLeaseSubset,
  type LeaseSubsetContext,
  type LeaseSubsetResult,
} from "./_lease_subset.ts";

/** The outcome of {@linkcode authorize}. */
export type LeaseDecision =
  | {
    /** The operation is covered by the lease. */
    allowed: true;
    /** The capability checked. */
    capability: string;
    /** The canonical target: perform the operation on this, not the raw input. */
    target: string;
    /** The first pattern that matched. */
    pattern: string;
  }
  | {
    /** The operation must fail with `PERMISSION_DENIED` (spec §9.3). */
    allowed: false;
    /** The capability checked. */
    capability: string;
    /** The canonical target, or the raw one when it could not be canonicalised. */
    target: string;
    /** Why the operation is denied. */
    reason: string;
  };

function canonicalTarget(capability: string, target: string): Checked<string | UrlParts> {
  switch (patternKind(capability)) {
    case "path":
      return canonicalFsPath(target);
    case "url":
      return parseUrl(target, false);
    default:
      return canonicalName(target);
  }
}

/**
 * Decides whether `lease` allows an operation on `target` under
 * `capability` (spec §9.1, §9.3): the target is canonicalised (see
 * `canonical.ts`) and matched against the capability's patterns as anchored
 * globs. Patterns that fail validation never match. Expiry and budget are
 * separate checks ({@linkcode isExpired}, `BudgetCounters.exhausted`), and
 * `cost.budget` is not target-based, so it is always denied here.
 *
 * @param lease The effective lease.
 * @param capability The capability, e.g. `"fs.write"`.
 * @param target The path, URL or name the operation addresses.
 * @returns The decision, with the canonical target and the matching pattern
 * or the reason for denial.
 * @example A denied traversal
 * ```ts
 * import { authorize } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const decision = authorize({ "fs.read": ["/workspace/**"] }, "fs.read", "/workspace/%2e%2e/etc/passwd");
 * assert.equal(decision.allowed, false);
 * assert.equal(decision.target, "/etc/passwd");
 * ```
 */
export function authorize(lease: Lease, capability: string, target: string): LeaseDecision {
  const deny = (reason: string, shown = target): LeaseDecision => ({
    allowed: false,
    capability,
    target: shown,
    reason,
  });
  const patterns = Object.hasOwn(lease, capability) ? lease[capability] : undefined;
  if (!Array.isArray(patterns)) return deny(`the lease does not grant "${capability}"`);
  if (patternKind(capability) === "amount") {
    return deny('"cost.budget" is not target-based: check BudgetCounters instead');
  }
  const canonical = canonicalTarget(capability, target);
  if (!canonical.ok) return deny(`the target ${canonical.reason}`);
  const value = canonical.value;
  const shown = typeof value === "string" ? value : formatUrl(value);
  for (const pattern of patterns) {
    if (typeof pattern === "string" && patternMatches(capability, pattern, value)) {
      return { allowed: true, capability, target: shown, pattern };
    }
  }
  return deny(`no "${capability}" pattern of the lease matches ${JSON.stringify(shown)}`, shown);
}

/**
 * Whether `lease` allows an operation on `target` under `capability`: the
 * boolean form of {@linkcode authorize}.
 *
 * @param lease The effective lease.
 * @param capability The capability, e.g. `"tool.call"`.
 * @param target The path, URL or name the operation addresses.
 * @returns `true` when a pattern matches the canonical target.
 * @example Tool name globs
 * ```ts
 * import { leaseAllows } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const lease = { "tool.call": ["mcp:github/*"] };
 * assert.ok(leaseAllows(lease, "tool.call", "mcp:github/search"));
 * assert.ok(!leaseAllows(lease, "tool.call", "mcp:github/x/y"));
 * assert.ok(!leaseAllows(lease, "fs.read", "/etc/passwd"));
 * ```
 */
export function leaseAllows(lease: Lease, capability: string, target: string): boolean {
  return authorize(lease, capability, target).allowed;
}
