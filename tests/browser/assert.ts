// A small stand-in for `node:assert/strict` in the browser bundle of
// store_page.ts: `deno bundle --platform=browser` leaves `node:` imports
// external, and browsers cannot load them. indexeddb_chromium_test.ts maps
// `node:assert/strict` here with an import map; under Deno the store suite
// keeps using the real module.
//
// Strict semantics, as `node:assert/strict`: `equal` is `Object.is`,
// `deepEqual` compares prototypes, own enumerable keys (symbols too) and the
// contents of Dates, RegExps, Maps, Sets, typed arrays and errors. Only the
// functions the suites use, plus the common ones around them.

/** Thrown when an assertion fails, as Node's `AssertionError`. */
export class AssertionError extends Error {
  override name = "AssertionError";
  /** Always `ERR_ASSERTION`, as in Node. */
  readonly code = "ERR_ASSERTION";
  /** The value that was checked. */
  readonly actual: unknown;
  /** The value it was checked against. */
  readonly expected: unknown;
  /** The name of the failed assertion. */
  readonly operator: string;

  /** Makes the error; `message` defaults to one that shows both values. */
  constructor(
    options: { message?: string; actual?: unknown; expected?: unknown; operator: string },
  ) {
    super(options.message ?? defaultMessage(options));
    this.actual = options.actual;
    this.expected = options.expected;
    this.operator = options.operator;
  }
}

type Message = string | Error | undefined;

function defaultMessage(
  { actual, expected, operator }: { actual?: unknown; expected?: unknown; operator: string },
): string {
  if (operator === "fail") return "Failed";
  if (operator === "==") return `The expression evaluated to a falsy value: ${show(actual)}`;
  return `Expected values to be ${operator}:\n  actual:   ${show(actual)}\n  expected: ${
    show(expected)
  }`;
}

/** A readable rendering of `value`, with the types JSON loses. */
function show(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    const text = JSON.stringify(value, (_key, v: unknown) => {
      if (v === undefined) return "[undefined]";
      if (typeof v === "bigint") return `${v}n`;
      if (typeof v === "number" && !Number.isFinite(v)) return String(v);
      if (typeof v === "symbol" || typeof v === "function") return String(v);
      if (v instanceof Map) return { "[Map]": [...v] };
      if (v instanceof Set) return { "[Set]": [...v] };
      if (v instanceof Error) return `[${v.name}: ${v.message}]`;
      if (typeof v === "object" && v !== null) {
        if (seen.has(v)) return "[Circular]";
        seen.add(v);
      }
      return v;
    });
    return text ?? String(value);
  } catch {
    return String(value);
  }
}

function fail(
  message: Message,
  details: { actual?: unknown; expected?: unknown; operator: string },
) {
  if (message instanceof Error) throw message;
  throw new AssertionError({ ...details, ...(message === undefined ? {} : { message }) });
}

function ownKeys(value: object): (string | symbol)[] {
  return Reflect.ownKeys(value).filter((key) =>
    Object.prototype.propertyIsEnumerable.call(value, key)
  );
}

function isDeepStrictEqual(a: unknown, b: unknown, seen: Map<object, object>): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Object.prototype.toString.call(a) !== Object.prototype.toString.call(b)) return false;
  // Cycles: a pair being compared already is taken as equal.
  if (seen.get(a) === b) return true;
  seen.set(a, b);
  if (a instanceof Date) {
    if (!Object.is(a.getTime(), (b as Date).getTime())) return false;
  } else if (a instanceof RegExp) {
    const other = b as RegExp;
    if (a.source !== other.source || a.flags !== other.flags || a.lastIndex !== other.lastIndex) {
      return false;
    }
  } else if (a instanceof Error) {
    const other = b as Error;
    if (a.message !== other.message || a.name !== other.name) return false;
  } else if (ArrayBuffer.isView(a)) {
    const left = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const view = b as ArrayBufferView;
    const right = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    if (left.length !== right.length || left.some((byte, i) => byte !== right[i])) return false;
  } else if (a instanceof Map) {
    const other = b as Map<unknown, unknown>;
    if (a.size !== other.size) return false;
    for (const [key, value] of a) {
      if (!other.has(key) || !isDeepStrictEqual(value, other.get(key), seen)) return false;
    }
  } else if (a instanceof Set) {
    const other = b as Set<unknown>;
    if (a.size !== other.size) return false;
    for (const item of a) {
      if (other.has(item)) continue;
      if (typeof item !== "object" || item === null) return false;
      let found = false;
      for (const candidate of other) {
        if (isDeepStrictEqual(item, candidate, new Map(seen))) {
          found = true;
          break;
        }
      }
      if (!found) return false;
    }
  } else if (
    a instanceof Boolean || a instanceof Number || a instanceof String
  ) {
    if (!Object.is(a.valueOf(), (b as typeof a).valueOf())) return false;
  }
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return false;
  const keys = ownKeys(a);
  const otherKeys = ownKeys(b);
  if (keys.length !== otherKeys.length) return false;
  for (const key of keys) {
    if (!Object.prototype.propertyIsEnumerable.call(b, key)) return false;
    const left = (a as Record<string | symbol, unknown>)[key];
    const right = (b as Record<string | symbol, unknown>)[key];
    if (!isDeepStrictEqual(left, right, seen)) return false;
  }
  return true;
}

type ErrorClass = abstract new (...args: never[]) => unknown;
type Expected = ErrorClass | RegExp | ((error: unknown) => boolean) | Record<string, unknown>;

function checkError(error: unknown, expected: Expected | undefined, message: Message): void {
  if (expected === undefined) return;
  if (expected instanceof RegExp) {
    if (!expected.test(String(error))) {
      fail(message, { actual: error, expected, operator: "rejects" });
    }
    return;
  }
  if (typeof expected === "function") {
    if (expected.prototype !== undefined && error instanceof (expected as ErrorClass)) return;
    if (expected === Error || Object.prototype.isPrototypeOf.call(Error, expected)) {
      fail(
        message ??
          `The error is expected to be an instance of "${expected.name}". Received ${show(error)}`,
        { actual: error, expected, operator: "rejects" },
      );
    }
    if ((expected as (error: unknown) => boolean)(error) !== true) {
      fail(message, { actual: error, expected, operator: "rejects" });
    }
    return;
  }
  for (const key of ownKeys(expected)) {
    const want = (expected as Record<string | symbol, unknown>)[key];
    const got = typeof error === "object" && error !== null
      ? (error as Record<string | symbol, unknown>)[key]
      : undefined;
    const ok = want instanceof RegExp && typeof got === "string"
      ? want.test(got)
      : isDeepStrictEqual(got, want, new Map());
    if (!ok) fail(message, { actual: error, expected, operator: "rejects" });
  }
}

const NOT_THROWN = Symbol("not thrown");

/** The strict assertion functions, callable itself as `ok`. */
export interface Assert {
  (value: unknown, message?: Message): asserts value;
  /** Checks that `value` is truthy. */
  ok(value: unknown, message?: Message): asserts value;
  /** Checks `Object.is(actual, expected)`. */
  equal<T>(actual: unknown, expected: T, message?: Message): asserts actual is T;
  /** Checks `!Object.is(actual, expected)`. */
  notEqual(actual: unknown, expected: unknown, message?: Message): void;
  /** Checks deep strict equality. */
  deepEqual<T>(actual: unknown, expected: T, message?: Message): asserts actual is T;
  /** Checks deep strict inequality. */
  notDeepEqual(actual: unknown, expected: unknown, message?: Message): void;
  /** Checks that `string` matches `regexp`. */
  match(string: string, regexp: RegExp, message?: Message): void;
  /** Always throws. */
  fail(message?: Message): never;
  /** Checks that `fn` throws an error matching `expected`. */
  throws(fn: () => unknown, expected?: Expected, message?: Message): void;
  /** Checks that the promise (or the one `fn` returns) rejects with an error matching `expected`. */
  rejects(
    promise: Promise<unknown> | (() => Promise<unknown>),
    expected?: Expected,
    message?: Message,
  ): Promise<void>;
  /** Itself, as `node:assert/strict` has it. */
  strict: Assert;
  /** The error class of failed assertions. */
  AssertionError: typeof AssertionError;
}

const assert: Assert = Object.assign(
  function ok(value: unknown, message?: Message): asserts value {
    if (!value) fail(message, { actual: value, expected: true, operator: "==" });
  },
  {
    ok(value: unknown, message?: Message): asserts value {
      if (!value) fail(message, { actual: value, expected: true, operator: "==" });
    },
    equal(actual: unknown, expected: unknown, message?: Message): void {
      if (!Object.is(actual, expected)) {
        fail(message, { actual, expected, operator: "strictly equal" });
      }
    },
    notEqual(actual: unknown, expected: unknown, message?: Message): void {
      if (Object.is(actual, expected)) {
        fail(message, { actual, expected, operator: "not strictly equal" });
      }
    },
    deepEqual(actual: unknown, expected: unknown, message?: Message): void {
      if (!isDeepStrictEqual(actual, expected, new Map())) {
        fail(message, { actual, expected, operator: "deep-equal" });
      }
    },
    notDeepEqual(actual: unknown, expected: unknown, message?: Message): void {
      if (isDeepStrictEqual(actual, expected, new Map())) {
        fail(message, { actual, expected, operator: "not deep-equal" });
      }
    },
    match(string: string, regexp: RegExp, message?: Message): void {
      if (typeof string !== "string" || !regexp.test(string)) {
        fail(message, { actual: string, expected: regexp, operator: "match" });
      }
    },
    fail(message?: Message): never {
      fail(message ?? "Failed", { operator: "fail" });
      throw new Error("unreachable");
    },
    throws(fn: () => unknown, expected?: Expected, message?: Message): void {
      let error: unknown = NOT_THROWN;
      try {
        fn();
      } catch (thrown) {
        error = thrown;
      }
      if (error === NOT_THROWN) {
        fail(message ?? "Missing expected exception.", { operator: "throws" });
      }
      checkError(error, expected, message);
    },
    async rejects(
      promise: Promise<unknown> | (() => Promise<unknown>),
      expected?: Expected,
      message?: Message,
    ): Promise<void> {
      let error: unknown = NOT_THROWN;
      try {
        await (typeof promise === "function" ? promise() : promise);
      } catch (thrown) {
        error = thrown;
      }
      if (error === NOT_THROWN) {
        fail(message ?? "Missing expected rejection.", { operator: "rejects" });
      }
      checkError(error, expected, message);
    },
  },
) as unknown as Assert;
assert.strict = assert;
assert.AssertionError = AssertionError;

export default assert;
