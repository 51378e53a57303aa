// This module is browser compatible.
// Canonical `net.fetch` URLs (spec 1.0 §14): parsed by the WHATWG URL parser
// (lower-case scheme and host, IDN to punycode, default port dropped, IPv4
// forms normalised), then refused when ambiguous (userinfo, trailing-dot or
// empty host labels, backslashes, missing `//`) and the path canonicalised
// like a filesystem path, keeping a trailing `/`.

import {
  type Checked,
  decodeOnce,
  fail,
  hasDotSegment,
  ok,
  resolveSegments,
  unsafeText,
} from "./_path.ts";

/** The parts of a canonical http(s) URL or URL pattern that matching compares. */
export interface UrlParts {
  /** `http` or `https`. */
  scheme: string;
  /** Lower-case ASCII host, no trailing dot; may hold globs in a pattern. */
  host: string;
  /** The port, or `""` for the scheme's default. */
  port: string;
  /** Percent-decoded, dot-resolved path; a trailing `/` is kept. */
  path: string;
  /** The serialised query without `?`, or `undefined` when there is none. */
  query: string | undefined;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const PATH_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

/** Parses a `net.fetch` target or, with `pattern`, a `net.fetch` pattern. */
export function parseUrl(text: string, pattern: boolean): Checked<UrlParts> {
  const unsafe = unsafeText(text);
  if (unsafe !== undefined) return fail(unsafe);
  if (text !== text.trim()) return fail("has leading or trailing whitespace");
  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) return fail("is not an absolute URL of the form scheme://host/path");
  if (scheme !== "http" && scheme !== "https") {
    return fail(`has the scheme "${scheme}", not http or https`);
  }
  const rest = text.slice(scheme.length + 3);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  if (authority.includes("@")) return fail("carries userinfo (user@host)");
  if (pattern && text.includes("#")) return fail("has a fragment");
  // The URL parser resolves dot segments itself and clamps `..` at the root;
  // look at them first. In a pattern they would silently widen it.
  const rawPath = authorityEnd < 0 ? "" : rest.slice(authorityEnd).split(/[?#]/)[0]!;
  const rawDecoded = decodeOnce(rawPath === "" ? "/" : rawPath);
  if (rawDecoded.ok) {
    if (pattern && hasDotSegment(rawDecoded.value)) return fail('has a "." or ".." path segment');
    const climbed = resolveSegments(rawDecoded.value, true);
    if (!climbed.ok) return fail(`has a path that ${climbed.reason}`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail("is not a valid URL");
  }
  if (url.username !== "" || url.password !== "") return fail("carries userinfo (user@host)");
  const host = url.hostname;
  if (host === "") return fail("has no host");
  if (host.endsWith(".")) return fail("has a host ending in a dot");
  if (host.startsWith(".") || host.includes("..")) return fail("has a host with an empty label");
  const decoded = decodeOnce(url.pathname);
  if (!decoded.ok) return fail(`has a path that ${decoded.reason}`);
  if (pattern && decoded.value.includes("?")) return fail('has an encoded "?" in its path');
  const path = resolveSegments(decoded.value, true);
  if (!path.ok) return fail(`has a path that ${path.reason}`);
  const query = url.search === "" ? undefined : url.search.slice(1);
  return ok({ scheme, host, port: url.port, path: path.value, query });
}

/** Serialises canonical parts back to a URL string that parses to the same parts. */
export function formatUrl(parts: UrlParts): string {
  let path = "";
  for (const char of parts.path) path += PATH_SAFE.test(char) ? char : encodeURIComponent(char);
  const port = parts.port === "" ? "" : `:${parts.port}`;
  const query = parts.query === undefined ? "" : `?${parts.query}`;
  return `${parts.scheme}://${parts.host}${port}${path}${query}`;
}

/** A host as a `/`-separated glob subject, so `*` spans exactly one DNS label. */
export function hostSegments(host: string): string {
  return host.replaceAll(".", "/");
}
