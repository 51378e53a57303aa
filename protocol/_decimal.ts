// This module is browser compatible.
// Exact decimals for budgets (spec 1.1 §9.6): a BigInt counting units of
// 10^-18, so sums like 0.1 + 0.2 are exact and never drift the way binary
// floats do.

/** Fractional digits kept by a {@linkcode Units} value. */
export const FRACTION_DIGITS = 18;

/** An exact decimal as a count of 10^-18 units. */
export type Units = bigint;

const SCALE = 10n ** BigInt(FRACTION_DIGITS);
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;
const NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;

/**
 * Parses `digits ("." digits)?` (spec 1.1 §9.6) exactly; `undefined` when the
 * text is outside the grammar or needs more than 18 fractional digits.
 */
export function parseUnits(text: string): Units | undefined {
  const match = DECIMAL.exec(text);
  if (match === null) return undefined;
  const fraction = match[2] ?? "";
  const kept = fraction.slice(0, FRACTION_DIGITS);
  // Extra digits are only harmless when they are zeros.
  if (/[1-9]/.test(fraction.slice(FRACTION_DIGITS))) return undefined;
  return BigInt(match[1]!) * SCALE + BigInt(kept.padEnd(FRACTION_DIGITS, "0"));
}

/** Formats units as a plain decimal without trailing zeros: `5`, `0.3`, `-1.25`. */
export function formatUnits(units: Units): string {
  const sign = units < 0n ? "-" : "";
  const magnitude = units < 0n ? -units : units;
  const whole = (magnitude / SCALE).toString();
  const fraction = (magnitude % SCALE).toString().padStart(FRACTION_DIGITS, "0").replace(
    /0+$/,
    "",
  );
  return fraction === "" ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

/**
 * Converts a finite number through its shortest round-trip string
 * (`String(0.1)` is `"0.1"`), so no binary noise enters the decimal. Digits
 * beyond 10^-18 round away from zero: a tiny cost never counts as nothing.
 */
export function numberToUnits(value: number): Units {
  if (!Number.isFinite(value)) {
    throw new RangeError(`Cannot convert ${value} to a decimal: the value is not finite`);
  }
  const match = NUMBER.exec(String(value))!;
  const sign = match[1] === "-" ? -1n : 1n;
  const fraction = match[3] ?? "";
  const digits = BigInt(match[2]! + fraction);
  const shift = Number(match[4] ?? "0") - fraction.length + FRACTION_DIGITS;
  if (shift >= 0) return sign * digits * 10n ** BigInt(shift);
  const divisor = 10n ** BigInt(-shift);
  const quotient = digits / divisor + (digits % divisor === 0n ? 0n : 1n);
  return sign * quotient;
}

const CURRENCY = /^[A-Za-z][A-Za-z0-9._-]*$/;

/** Parses an amount into currency and exact units; `undefined` when invalid. */
export function parseAmountUnits(text: string): { currency: string; units: Units } | undefined {
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  const currency = text.slice(0, colon);
  const units = parseUnits(text.slice(colon + 1));
  if (!CURRENCY.test(currency) || units === undefined) return undefined;
  return { currency, units };
}

/** Converts a metric value or decimal string to units, refusing negatives. */
export function toUnits(value: number | string, what: string): Units {
  let units: Units | undefined;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new RangeError(`Cannot ${what}: the value ${value} is not finite`);
    }
    units = numberToUnits(value);
  } else if (typeof value === "string") {
    units = parseUnits(value);
    if (units === undefined) {
      throw new RangeError(`Cannot ${what}: "${value}" is not a non-negative decimal`);
    }
  } else {
    throw new TypeError(`Cannot ${what}: expected a number or a decimal string`);
  }
  if (units < 0n) throw new RangeError(`Cannot ${what}: the value ${value} is negative`);
  return units;
}
