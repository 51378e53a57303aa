// This module is browser compatible.
// Lexical canonicalisation shared by filesystem paths and URL paths
// (spec 1.0 §14 "Pattern matching subtleties"): decode exactly once, refuse
// what a second decoder or another platform could read differently, then
// resolve dot segments without ever clamping at the root.

/** A canonical value, or the reason there is none. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A successful {@linkcode Checked}. */
export function ok<T>(value: T): Checked<T> {
  return { ok: true, value };
}

/** A failed {@linkcode Checked}. */
export function fail<T>(reason: string): Checked<T> {
  return { ok: false, reason };
}

// C0 and C1 controls, DEL and the line terminators a glob's `.` cannot match.
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const ESCAPE = /%[0-9A-Fa-f]{2}/;

/** Why `text` is unsafe to match at all, or `undefined` when it is fine. */
export function unsafeText(text: string): string | undefined {
  if (typeof text !== "string") return "is not a string";
  if (text === "") return "is empty";
  if (!text.isWellFormed()) return "contains an unpaired surrogate";
  if (text.includes("\0")) return "contains a NUL byte";
  if (CONTROL.test(text)) return "contains a control character";
  // A Windows-style separator, and WHATWG URLs read `\` as `/`.
  if (text.includes("\\")) return "contains a backslash";
  return undefined;
}

/**
 * Percent-decodes `text` exactly once. Invalid escapes and invalid UTF-8 are
 * refused, and so is a result that still holds an escape (`%252e` → `%2e`),
 * which a second decoder downstream would turn into something else.
 */
export function decodeOnce(text: string): Checked<string> {
  const unsafe = unsafeText(text);
  if (unsafe !== undefined) return fail(unsafe);
  let decoded: string;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    return fail("contains an invalid percent-encoding");
  }
  const hidden = unsafeText(decoded);
  if (hidden !== undefined) return fail(`${hidden} once percent-decoded`);
  if (ESCAPE.test(decoded)) return fail("is percent-encoded twice");
  return ok(decoded);
}

/**
 * Resolves `.`, `..` and empty segments of an absolute, decoded path. A
 * `..` that would climb above `/` fails rather than being clamped, because a
 * target that tries it is an attack, not a path. With `keepTrailingSlash` a
 * trailing `/` (or `/.`, `/..`) stays, as it does in URLs.
 */
export function resolveSegments(path: string, keepTrailingSlash: boolean): Checked<string> {
  if (!path.startsWith("/")) return fail("is not an absolute path");
  const parts = path.split("/");
  const segments: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const segment = parts[i]!;
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (segments.length === 0) return fail('climbs above the root with ".."');
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  const last = parts.at(-1);
  const trailing = keepTrailingSlash && segments.length > 0 &&
    (last === "" || last === "." || last === "..");
  return ok(`/${segments.join("/")}${trailing ? "/" : ""}`);
}

/** Whether a decoded path has a `.` or `..` segment. */
export function hasDotSegment(path: string): boolean {
  return path.split("/").some((segment) => segment === "." || segment === "..");
}

/** Canonicalises an absolute filesystem path: decode once, resolve, no trailing `/`. */
export function canonicalFsPath(path: string): Checked<string> {
  const decoded = decodeOnce(path);
  return decoded.ok ? resolveSegments(decoded.value, false) : decoded;
}

/**
 * Canonicalises an `fs.*` pattern like a path. `..` segments are refused:
 * after a wildcard they cannot be resolved lexically, and before one they
 * only obscure what is granted.
 */
export function canonicalFsPattern(pattern: string): Checked<string> {
  const decoded = decodeOnce(pattern);
  if (!decoded.ok) return decoded;
  if (!decoded.value.startsWith("/")) return fail("is not an absolute path");
  if (decoded.value.split("/").includes("..")) return fail('contains a ".." segment');
  return resolveSegments(decoded.value, false);
}

/** Checks a tool, agent or model name (or a glob of them); names are case-sensitive. */
export function canonicalName(name: string): Checked<string> {
  const unsafe = unsafeText(name);
  return unsafe === undefined ? ok(name) : fail(unsafe);
}
