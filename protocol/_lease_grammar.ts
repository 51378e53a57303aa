// This module is browser compatible.
// The lease grammar of spec §9.2 (both versions) and §9.6 amounts.

import { parseAmountUnits } from "./_decimal.ts";
import { canonicalPattern } from "./_lease_patterns.ts";
import { ArcpError } from "./errors.ts";
import type { Lease } from "./messages.ts";

/**
 * The capability namespaces reserved by spec 1.1 §9.2 (1.0's five plus
 * `cost.budget` and `model.use`).
 *
 * @example Recognise a reserved namespace
 * ```ts
 * import { RESERVED_CAPABILITIES } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.ok(RESERVED_CAPABILITIES.includes("model.use"));
 * ```
 */
export const RESERVED_CAPABILITIES = [
  "fs.read",
  "fs.write",
  "net.fetch",
  "tool.call",
  "agent.delegate",
  "cost.budget",
  "model.use",
] as const;

/** One of the {@linkcode RESERVED_CAPABILITIES}. */
export type ReservedCapability = typeof RESERVED_CAPABILITIES[number];

// "dot-namespaced lowercase identifiers" (spec 1.0 §9.2).
const CAPABILITY_NAME = /^[a-z][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)*$/;

/** Options of {@linkcode validateLease}. */
export interface ValidateLeaseOptions {
  /**
   * The field name used in error messages, e.g. `"lease_request"`.
   *
   * @default {"lease"}
   */
  field?: string;
}

/** The result of {@linkcode validateLease}. */
export interface LeaseValidation {
  /** A copy of the lease, patterns unchanged. */
  lease: Lease;
  /** Vendor (`x-…`) namespaces present, carried through untouched. */
  vendor: string[];
  /** Other namespaces neither reserved nor vendor, accepted for forward compatibility. */
  unknown: string[];
}

function invalid(field: string, message: string, details: Record<string, unknown>): ArcpError {
  return new ArcpError("INVALID_REQUEST", `Invalid ${field}: ${message} (spec §9.2)`, {
    details: { field, ...details },
  });
}

/**
 * Validates a `lease`, `lease_request` or delegated lease of either spec
 * version: an object mapping dot-namespaced lowercase capability names to
 * non-empty arrays of pattern strings, each valid for its namespace (see the
 * module documentation). A `cost.budget` may name each currency once.
 *
 * @param value The lease as received.
 * @param options The field name for error messages.
 * @returns A copy of the lease and the vendor and unknown namespaces found.
 * @throws {ArcpError} `INVALID_REQUEST` naming the field, capability and
 * pattern at fault.
 * @example Accept, report and reject
 * ```ts
 * import { validateLease } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const result = validateLease({
 *   "tool.call": ["mcp:github/*"],
 *   "x-acme.gpu": ["a100"],
 *   "db.query": ["reports.*"],
 * });
 * assert.deepEqual(result.vendor, ["x-acme.gpu"]);
 * assert.deepEqual(result.unknown, ["db.query"]);
 * assert.throws(() => validateLease({ "fs.read": [] }, { field: "lease_request" }), {
 *   code: "INVALID_REQUEST",
 *   message: 'Invalid lease_request: "fs.read" must be a non-empty array of pattern strings (spec §9.2)',
 * });
 * assert.throws(() => validateLease({ "fs.read": ["relative/**"] }), { code: "INVALID_REQUEST" });
 * ```
 */
export function validateLease(value: unknown, options: ValidateLeaseOptions = {}): LeaseValidation {
  const field = options.field ?? "lease";
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(field, "expected an object mapping capabilities to pattern lists", {});
  }
  const lease: Lease = {};
  const vendor: string[] = [];
  const unknown: string[] = [];
  for (const [capability, patterns] of Object.entries(value)) {
    if (!CAPABILITY_NAME.test(capability)) {
      throw invalid(
        field,
        `capability ${JSON.stringify(capability)} is not a dot-namespaced lowercase identifier`,
        { capability },
      );
    }
    if (
      !Array.isArray(patterns) || patterns.length === 0 ||
      !patterns.every((pattern) => typeof pattern === "string")
    ) {
      throw invalid(field, `"${capability}" must be a non-empty array of pattern strings`, {
        capability,
      });
    }
    const currencies = new Set<string>();
    for (const pattern of patterns as string[]) {
      const checked = canonicalPattern(capability, pattern);
      if (!checked.ok) {
        throw invalid(
          field,
          `"${capability}" pattern ${JSON.stringify(pattern)} ${checked.reason}`,
          { capability, pattern },
        );
      }
      if (capability === "cost.budget") {
        const { currency } = parseAmountUnits(pattern)!;
        if (currencies.has(currency)) {
          throw invalid(field, `"cost.budget" names the currency "${currency}" more than once`, {
            capability,
            pattern,
          });
        }
        currencies.add(currency);
      }
    }
    lease[capability] = [...patterns as string[]];
    if (capability.startsWith("x-")) vendor.push(capability);
    else if (!(RESERVED_CAPABILITIES as readonly string[]).includes(capability)) {
      unknown.push(capability);
    }
  }
  return { lease, vendor, unknown };
}
