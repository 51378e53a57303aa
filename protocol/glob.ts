// This module is browser compatible.
/**
 * Anchored glob patterns over `/`-separated names (spec 1.0 §9.2): `*`
 * matches within one segment, `**` any number of whole segments, `?` one
 * character.
 *
 * @module
 */

import { globSubset } from "./_glob_subset.ts";
import { type GlobToken, tokenizeGlob } from "./_glob_tokens.ts";

const SPECIAL = /[.+^${}()|[\]\\]/g;
/** Each wildcard token as regular-expression source. */
const TOKEN_SOURCE: Record<Exclude<GlobToken["kind"], "lit">, string> = {
  one: "[^/]",
  star: "[^/]*",
  // `**/` is zero or more whole segments; a trailing `**` is anything.
  segments: "(?:[^/]*/)*",
  any: ".*",
};

/**
 * Compiles a glob into an anchored regular expression.
 *
 * @param pattern The glob, e.g. `src/**\/*.ts`.
 * @returns A `RegExp` that matches whole strings only.
 * @example
 * ```ts
 * import { globToRegExp } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const ts = globToRegExp("**\/*.ts");
 * assert.ok(ts.test("mod.ts"));
 * assert.ok(ts.test("protocol/errors.ts"));
 * assert.ok(!ts.test("README.md"));
 * assert.ok(!globToRegExp("src/*").test("src/a/b"));
 * ```
 */
export function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (const token of tokenizeGlob(pattern)) {
    if (token.kind === "lit") source += token.char.replace(SPECIAL, "\\$&");
    else source += TOKEN_SOURCE[token.kind];
  }
  return new RegExp(`^${source}$`);
}

/**
 * Decides whether glob `subset` is contained in glob `superset`: every
 * string that `subset` matches is also matched by `superset` (spec 1.0
 * §9.4). The check is exact for strings without line terminators, and
 * conservative: when the globs are too complex to decide within a fixed
 * bound, the answer is `false`.
 *
 * @param subset The glob that must be covered, e.g. a delegated pattern.
 * @param superset The glob that must cover it.
 * @returns `true` only when containment is proven.
 * @example Compare globs
 * ```ts
 * import { isGlobSubset } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isGlobSubset("src/a.ts", "src/*"));
 * assert.ok(isGlobSubset("src/*", "src/**"));
 * assert.ok(!isGlobSubset("src/**", "src/*"));
 * assert.ok(!isGlobSubset("src-evil/a.ts", "src/**"));
 * ```
 */
export function isGlobSubset(subset: string, superset: string): boolean {
  return globSubset(subset, superset).subset;
}
