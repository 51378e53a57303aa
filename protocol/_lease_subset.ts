// This module is browser compatible.
// The delegation subset relation (spec 1.0 §9.4, 1.1 §9.4, §10), decided
// conservatively: whatever cannot be proven covered is a violation.

import {
  formatUnits,
  numberToUnits,
  parseAmountUnits,
  parseUnits,
  type Units,
} from "./_decimal.ts";
import { requireExpiryNanos } from "./_expiry.ts";
import { validateLease } from "./_lease_grammar.ts";
import { type CanonicalPattern, canonicalPattern, patternContained } from "./_lease_patterns.ts";
import { BudgetCounters } from "./budget.ts";
import { ArcpError } from "./errors.ts";
import type { Lease, LeaseConstraints } from "./messages.ts";

/** What {@linkcode isLeaseSubset} needs beyond the two leases. */
export interface LeaseSubsetContext {
  /**
   * The parent's remaining budget at the time of delegation, as its counters
   * or as currency → amount. A child's `cost.budget` may not exceed it.
   *
   * @default {undefined} the parent's full `cost.budget`, nothing spent
   */
  parentRemaining?: BudgetCounters | Readonly<Record<string, string | number>>;
  /**
   * The child's lease constraints.
   *
   * @default {undefined} no `expires_at`: the child inherits the parent's
   */
  childConstraints?: LeaseConstraints | undefined;
  /**
   * The parent's lease constraints.
   *
   * @default {undefined} the parent does not expire
   */
  parentConstraints?: LeaseConstraints | undefined;
}

/** The outcome of {@linkcode isLeaseSubset}. */
export type LeaseSubsetResult =
  | {
    /** Every child grant is covered by the parent. */
    ok: true;
  }
  | {
    /** The child would expand authority: `LEASE_SUBSET_VIOLATION`. */
    ok: false;
    /** The capability at fault, or `"lease_constraints.expires_at"`. */
    capability: string;
    /** The child pattern (or `expires_at`) at fault. */
    pattern: string;
    /** Why it is not covered. */
    reason: string;
  };

function signedUnits(value: string | number): Units | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? numberToUnits(value) : undefined;
  if (typeof value !== "string") return undefined;
  const negative = value.startsWith("-");
  const units = parseUnits(negative ? value.slice(1) : value);
  return units === undefined ? undefined : negative ? -units : units;
}

function remainingUnits(
  context: LeaseSubsetContext,
  currency: string,
  limit: Units,
): Units | undefined {
  const source = context.parentRemaining;
  if (source === undefined) return limit;
  const value = source instanceof BudgetCounters
    ? source.remaining(currency)
    : Object.hasOwn(source, currency)
    ? source[currency]
    : undefined;
  if (value === undefined) return limit;
  const units = signedUnits(value);
  // An unreadable remaining amount proves nothing: treat it as nothing left.
  if (units === undefined) return undefined;
  return units < limit ? units : limit;
}

/** The canonical form of a pattern that `validateLease` has accepted. */
function validated(capability: string, pattern: string): CanonicalPattern {
  const checked = canonicalPattern(capability, pattern);
  if (!checked.ok) throw new TypeError(`Unreachable: "${pattern}" passed validation`);
  return checked.value;
}

type Violation = Extract<LeaseSubsetResult, { ok: false }>;

function budgetViolation(
  child: string[],
  parent: string[],
  context: LeaseSubsetContext,
): Violation | undefined {
  const limits = new Map<string, Units>();
  for (const pattern of parent) {
    const { currency, units } = parseAmountUnits(pattern)!;
    limits.set(currency, units);
  }
  for (const pattern of child) {
    const { currency, units } = parseAmountUnits(pattern)!;
    const limit = limits.get(currency);
    const fail = (reason: string): Violation => ({
      ok: false,
      capability: "cost.budget",
      pattern,
      reason,
    });
    if (limit === undefined) return fail(`the parent does not budget "${currency}"`);
    const remaining = remainingUnits(context, currency, limit);
    if (remaining === undefined) {
      return fail(`the parent's remaining "${currency}" budget is not a decimal`);
    }
    if (units > remaining) {
      return fail(`it exceeds the parent's remaining ${currency}:${formatUnits(remaining)}`);
    }
  }
  // A currency the parent budgets and the child does not would be unbounded for the child.
  const budgeted = new Set(child.map((pattern) => parseAmountUnits(pattern)!.currency));
  for (const currency of limits.keys()) {
    if (!budgeted.has(currency)) {
      return {
        ok: false,
        capability: "cost.budget",
        pattern: child.join(","),
        reason:
          `it leaves out "${currency}", which the parent budgets: spending it would be unbounded`,
      };
    }
  }
  return undefined;
}

/**
 * Capabilities whose absence grants more, not less: a lease without
 * `cost.budget` spends without limit (spec 1.1 §9.6), and one without
 * `model.use` may use any model (spec 1.1 §9.7).
 */
const LIMITING_CAPABILITIES = ["cost.budget", "model.use"] as const;

/**
 * Decides whether `child` is a subset of `parent` for delegation (spec 1.0
 * §9.4, 1.1 §9.4): every child pattern must be covered by one parent pattern
 * of the same capability (glob containment, on canonical paths and URLs),
 * a child `cost.budget` may not exceed the parent's remaining budget in any
 * currency (or name one the parent does not budget), the child's
 * `expires_at` may not be later than the parent's, and a capability absent
 * from the parent cannot be delegated. Capabilities absent from the child
 * are fine, except the limiting ones: a parent's `cost.budget` (each of its
 * currencies) and `model.use` must be restated, since their absence would
 * lift the limit (spec 1.1 §9.6, §9.7); the child may add them where the
 * parent has none. Vendor and unknown namespaces are covered only by an identical
 * parent pattern. Containment that cannot be proven is a violation.
 *
 * @param child The delegated lease.
 * @param parent The delegating job's effective lease.
 * @param context Remaining budget and both leases' constraints.
 * @returns `{ ok: true }`, or the first violation found.
 * @throws {ArcpError} `INVALID_REQUEST` when either lease or `expires_at`
 * is malformed.
 * @example Delegate a narrower lease
 * ```ts
 * import { isLeaseSubset } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const parent = { "fs.read": ["/workspace/**"], "cost.budget": ["USD:5.00"] };
 * const narrower = { "fs.read": ["/workspace/src/*"], "cost.budget": ["USD:1.00"] };
 * assert.deepEqual(isLeaseSubset(narrower, parent), { ok: true });
 * // Leaving cost.budget out would lift the parent's limit.
 * assert.equal(isLeaseSubset({ "fs.read": ["/workspace/src/*"] }, parent).ok, false);
 * const result = isLeaseSubset({ "cost.budget": ["USD:2.50"] }, parent, {
 *   parentRemaining: { USD: "2.00" },
 * });
 * assert.deepEqual(result, {
 *   ok: false,
 *   capability: "cost.budget",
 *   pattern: "USD:2.50",
 *   reason: "it exceeds the parent's remaining USD:2",
 * });
 * ```
 */
export function isLeaseSubset(
  child: Lease,
  parent: Lease,
  context: LeaseSubsetContext = {},
): LeaseSubsetResult {
  validateLease(child, { field: "delegated lease" });
  validateLease(parent, { field: "parent lease" });
  for (const [capability, patterns] of Object.entries(child)) {
    if (!Object.hasOwn(parent, capability)) {
      // A limit the parent lacks only narrows: an unbudgeted parent may
      // delegate a budget, one free to use any model a model list.
      if ((LIMITING_CAPABILITIES as readonly string[]).includes(capability)) continue;
      return {
        ok: false,
        capability,
        pattern: patterns[0]!,
        reason: `the parent lease does not grant "${capability}"`,
      };
    }
    const parentPatterns = parent[capability]!;
    if (capability === "cost.budget") {
      const violation = budgetViolation(patterns, parentPatterns, context);
      if (violation !== undefined) return violation;
      continue;
    }
    const parents = parentPatterns.map((text) => ({
      text,
      canonical: validated(capability, text),
    }));
    for (const pattern of patterns) {
      const canonical = validated(capability, pattern);
      const reasons: string[] = [];
      let covered = false;
      for (const candidate of parents) {
        const contained = patternContained(canonical, candidate.canonical, candidate.text);
        if (contained.ok) {
          covered = true;
          break;
        }
        reasons.push(contained.reason);
      }
      if (!covered) {
        return {
          ok: false,
          capability,
          pattern,
          reason: reasons.length === 1
            ? reasons[0]!
            : `no parent pattern covers it: ${reasons.join("; ")}`,
        };
      }
    }
  }
  for (const capability of LIMITING_CAPABILITIES) {
    if (Object.hasOwn(parent, capability) && !Object.hasOwn(child, capability)) {
      return {
        ok: false,
        capability,
        pattern: "",
        reason: `the parent lease limits "${capability}" and the delegated lease does not, ` +
          `which would lift the limit`,
      };
    }
  }
  const childAt = context.childConstraints?.expires_at;
  const parentAt = context.parentConstraints?.expires_at;
  const childNanos = childAt === undefined ? undefined : requireExpiryNanos(childAt);
  const parentNanos = parentAt === undefined ? undefined : requireExpiryNanos(parentAt);
  if (childNanos !== undefined && parentNanos !== undefined && childNanos > parentNanos) {
    return {
      ok: false,
      capability: "lease_constraints.expires_at",
      pattern: childAt!,
      reason: `it is later than the parent's expires_at "${parentAt}"`,
    };
  }
  return { ok: true };
}

/**
 * Like {@linkcode isLeaseSubset}, but throws on a violation, ready to be sent
 * to the delegating agent.
 *
 * @param child The delegated lease.
 * @param parent The delegating job's effective lease.
 * @param context Remaining budget and both leases' constraints.
 * @throws {ArcpError} `LEASE_SUBSET_VIOLATION` with `details.capability` and
 * `details.pattern` when the child expands authority; `INVALID_REQUEST` when
 * a lease or `expires_at` is malformed.
 * @example Reject an expanding delegation
 * ```ts
 * import { assertLeaseSubset } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => assertLeaseSubset({ "fs.read": ["/workspace/**"] }, { "fs.read": ["/workspace/*"] }),
 *   { code: "LEASE_SUBSET_VIOLATION", details: { capability: "fs.read", pattern: "/workspace/**" } },
 * );
 * ```
 */
export function assertLeaseSubset(
  child: Lease,
  parent: Lease,
  context: LeaseSubsetContext = {},
): void {
  const result = isLeaseSubset(child, parent, context);
  if (result.ok) return;
  throw new ArcpError(
    "LEASE_SUBSET_VIOLATION",
    `Cannot delegate "${result.capability}" ${
      JSON.stringify(result.pattern)
    }: ${result.reason} (spec §9.4)`,
    { details: { capability: result.capability, pattern: result.pattern } },
  );
}
