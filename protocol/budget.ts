// This module is browser compatible.
/**
 * Budgets of the `cost.budget` capability (spec 1.1 §9.6): amount strings
 * such as `USD:5.00`, and per-currency counters with exact decimal arithmetic
 * (`0.1 + 0.2` spends exactly `0.3`).
 *
 * @example Track a budget
 * ```ts
 * import { BudgetCounters } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const budget = new BudgetCounters({ "cost.budget": ["USD:1.00"] });
 * budget.spend("USD", 0.1);
 * budget.spend("USD", 0.2);
 * assert.equal(budget.remaining("USD"), "0.7");
 * assert.deepEqual(budget.toWire(), { USD: 0.7 });
 * ```
 *
 * @module
 */

import { formatUnits, numberToUnits, parseAmountUnits, toUnits, type Units } from "./_decimal.ts";
import { ArcpError } from "./errors.ts";
import type { Lease } from "./messages.ts";

/** A parsed `cost.budget` amount (spec 1.1 §9.6). */
export interface Amount {
  /** `USD`, `EUR`, `credits` or a runtime-defined identifier. */
  currency: string;
  /** The amount as a plain decimal string without trailing zeros, e.g. `"5"`. */
  value: string;
}

/**
 * Parses a `cost.budget` pattern `currency:decimal` (spec 1.1 §9.6), where
 * `decimal` is `digits ("." digits)?` with at most 18 significant fractional
 * digits. Currencies are case-sensitive.
 *
 * @param text The amount string, e.g. `"USD:5.00"`.
 * @returns The currency and the value as a normalised decimal string.
 * @throws {ArcpError} `INVALID_REQUEST` when `text` is not an amount.
 * @example Parse amounts
 * ```ts
 * import { parseAmount } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseAmount("USD:5.00"), { currency: "USD", value: "5" });
 * assert.deepEqual(parseAmount("credits:1000"), { currency: "credits", value: "1000" });
 * assert.throws(() => parseAmount("USD:-1"), { code: "INVALID_REQUEST" });
 * assert.throws(() => parseAmount("USD:1e3"), { code: "INVALID_REQUEST" });
 * ```
 */
export function parseAmount(text: string): Amount {
  const parsed = typeof text === "string" ? parseAmountUnits(text) : undefined;
  if (parsed === undefined) {
    throw new ArcpError(
      "INVALID_REQUEST",
      `Invalid cost.budget amount ${
        JSON.stringify(text)
      }: expected currency:decimal such as "USD:5.00" (spec §9.6)`,
      { details: { capability: "cost.budget", pattern: text } },
    );
  }
  return { currency: parsed.currency, value: formatUnits(parsed.units) };
}

/**
 * Formats an amount string for a `cost.budget` pattern, for example to
 * delegate part of a remaining budget.
 *
 * @param currency The currency, e.g. `"USD"`.
 * @param value A non-negative decimal string or finite number.
 * @returns The amount, e.g. `"USD:2"`.
 * @throws {RangeError} When `value` is negative, not finite or not a decimal.
 * @throws {ArcpError} `INVALID_REQUEST` when `currency` is not an identifier.
 * @example Format an amount
 * ```ts
 * import { formatAmount } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatAmount("USD", 0.1), "USD:0.1");
 * assert.equal(formatAmount("credits", "1000.50"), "credits:1000.5");
 * assert.throws(() => formatAmount("USD", -1), RangeError);
 * ```
 */
export function formatAmount(currency: string, value: number | string): string {
  const amount = `${currency}:${formatUnits(toUnits(value, "format an amount"))}`;
  parseAmount(amount);
  return amount;
}

/**
 * Converts a JavaScript number, such as a metric's `value`, to an exact
 * decimal string through its shortest round-trip form, so `0.1` is `"0.1"`
 * and never `0.1000000000000000055…`. Digits beyond 10^-18 round away from
 * zero.
 *
 * @param value A finite number.
 * @returns A plain decimal string without exponent or trailing zeros.
 * @throws {RangeError} When `value` is `NaN` or infinite.
 * @example Convert without float noise
 * ```ts
 * import { numberToDecimal } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.equal(numberToDecimal(0.1), "0.1");
 * assert.equal(numberToDecimal(1e-7), "0.0000001");
 * assert.equal(numberToDecimal(1e21), "1000000000000000000000");
 * assert.throws(() => numberToDecimal(Number.NaN), RangeError);
 * ```
 */
export function numberToDecimal(value: number): string {
  return formatUnits(numberToUnits(value));
}

/** Options of the {@linkcode BudgetCounters} constructor. */
export interface BudgetCountersOptions {
  /**
   * Remaining amounts to restore, per currency, e.g. from
   * {@linkcode BudgetCounters.snapshot} after a restart.
   *
   * @default {undefined} every counter starts at its budgeted value
   */
  remaining?: Readonly<Record<string, string | number>>;
}

/**
 * The budget counters of one job (spec 1.1 §9.6): one per currency of the
 * lease's `cost.budget`, initialised at the budgeted value and decremented
 * by `cost.*` metrics. Counters may go below zero on the report that
 * overspends; the next operation then fails with `BUDGET_EXHAUSTED`.
 *
 * @example Spend until exhausted
 * ```ts
 * import { BudgetCounters } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const budget = new BudgetCounters({ "cost.budget": ["USD:0.30", "credits:10"] });
 * assert.equal(budget.spend("USD", 0.1), true);
 * assert.equal(budget.spend("EUR", 1), false); // not budgeted: ignored
 * assert.equal(budget.exhausted(), false);
 * budget.spend("USD", 0.2);
 * assert.equal(budget.remaining("USD"), "0");
 * assert.equal(budget.exhausted(), true);
 * ```
 */
export class BudgetCounters {
  #limits = new Map<string, Units>();
  #remaining = new Map<string, Units>();

  /**
   * Creates the counters of a lease.
   *
   * @param lease The effective lease; only `cost.budget` is read.
   * @param options Remaining amounts to restore.
   * @throws {ArcpError} `INVALID_REQUEST` when a `cost.budget` pattern is not
   * an amount or names a currency twice.
   * @throws {RangeError} When `options.remaining` names a currency the lease
   * does not budget, or holds a value that is neither a finite number nor a
   * decimal string.
   */
  constructor(lease: Lease, options: BudgetCountersOptions = {}) {
    const patterns = Object.hasOwn(lease, "cost.budget") ? lease["cost.budget"] ?? [] : [];
    for (const pattern of patterns) {
      const { currency } = parseAmount(pattern);
      if (this.#limits.has(currency)) {
        throw new ArcpError(
          "INVALID_REQUEST",
          `Invalid cost.budget: currency "${currency}" appears more than once (spec §9.6)`,
          { details: { capability: "cost.budget", pattern } },
        );
      }
      const units = parseAmountUnits(pattern)!.units;
      this.#limits.set(currency, units);
      this.#remaining.set(currency, units);
    }
    for (const [currency, value] of Object.entries(options.remaining ?? {})) {
      if (!this.#limits.has(currency)) {
        throw new RangeError(`Cannot restore budget "${currency}": the lease does not budget it`);
      }
      const negative = typeof value === "string" && value.startsWith("-");
      const units = toUnits(negative ? value.slice(1) : value, `restore budget "${currency}"`);
      this.#remaining.set(currency, negative ? -units : units);
    }
  }

  /** The budgeted currencies, in lease order. */
  get currencies(): string[] {
    return [...this.#limits.keys()];
  }

  /**
   * Decrements the counter of `currency` by `value`, as for a `cost.*`
   * metric whose `unit` is `currency` (spec 1.1 §9.6).
   *
   * @param currency The metric's unit.
   * @param value The cost: a finite non-negative number (converted through
   * {@linkcode numberToDecimal}) or decimal string.
   * @returns `true` when counted, `false` when `currency` is not budgeted.
   * @throws {RangeError} When `value` is negative, `NaN`, infinite or not a
   * decimal; nothing is decremented.
   */
  spend(currency: string, value: number | string): boolean {
    const units = toUnits(value, `spend ${currency}`);
    const current = this.#remaining.get(currency);
    if (current === undefined) return false;
    this.#remaining.set(currency, current - units);
    return true;
  }

  /**
   * Increments the counter of `currency` by `value`: gives back what
   * {@linkcode BudgetCounters.spend} took for something that never used it,
   * such as a child job's budget when the child was refused.
   *
   * @param currency A budgeted currency.
   * @param value The amount: a finite non-negative number or decimal string.
   * @returns `true` when counted, `false` when `currency` is not budgeted.
   * @throws {RangeError} When `value` is negative, `NaN`, infinite or not a
   * decimal; nothing is incremented.
   */
  refund(currency: string, value: number | string): boolean {
    const units = toUnits(value, `refund ${currency}`);
    const current = this.#remaining.get(currency);
    if (current === undefined) return false;
    this.#remaining.set(currency, current + units);
    return true;
  }

  /**
   * The remaining amount of `currency` as an exact decimal string, negative
   * after an overspend.
   *
   * @param currency A budgeted currency.
   * @returns The amount, or `undefined` when `currency` is not budgeted.
   */
  remaining(currency: string): string | undefined {
    const units = this.#remaining.get(currency);
    return units === undefined ? undefined : formatUnits(units);
  }

  /**
   * The remaining amount of `currency` as the nearest number, for wire
   * fields such as `cost.budget.remaining` metrics.
   *
   * @param currency A budgeted currency.
   * @returns The amount, or `undefined` when `currency` is not budgeted.
   */
  remainingNumber(currency: string): number | undefined {
    const text = this.remaining(currency);
    return text === undefined ? undefined : Number(text);
  }

  /**
   * The budgeted (initial) amount of `currency`.
   *
   * @param currency A budgeted currency.
   * @returns The amount, or `undefined` when `currency` is not budgeted.
   */
  limit(currency: string): string | undefined {
    const units = this.#limits.get(currency);
    return units === undefined ? undefined : formatUnits(units);
  }

  /**
   * Whether any counter is at or below zero, so operations through the
   * lease must fail with `BUDGET_EXHAUSTED` (spec 1.1 §9.6).
   *
   * @returns `true` when a counter is exhausted; `false` without counters.
   */
  exhausted(): boolean {
    for (const units of this.#remaining.values()) if (units <= 0n) return true;
    return false;
  }

  /**
   * The remaining amounts as numbers, the shape of `job.accepted.budget` and
   * `job.subscribed.budget` (spec 1.1 §7.1, §7.6).
   *
   * @returns Currency → remaining amount.
   */
  toWire(): Record<string, number> {
    const wire: Record<string, number> = {};
    for (const [currency, units] of this.#remaining) wire[currency] = Number(formatUnits(units));
    return wire;
  }

  /**
   * The remaining amounts as exact decimal strings, to persist and later pass
   * as {@linkcode BudgetCountersOptions.remaining}.
   *
   * @returns Currency → remaining amount.
   */
  snapshot(): Record<string, string> {
    const snapshot: Record<string, string> = {};
    for (const [currency, units] of this.#remaining) snapshot[currency] = formatUnits(units);
    return snapshot;
  }
}
