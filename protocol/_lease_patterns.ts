// This module is browser compatible.
// Per-capability pattern semantics (spec §9.2): how a pattern is checked,
// compiled, matched against a canonical target, and compared with another
// pattern for the subset relation (spec 1.0 §9.4).

import { parseAmountUnits } from "./_decimal.ts";
import { globSubset } from "./_glob_subset.ts";
import { canonicalFsPattern, canonicalName, type Checked, fail, ok } from "./_path.ts";
import { hostSegments, parseUrl, type UrlParts } from "./_url.ts";
import { globToRegExp } from "./glob.ts";

/** How a capability's patterns are read. */
export type PatternKind = "path" | "url" | "amount" | "name" | "opaque";

/** The pattern kind of `capability`; vendor and unknown namespaces are opaque. */
export function patternKind(capability: string): PatternKind {
  switch (capability) {
    case "fs.read":
    case "fs.write":
      return "path";
    case "net.fetch":
      return "url";
    case "cost.budget":
      return "amount";
    case "tool.call":
    case "agent.delegate":
    case "model.use":
      return "name";
    default:
      return "opaque";
  }
}

/** A pattern in canonical form: a glob, URL parts, or (for amounts) the text. */
export type CanonicalPattern =
  | { kind: "path" | "name" | "opaque" | "amount"; glob: string }
  | { kind: "url"; parts: UrlParts };

/** Checks and canonicalises one pattern of `capability`. */
export function canonicalPattern(capability: string, pattern: string): Checked<CanonicalPattern> {
  const kind = patternKind(capability);
  if (typeof pattern !== "string" || pattern === "") return fail("is not a non-empty string");
  switch (kind) {
    case "path": {
      const path = canonicalFsPattern(pattern);
      return path.ok ? ok({ kind, glob: path.value }) : path;
    }
    case "url": {
      const parts = parseUrl(pattern, true);
      return parts.ok ? ok({ kind, parts: parts.value }) : parts;
    }
    case "amount":
      return parseAmountUnits(pattern) === undefined
        ? fail('is not an amount currency:decimal such as "USD:5.00"')
        : ok({ kind, glob: pattern });
    case "name": {
      const name = canonicalName(pattern);
      return name.ok ? ok({ kind, glob: name.value }) : name;
    }
    case "opaque":
      return ok({ kind, glob: pattern });
  }
}

interface UrlMatcher {
  parts: UrlParts;
  host: RegExp;
  path: RegExp;
  query: RegExp | undefined;
}

type Matcher = RegExp | UrlMatcher;

const MAX_CACHED = 4096;
const cache = new Map<string, Matcher | null>();

function compile(capability: string, pattern: string): Matcher | null {
  // Compilation depends only on the kind, a fixed word without ":".
  const key = `${patternKind(capability)}:${pattern}`;
  let matcher = cache.get(key);
  if (matcher !== undefined) return matcher;
  const canonical = canonicalPattern(capability, pattern);
  if (!canonical.ok || canonical.value.kind === "amount") matcher = null;
  else if (canonical.value.kind === "url") {
    const parts = canonical.value.parts;
    matcher = {
      parts,
      host: globToRegExp(hostSegments(parts.host)),
      path: globToRegExp(parts.path),
      query: parts.query === undefined ? undefined : globToRegExp(parts.query),
    };
  } else matcher = globToRegExp(canonical.value.glob);
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(key, matcher);
  return matcher;
}

/**
 * Whether `pattern` of `capability` matches a canonical target (a path or
 * name string, or URL parts). Patterns that fail their checks never match.
 */
export function patternMatches(
  capability: string,
  pattern: string,
  target: string | UrlParts,
): boolean {
  const matcher = compile(capability, pattern);
  if (matcher === null) return false;
  if (matcher instanceof RegExp) return typeof target === "string" && matcher.test(target);
  if (typeof target === "string") return false;
  const { parts } = matcher;
  return parts.scheme === target.scheme && parts.port === target.port &&
    matcher.host.test(hostSegments(target.host)) && matcher.path.test(target.path) &&
    (matcher.query === undefined || matcher.query.test(target.query ?? ""));
}

/** Either "proven", or a reason the child pattern is not covered. */
export type Containment = { ok: true } | { ok: false; reason: string };

function globContained(
  child: string,
  parent: string,
  parentText: string,
  what = "",
  show: (subject: string) => string = (subject) => subject,
): Containment {
  const result = globSubset(child, parent);
  if (result.subset) return { ok: true };
  return {
    ok: false,
    reason: result.witness === undefined
      ? `its containment in "${parentText}" could not be proven`
      : `it matches ${what}${JSON.stringify(show(result.witness))}, which "${parentText}" does not`,
  };
}

/**
 * Whether every target matched by `child` is matched by `parent` (both
 * already canonical, same kind). Amounts are not handled here.
 */
export function patternContained(
  child: CanonicalPattern,
  parent: CanonicalPattern,
  parentText: string,
): Containment {
  if (child.kind === "url" && parent.kind === "url") {
    const c = child.parts;
    const p = parent.parts;
    if (c.scheme !== p.scheme) return { ok: false, reason: `its scheme is not ${p.scheme}` };
    if (c.port !== p.port) return { ok: false, reason: `its port differs from "${parentText}"` };
    const host = globContained(
      hostSegments(c.host),
      hostSegments(p.host),
      parentText,
      "host ",
      (subject) => subject.replaceAll("/", "."),
    );
    if (!host.ok) return host;
    const path = globContained(c.path, p.path, parentText, "path ");
    if (!path.ok) return path;
    // No query in a pattern allows every query, as `**` does.
    return globContained(c.query ?? "**", p.query ?? "**", parentText, "query ");
  }
  if (child.kind === "url" || parent.kind === "url") return { ok: false, reason: "kinds differ" };
  // Vendor and unknown semantics are not ours to reason about: only identity is provably safe.
  if (child.kind === "opaque") {
    return child.glob === parent.glob
      ? { ok: true }
      : { ok: false, reason: `it is not identical to "${parentText}" (opaque namespace)` };
  }
  return globContained(child.glob, parent.glob, parentText);
}
