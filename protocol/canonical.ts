// This module is browser compatible.
/**
 * Canonical lease targets (spec 1.0 §14, "Pattern matching subtleties"):
 * paths and URLs are brought to one spelling before they are matched, and
 * spellings that different layers could read differently are denied.
 *
 * Filesystem paths must be absolute. They are percent-decoded exactly once
 * (`%2e%2e` is `..`, `%2f` is `/`); invalid escapes, invalid UTF-8, escapes
 * that survive decoding (`%252e`), NUL and other control characters,
 * unpaired surrogates and backslashes are denied. `.` and empty segments are
 * dropped and `..` resolved; a `..` above `/` is denied, never clamped. A
 * trailing `/` is dropped, so `/workspace/` is `/workspace`, which the
 * pattern `/workspace/**` does not cover; grant `/workspace` itself to allow
 * it.
 *
 * URLs must be `http://` or `https://` with an authority. The WHATWG URL
 * parser lower-cases scheme and host, maps IDN hosts to punycode (and
 * IDNA full stops such as `。` to `.`), normalises IPv4 forms and drops the
 * default port. Userinfo (`user@host`), a host ending in a dot or with empty
 * labels, and the unsafe characters above are denied. The path is
 * canonicalised like a filesystem path but keeps a trailing `/`. The
 * fragment is dropped; the query is kept as serialised.
 *
 * Matching is lexical: it cannot see symbolic links, so the runtime should
 * perform the operation on the canonical target it authorised and resolve
 * links (or refuse them) at the filesystem boundary.
 *
 * @example Canonicalise before matching
 * ```ts
 * import { canonicalizePath, canonicalizeUrl } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.equal(canonicalizePath("/workspace/./src//a.ts"), "/workspace/src/a.ts");
 * assert.equal(canonicalizeUrl("HTTPS://API.Example.COM:443/v1/"), "https://api.example.com/v1/");
 * assert.throws(() => canonicalizePath("/workspace/%2e%2e/%2e%2e/etc"), {
 *   code: "PERMISSION_DENIED",
 * });
 * ```
 *
 * @module
 */

import { canonicalFsPath, canonicalName, type Checked } from "./_path.ts";
import { formatUrl, parseUrl } from "./_url.ts";
import { ArcpError } from "./errors.ts";

function orDeny(kind: string, target: string, checked: Checked<string>): string {
  if (checked.ok) return checked.value;
  throw new ArcpError(
    "PERMISSION_DENIED",
    `${kind} ${JSON.stringify(target)} is denied: it ${checked.reason}`,
    { details: { target, reason: checked.reason } },
  );
}

/**
 * Canonicalises an absolute filesystem path for `fs.read` and `fs.write`
 * lease checks (spec 1.0 §14): decoded once, dot segments resolved,
 * duplicate and trailing slashes removed.
 *
 * @param path The path the agent asked for.
 * @returns The canonical path.
 * @throws {ArcpError} `PERMISSION_DENIED` when the path is relative, climbs
 * above `/`, or holds NUL, control characters, backslashes, invalid or
 * double percent-encoding.
 * @example Canonical and denied paths
 * ```ts
 * import { canonicalizePath } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.equal(canonicalizePath("/workspace/a/../b/"), "/workspace/b");
 * assert.equal(canonicalizePath("/workspace/%2E%2E/etc"), "/etc");
 * assert.throws(() => canonicalizePath("/../etc/passwd"), { code: "PERMISSION_DENIED" });
 * assert.throws(() => canonicalizePath("/workspace/%252e%252e"), { code: "PERMISSION_DENIED" });
 * assert.throws(() => canonicalizePath("workspace/a"), { code: "PERMISSION_DENIED" });
 * ```
 */
export function canonicalizePath(path: string): string {
  return orDeny("Path", path, canonicalFsPath(path));
}

/**
 * Canonicalises an `http`/`https` URL for `net.fetch` lease checks (spec 1.0
 * §14), with the rules described in this module's documentation.
 *
 * @param url The URL the agent asked for.
 * @returns The canonical URL, without fragment.
 * @throws {ArcpError} `PERMISSION_DENIED` when the URL is not an absolute
 * http(s) URL, carries userinfo, has a trailing-dot or empty-label host, or
 * holds NUL, control characters, backslashes, invalid or double
 * percent-encoding, or a `..` above the root.
 * @example Canonical and denied URLs
 * ```ts
 * import { canonicalizeUrl } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.equal(canonicalizeUrl("http://Example.com:80/a/%2e%2e/b?q=1#top"), "http://example.com/b?q=1");
 * assert.equal(canonicalizeUrl("https://аpi.example.com/"), "https://xn--pi-6kc.example.com/");
 * assert.throws(() => canonicalizeUrl("https://api.example.com@evil.com/"), {
 *   code: "PERMISSION_DENIED",
 * });
 * assert.throws(() => canonicalizeUrl("file:///etc/passwd"), { code: "PERMISSION_DENIED" });
 * ```
 */
export function canonicalizeUrl(url: string): string {
  const parts = parseUrl(url, false);
  return orDeny("URL", url, parts.ok ? { ok: true, value: formatUrl(parts.value) } : parts);
}

/**
 * Canonicalises the target of an operation under `capability`: a path for
 * `fs.read`/`fs.write`, a URL for `net.fetch`, and a name (checked, kept
 * case-sensitive) for every other capability.
 *
 * @param capability The capability, e.g. `"net.fetch"`.
 * @param target The operation's target.
 * @returns The canonical target.
 * @throws {ArcpError} `PERMISSION_DENIED` when the target cannot be
 * canonicalised.
 * @example Dispatch on the capability
 * ```ts
 * import { canonicalizeTarget } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.equal(canonicalizeTarget("fs.read", "/a//b"), "/a/b");
 * assert.equal(canonicalizeTarget("tool.call", "mcp:github/Search"), "mcp:github/Search");
 * assert.throws(() => canonicalizeTarget("tool.call", "x\u0000y"), { code: "PERMISSION_DENIED" });
 * ```
 */
export function canonicalizeTarget(capability: string, target: string): string {
  switch (capability) {
    case "fs.read":
    case "fs.write":
      return canonicalizePath(target);
    case "net.fetch":
      return canonicalizeUrl(target);
    default:
      return orDeny("Target", target, canonicalName(target));
  }
}
