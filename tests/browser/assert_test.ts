// tests/browser/assert.ts stands in for node:assert/strict in the browser
// bundle: it must pass and fail exactly where node:assert/strict does.

import nodeAssert from "node:assert/strict";
import shim, { AssertionError } from "./assert.ts";

const sym = Symbol("s");
class Point {
  constructor(public x: number) {}
}

/** Pairs of values; each is compared both ways by both modules. */
const PAIRS: [unknown, unknown][] = [
  [1, 1],
  [1, "1"],
  [0, -0],
  [NaN, NaN],
  [null, undefined],
  [undefined, undefined],
  ["a", "a"],
  [{}, {}],
  [{ a: 1 }, { a: 1 }],
  [{ a: 1 }, { a: 1, b: undefined }],
  [{ a: 1, b: 2 }, { b: 2, a: 1 }],
  [{ a: { b: [1, 2, { c: null }] } }, { a: { b: [1, 2, { c: null }] } }],
  [{ a: { b: [1, 2, { c: null }] } }, { a: { b: [1, 2, { c: 0 }] } }],
  [[1, 2], [1, 2]],
  [[1, 2], [2, 1]],
  [[1, 2], [1, 2, 3]],
  [[], {}],
  [[undefined], []],
  [{ 0: 1, length: 1 }, [1]],
  [Object.create(null), {}],
  [new Point(1), { x: 1 }],
  [new Point(1), new Point(1)],
  [new Date(0), new Date(0)],
  [new Date(0), new Date(1)],
  [/a/g, /a/g],
  [/a/g, /a/i],
  [new Map([[1, { a: 1 }]]), new Map([[1, { a: 1 }]])],
  [new Map([[1, 2]]), new Map([[1, 3]])],
  [new Set([1, 2]), new Set([2, 1])],
  [new Set([{ a: 1 }]), new Set([{ a: 1 }])],
  [new Set([{ a: 1 }]), new Set([{ a: 2 }])],
  [new Uint8Array([1, 2]), new Uint8Array([1, 2])],
  [new Uint8Array([1, 2]), new Uint8Array([1, 3])],
  [new RangeError("x"), new RangeError("x")],
  [new RangeError("x"), new TypeError("x")],
  [{ [sym]: 1 }, { [sym]: 1 }],
  [{ [sym]: 1 }, {}],
];

function throws(fn: () => void): boolean {
  try {
    fn();
    return false;
  } catch {
    return true;
  }
}

Deno.test("assert.ts equal and deepEqual pass and fail where node:assert/strict does", () => {
  for (const [a, b] of PAIRS) {
    for (const [x, y] of [[a, b], [b, a]]) {
      const what = `${Deno.inspect(x)} vs ${Deno.inspect(y)}`;
      for (const method of ["equal", "deepEqual", "notEqual", "notDeepEqual"] as const) {
        nodeAssert.equal(
          throws(() => shim[method](x, y)),
          throws(() => nodeAssert[method](x, y)),
          `${method}: ${what}`,
        );
      }
    }
  }
});

Deno.test("assert.ts ok, match, fail and throws behave as node:assert/strict", () => {
  shim(1);
  shim.ok("x");
  nodeAssert.throws(() => shim(0), AssertionError);
  nodeAssert.throws(() => shim.ok(""), AssertionError);
  nodeAssert.throws(() => shim.ok(false, "custom"), { message: "custom" });
  shim.match("event_seq 2", /event_seq 2\b/);
  nodeAssert.throws(() => shim.match("abc", /x/), AssertionError);
  nodeAssert.throws(() => shim.fail("boom"), { message: "boom" });
  nodeAssert.throws(() => shim.equal(1, 2, "why"), { message: "why", name: "AssertionError" });
  shim.throws(() => {
    throw new RangeError("r");
  }, RangeError);
  nodeAssert.throws(() => shim.throws(() => {}), AssertionError);
  nodeAssert.throws(() =>
    shim.throws(() => {
      throw new TypeError("t");
    }, RangeError)
  );
  nodeAssert.equal(shim.strict, shim);
});

Deno.test("assert.ts rejects checks the rejection as node:assert/strict does", async () => {
  const reject = (error: unknown) => Promise.reject(error);
  const expectations = [
    RangeError,
    TypeError,
    Error,
    /event_seq 2/,
    /nope/,
    { name: "RangeError" },
    { message: /seq/ },
    { message: "other" },
    (error: unknown) => error instanceof RangeError,
  ];
  for (const expected of expectations) {
    const settle = (promise: Promise<void>) => promise.then(() => true, () => false);
    const error = new RangeError("event_seq 2 leaves a gap");
    nodeAssert.equal(
      await settle(shim.rejects(reject(error), expected)),
      await settle(nodeAssert.rejects(reject(error), expected)),
      `rejects with ${Deno.inspect(expected)}`,
    );
  }
  await nodeAssert.rejects(shim.rejects(Promise.resolve(1)), AssertionError);
  await shim.rejects(() => reject(new Error("fn form")), Error);
});
