import assert from "node:assert/strict";
import {
  BudgetCounters,
  formatAmount,
  numberToDecimal,
  parseAmount,
} from "../../protocol/budget.ts";
import { ArcpError } from "../../protocol/errors.ts";

Deno.test("parseAmount() parses currency:decimal into a normalised decimal string", () => {
  const table: [string, string, string][] = [
    ["USD:5.00", "USD", "5"],
    ["USD:5", "USD", "5"],
    ["EUR:0.50", "EUR", "0.5"],
    ["credits:1000", "credits", "1000"],
    ["USD:0", "USD", "0"],
    ["USD:007.10", "USD", "7.1"],
    ["USD:0.000000000000000001", "USD", "0.000000000000000001"],
    ["USD:1.000000000000000000000", "USD", "1"],
    ["USD:123456789012345678901234567890.5", "USD", "123456789012345678901234567890.5"],
    ["gpu-hours:1.5", "gpu-hours", "1.5"],
    ["acme.tokens:10", "acme.tokens", "10"],
  ];
  for (const [text, currency, value] of table) {
    assert.deepEqual(parseAmount(text), { currency, value }, text);
  }
});

Deno.test("parseAmount() rejects strings outside the §9.6 grammar with INVALID_REQUEST", () => {
  const invalid = [
    "",
    "USD",
    "USD:",
    ":5",
    "5.00",
    "USD:-1",
    "USD:+1",
    "USD:1e3",
    "USD:.5",
    "USD:5.",
    "USD:5,00",
    "USD: 5",
    "USD:5 ",
    " USD:5",
    "US D:5",
    "1USD:5",
    "USD:5:6",
    "USD:0x10",
    "USD:Infinity",
    "USD:NaN",
    "USD:٥",
    "USD:0.0000000000000000001",
  ];
  for (const text of invalid) {
    assert.throws(() => parseAmount(text), (error: unknown) => {
      assert.ok(error instanceof ArcpError, text);
      assert.equal(error.code, "INVALID_REQUEST");
      assert.deepEqual(error.details, { capability: "cost.budget", pattern: text });
      assert.ok(error.message.includes(JSON.stringify(text)), error.message);
      return true;
    }, text);
  }
});

Deno.test("numberToDecimal() uses the shortest round-trip form, with no float noise", () => {
  const table: [number, string][] = [
    [0, "0"],
    [-0, "0"],
    [0.1, "0.1"],
    [0.2, "0.2"],
    [0.1 + 0.2, "0.30000000000000004"],
    [0.0234, "0.0234"],
    [1.42, "1.42"],
    [5, "5"],
    [-2.5, "-2.5"],
    [1e-7, "0.0000001"],
    [1.5e-10, "0.00000000015"],
    [1e-18, "0.000000000000000001"],
    [1e21, "1000000000000000000000"],
    [1.7976931348623157e308, "17976931348623157" + "0".repeat(292)],
    [Number.MAX_SAFE_INTEGER, "9007199254740991"],
  ];
  for (const [value, expected] of table) assert.equal(numberToDecimal(value), expected, `${value}`);
});

Deno.test("numberToDecimal() rounds digits beyond 1e-18 away from zero", () => {
  assert.equal(numberToDecimal(1e-19), "0.000000000000000001");
  assert.equal(numberToDecimal(5e-324), "0.000000000000000001");
  assert.equal(numberToDecimal(-1e-19), "-0.000000000000000001");
  assert.equal(numberToDecimal(1.2345e-15), "0.000000000000001235");
});

Deno.test("numberToDecimal() rejects NaN and infinities with RangeError", () => {
  for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    assert.throws(() => numberToDecimal(value), RangeError, `${value}`);
  }
});

Deno.test("formatAmount() formats a pattern accepted by parseAmount()", () => {
  assert.equal(formatAmount("USD", 2), "USD:2");
  assert.equal(formatAmount("USD", 0.1), "USD:0.1");
  assert.equal(formatAmount("USD", "2.50"), "USD:2.5");
  assert.equal(formatAmount("credits", 1e21), "credits:1000000000000000000000");
  assert.throws(() => formatAmount("USD", -1), RangeError);
  assert.throws(() => formatAmount("USD", "-1"), RangeError);
  assert.throws(() => formatAmount("USD", Number.NaN), RangeError);
  assert.throws(() => formatAmount("U SD", 1), (error: unknown) => {
    assert.ok(error instanceof ArcpError);
    assert.equal(error.code, "INVALID_REQUEST");
    return true;
  });
});

Deno.test("BudgetCounters starts one counter per currency at the budgeted value", () => {
  const budget = new BudgetCounters({
    "fs.read": ["/**"],
    "cost.budget": ["USD:5.00", "credits:1000", "EUR:0"],
  });
  assert.deepEqual(budget.currencies, ["USD", "credits", "EUR"]);
  assert.equal(budget.remaining("USD"), "5");
  assert.equal(budget.limit("credits"), "1000");
  assert.equal(budget.remaining("GBP"), undefined);
  assert.equal(budget.remainingNumber("GBP"), undefined);
  assert.equal(budget.limit("GBP"), undefined);
  assert.deepEqual(budget.toWire(), { USD: 5, credits: 1000, EUR: 0 });
  assert.deepEqual(budget.snapshot(), { USD: "5", credits: "1000", EUR: "0" });
  assert.equal(budget.exhausted(), true, "a zero budget is exhausted from the start");
});

Deno.test("BudgetCounters without cost.budget has no counters and is never exhausted", () => {
  for (const lease of [{}, { "fs.read": ["/**"] }]) {
    const budget = new BudgetCounters(lease);
    assert.deepEqual(budget.currencies, []);
    assert.equal(budget.exhausted(), false);
    assert.deepEqual(budget.toWire(), {});
    assert.equal(budget.spend("USD", 1), false);
  }
});

Deno.test("BudgetCounters.spend() is exact: 0.1 + 0.2 spends exactly 0.3", () => {
  const budget = new BudgetCounters({ "cost.budget": ["USD:1.00"] });
  budget.spend("USD", 0.1);
  budget.spend("USD", 0.2);
  assert.equal(budget.remaining("USD"), "0.7");
  assert.equal(budget.remainingNumber("USD"), 0.7);
  for (let i = 0; i < 7; i++) budget.spend("USD", 0.1);
  assert.equal(budget.remaining("USD"), "0");
  assert.equal(budget.exhausted(), true);

  const many = new BudgetCounters({ "cost.budget": ["USD:1"] });
  for (let i = 0; i < 10_000; i++) many.spend("USD", 0.0001);
  assert.equal(many.remaining("USD"), "0");
});

Deno.test("BudgetCounters.spend() accepts decimal strings and tiny values", () => {
  const budget = new BudgetCounters({ "cost.budget": ["credits:10"] });
  assert.equal(budget.spend("credits", "2.5"), true);
  assert.equal(budget.spend("credits", "0.000000000000000001"), true);
  assert.equal(budget.remaining("credits"), "7.499999999999999999");
  assert.equal(budget.spend("credits", 1e-20), true, "rounded up, never free");
  assert.equal(budget.remaining("credits"), "7.499999999999999998");
  assert.equal(budget.spend("credits", 0), true);
  assert.equal(budget.remaining("credits"), "7.499999999999999998");
});

Deno.test("BudgetCounters.spend() refuses negative and non-finite values without decrementing", () => {
  const budget = new BudgetCounters({ "cost.budget": ["USD:5"] });
  const invalid: unknown[] = [
    -0.01,
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    "-1",
    "1e3",
    "",
    " 1",
    "abc",
  ];
  for (const value of invalid) {
    assert.throws(() => budget.spend("USD", value as number), RangeError, String(value));
  }
  assert.throws(() => budget.spend("USD", null as unknown as number), TypeError);
  assert.throws(() => budget.spend("USD", 1n as unknown as number), TypeError);
  // Refused even for a currency that is not budgeted.
  assert.throws(() => budget.spend("GBP", -1), RangeError);
  assert.equal(budget.remaining("USD"), "5");
});

Deno.test("BudgetCounters.spend() ignores currencies the lease does not budget", () => {
  const budget = new BudgetCounters({ "cost.budget": ["USD:5"] });
  assert.equal(budget.spend("EUR", 100), false);
  assert.equal(budget.spend("usd", 100), false, "currencies are case-sensitive");
  assert.deepEqual(budget.snapshot(), { USD: "5" });
});

Deno.test("BudgetCounters goes negative on an overspend and reports exhaustion", () => {
  const budget = new BudgetCounters({ "cost.budget": ["USD:1", "credits:10"] });
  budget.spend("USD", 0.9);
  assert.equal(budget.exhausted(), false);
  budget.spend("USD", 0.35);
  assert.equal(budget.remaining("USD"), "-0.25");
  assert.equal(budget.remainingNumber("USD"), -0.25);
  assert.equal(budget.exhausted(), true, "any counter ≤ 0 exhausts the lease");
  assert.deepEqual(budget.toWire(), { USD: -0.25, credits: 10 });
});

Deno.test("BudgetCounters restores remaining amounts from a snapshot", () => {
  const lease = { "cost.budget": ["USD:5", "credits:1000"] };
  const first = new BudgetCounters(lease);
  first.spend("USD", 1.1);
  first.spend("USD", 4);
  const restored = new BudgetCounters(lease, { remaining: first.snapshot() });
  assert.deepEqual(restored.snapshot(), { USD: "-0.1", credits: "1000" });
  assert.equal(restored.limit("USD"), "5");
  const fromNumbers = new BudgetCounters(lease, { remaining: { USD: 2.5 } });
  assert.equal(fromNumbers.remaining("USD"), "2.5");
  assert.throws(
    () => new BudgetCounters(lease, { remaining: { EUR: "1" } }),
    RangeError,
  );
  assert.throws(() => new BudgetCounters(lease, { remaining: { USD: "x" } }), RangeError);
  assert.throws(() => new BudgetCounters(lease, { remaining: { USD: Number.NaN } }), RangeError);
});

Deno.test("BudgetCounters rejects invalid cost.budget patterns with INVALID_REQUEST", () => {
  const table: [string[], RegExp][] = [
    [["USD:-5"], /Invalid cost\.budget amount "USD:-5"/],
    [["5"], /Invalid cost\.budget amount "5"/],
    [["USD:5", "USD:6"], /currency "USD" appears more than once/],
  ];
  for (const [patterns, message] of table) {
    assert.throws(() => new BudgetCounters({ "cost.budget": patterns }), (error: unknown) => {
      assert.ok(error instanceof ArcpError);
      assert.equal(error.code, "INVALID_REQUEST");
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("BudgetCounters.refund() gives back exactly what spend() took, and ignores unbudgeted currencies", () => {
  const budget = new BudgetCounters({ "cost.budget": ["USD:2.00"] });
  budget.spend("USD", "0.5");
  assert.equal(budget.refund("USD", "0.5"), true);
  assert.equal(budget.remaining("USD"), "2");
  assert.equal(budget.refund("EUR", 1), false);
  assert.throws(() => budget.refund("USD", -1), RangeError);
  assert.equal(budget.remaining("USD"), "2");
});
