import assert from "node:assert/strict";
import { canonicalizePath, canonicalizeTarget, canonicalizeUrl } from "../../protocol/canonical.ts";
import { ArcpError } from "../../protocol/errors.ts";

/** Asserts that `fn` throws PERMISSION_DENIED whose reason matches `reason`. */
function assertDenied(fn: () => unknown, target: string, reason: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ArcpError, `${JSON.stringify(target)}: ${String(error)}`);
    assert.equal(error.code, "PERMISSION_DENIED", JSON.stringify(target));
    assert.equal(error.details?.target, target);
    assert.match(String(error.details?.reason), reason, JSON.stringify(target));
    assert.ok(error.message.includes(JSON.stringify(target)), error.message);
    return true;
  }, JSON.stringify(target));
}

Deno.test("canonicalizePath() resolves dot segments, duplicate and trailing slashes", () => {
  const table: [string, string][] = [
    ["/", "/"],
    ["/workspace", "/workspace"],
    ["/workspace/", "/workspace"],
    ["/workspace//src///a.ts", "/workspace/src/a.ts"],
    ["//workspace/a", "/workspace/a"],
    ["/workspace/./a", "/workspace/a"],
    ["/workspace/a/.", "/workspace/a"],
    ["/workspace/a/../b", "/workspace/b"],
    ["/workspace/a/b/../../c", "/workspace/c"],
    ["/workspace/..", "/"],
    ["/workspace/...", "/workspace/..."],
    ["/workspace/..a/a..", "/workspace/..a/a.."],
    ["/workspace/.hidden", "/workspace/.hidden"],
    ["/workspace/a b/é", "/workspace/a b/é"],
  ];
  for (const [input, expected] of table) assert.equal(canonicalizePath(input), expected, input);
});

Deno.test("canonicalizePath() percent-decodes exactly once, including encoded dots and slashes", () => {
  const table: [string, string][] = [
    ["/workspace/%2e%2e/etc/passwd", "/etc/passwd"],
    ["/workspace/%2E%2E/etc/passwd", "/etc/passwd"],
    ["/workspace/.%2e/etc", "/etc"],
    ["/workspace/%2e/a", "/workspace/a"],
    ["/workspace/..%2fetc", "/etc"],
    ["/workspace%2Fa%2F..%2F..%2Fetc", "/etc"],
    ["/workspace/a%20b", "/workspace/a b"],
    ["/workspace/%C3%A9", "/workspace/é"],
    ["/workspace/100%25", "/workspace/100%"],
    ["/workspace/%25zz", "/workspace/%zz"],
  ];
  for (const [input, expected] of table) assert.equal(canonicalizePath(input), expected, input);
});

Deno.test("canonicalizePath() denies unsafe or ambiguous paths with PERMISSION_DENIED", () => {
  const table: [string, RegExp][] = [
    ["", /empty/],
    ["workspace/a", /not an absolute path/],
    ["./a", /not an absolute path/],
    ["/..", /climbs above the root/],
    ["/../etc/passwd", /climbs above the root/],
    ["/workspace/../../etc", /climbs above the root/],
    ["/workspace/%2e%2e/%2e%2e/etc", /climbs above the root/],
    ["/workspace/%252e%252e/etc/passwd", /percent-encoded twice/],
    ["/workspace/%25252e", /percent-encoded twice/],
    ["/workspace/%252F", /percent-encoded twice/],
    ["/workspace/%", /invalid percent-encoding/],
    ["/workspace/%zz", /invalid percent-encoding/],
    ["/workspace/%2", /invalid percent-encoding/],
    ["/workspace/%ff", /invalid percent-encoding/],
    ["/workspace/%c0%ae%c0%ae/etc", /invalid percent-encoding/],
    ["/workspace/a\u0000.txt", /NUL byte/],
    ["/workspace/a%00.txt", /NUL byte once percent-decoded/],
    ["/workspace/a\n", /control character/],
    ["/workspace/a%0a", /control character once percent-decoded/],
    ["/workspace/a\u2028", /control character/],
    ["/workspace/\u0085", /control character/],
    ["/workspace\\..\\etc", /backslash/],
    ["/workspace/%5c..%5cetc", /backslash once percent-decoded/],
    ["/workspace/\ud800", /unpaired surrogate/],
    ["/workspace/%ed%a0%80", /invalid percent-encoding/],
  ];
  for (const [input, reason] of table) assertDenied(() => canonicalizePath(input), input, reason);
});

Deno.test("canonicalizePath() is idempotent", () => {
  for (
    const input of ["/a/./b/../c//d/", "/workspace/%2e%2e/x", "/w/100%25", "/w/a%20b", "/w/%3F"]
  ) {
    const once = canonicalizePath(input);
    assert.equal(canonicalizePath(once.replaceAll("%", "%25")), once, input);
  }
});

Deno.test("canonicalizeUrl() applies WHATWG canonical equivalences", () => {
  const table: [string, string][] = [
    ["HTTPS://API.EXAMPLE.COM:443/v1", "https://api.example.com/v1"],
    ["https://api.example.com", "https://api.example.com/"],
    ["http://api.example.com:80/", "http://api.example.com/"],
    ["https://api.example.com:0443/", "https://api.example.com/"],
    ["https://api.example.com:80/", "https://api.example.com:80/"],
    ["http://api.example.com:443/", "http://api.example.com:443/"],
    ["https://%61pi.example.com/", "https://api.example.com/"],
    ["https://аpi.example.com/", "https://xn--pi-6kc.example.com/"],
    ["https://bücher.example/", "https://xn--bcher-kva.example/"],
    ["https://api。example。com/", "https://api.example.com/"],
    ["https://api．example．com/", "https://api.example.com/"],
    ["http://2130706433/", "http://127.0.0.1/"],
    ["http://0x7f.1/", "http://127.0.0.1/"],
    ["https://[0:0::1]/", "https://[::1]/"],
    ["https://api.example.com/a#fragment", "https://api.example.com/a"],
    ["https://api.example.com/a?b=1&c=%20#x", "https://api.example.com/a?b=1&c=%20"],
    ["https://api.example.com/a?", "https://api.example.com/a"],
  ];
  for (const [input, expected] of table) assert.equal(canonicalizeUrl(input), expected, input);
});

Deno.test("canonicalizeUrl() canonicalises the path like a filesystem path, keeping a trailing slash", () => {
  const table: [string, string][] = [
    ["https://h.example/v1/", "https://h.example/v1/"],
    ["https://h.example/v1/./a", "https://h.example/v1/a"],
    ["https://h.example/v1/a/..", "https://h.example/v1/"],
    ["https://h.example/v1/%2e%2e/admin", "https://h.example/admin"],
    ["https://h.example/v1/%2E%2e/admin", "https://h.example/admin"],
    ["https://h.example/v1/.%2e/admin", "https://h.example/admin"],
    ["https://h.example/v1/..%2fadmin", "https://h.example/admin"],
    ["https://h.example/v1%2fadmin", "https://h.example/v1/admin"],
    ["https://h.example//v1//a", "https://h.example/v1/a"],
    ["https://h.example/a b/é", "https://h.example/a%20b/%C3%A9"],
    ["https://h.example/%7Euser/%41", "https://h.example/~user/A"],
    ["https://h.example/100%25", "https://h.example/100%25"],
    ["https://h.example/a%3Fb%23c", "https://h.example/a%3Fb%23c"],
    ["https://h.example/*/@:;=", "https://h.example/*/@:;="],
  ];
  for (const [input, expected] of table) assert.equal(canonicalizeUrl(input), expected, input);
});

Deno.test("canonicalizeUrl() denies unsafe or ambiguous URLs with PERMISSION_DENIED", () => {
  const table: [string, RegExp][] = [
    ["", /empty/],
    ["api.example.com/v1", /not an absolute URL/],
    ["//api.example.com/", /not an absolute URL/],
    ["https:api.example.com/", /not an absolute URL/],
    ["https:/api.example.com/", /not an absolute URL/],
    ["https:\\\\api.example.com/", /backslash/],
    ["file:///etc/passwd", /scheme "file"/],
    ["ftp://api.example.com/", /scheme "ftp"/],
    ["javascript://api.example.com/%0aalert(1)", /scheme "javascript"/],
    ["data://text/plain,hi", /scheme "data"/],
    ["https://api.example.com@evil.com/", /userinfo/],
    ["https://user:pass@api.example.com/", /userinfo/],
    ["https://@api.example.com/", /userinfo/],
    ["https://api.example.com:@evil.com/", /userinfo/],
    ["https://api.example.com\\@evil.com/", /backslash/],
    ["https://api.example.com/%5c..%5c", /backslash once percent-decoded/],
    ["https://api.example.com./", /ending in a dot/],
    ["https://api..example.com/", /empty label/],
    ["https://api.example․com/", /not a valid URL/],
    ["https://ex ample.com/", /not a valid URL/],
    ["https://api.example.com:65536/", /not a valid URL/],
    ["https://api.example.com/\u0000", /NUL byte/],
    ["https://api.example.com/%00", /NUL byte once percent-decoded/],
    ["https://api.exa\nmple.com/", /control character/],
    ["https://api.exa\tmple.com/", /control character/],
    [" https://api.example.com/", /whitespace/],
    ["https://api.example.com/ ", /whitespace/],
    ["https://api.example.com/%252e%252e/admin", /percent-encoded twice/],
    ["https://api.example.com/%zz", /invalid percent-encoding/],
    ["https://api.example.com/100%", /invalid percent-encoding/],
    ["https://api.example.com/%c0%ae%c0%ae/", /invalid percent-encoding/],
    ["https://api.example.com/../admin", /climbs above the root/],
    ["https://api.example.com/v1/%2e%2e/%2e%2e/admin", /climbs above the root/],
  ];
  for (const [input, reason] of table) assertDenied(() => canonicalizeUrl(input), input, reason);
});

Deno.test("canonicalizeUrl() output is a fixed point", () => {
  for (
    const input of [
      "HTTPS://API.EXAMPLE.COM:443/v1/../a b/%C3%A9?x=1",
      "https://h.example/100%25",
      "https://h.example/a%3Fb",
      "http://h.example:8080/x/",
    ]
  ) {
    const once = canonicalizeUrl(input);
    assert.equal(canonicalizeUrl(once), once, input);
  }
});

Deno.test("canonicalizeTarget() dispatches on the capability", () => {
  assert.equal(canonicalizeTarget("fs.read", "/a/../b"), "/b");
  assert.equal(canonicalizeTarget("fs.write", "/a//b/"), "/a/b");
  assert.equal(canonicalizeTarget("net.fetch", "HTTP://A.EXAMPLE/"), "http://a.example/");
  for (const capability of ["tool.call", "agent.delegate", "model.use", "x-acme.gpu", "db.q"]) {
    // Names are neither decoded nor case-folded.
    assert.equal(canonicalizeTarget(capability, "Mcp:GitHub/%2e"), "Mcp:GitHub/%2e");
    assertDenied(() => canonicalizeTarget(capability, "a\u0000b"), "a\u0000b", /NUL/);
    assertDenied(() => canonicalizeTarget(capability, "a\\b"), "a\\b", /backslash/);
    assertDenied(() => canonicalizeTarget(capability, ""), "", /empty/);
  }
});
