import assert from "node:assert/strict";
import { globSubset } from "../../protocol/_glob_subset.ts";
import { BudgetCounters } from "../../protocol/budget.ts";
import { ArcpError } from "../../protocol/errors.ts";
import { globToRegExp, isGlobSubset } from "../../protocol/glob.ts";
import {
  assertLeaseSubset,
  authorize,
  effectiveExpiry,
  isExpired,
  isLeaseSubset,
  leaseAllows,
  RESERVED_CAPABILITIES,
  validateExpiresAt,
  validateLease,
} from "../../protocol/lease.ts";
import type { Lease } from "../../protocol/messages.ts";

/** Asserts that `fn` throws an ArcpError with `code` whose message matches `message`. */
function assertArcpError(
  fn: () => unknown,
  code: string,
  message: RegExp,
  details?: Record<string, unknown>,
): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ArcpError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, message);
    if (details !== undefined) {
      for (const [key, value] of Object.entries(details)) {
        assert.deepEqual(error.details?.[key], value, key);
      }
    }
    return true;
  });
}

// --- Grammar ---------------------------------------------------------------

Deno.test("validateLease() accepts every reserved namespace of spec 1.0 and 1.1", () => {
  const lease = {
    "fs.read": ["/workspace/myapp/**"],
    "fs.write": ["/workspace/myapp/src/auth/**"],
    "net.fetch": ["https://api.example.com/**", "https://*.example.com/v1/*?key=*"],
    "tool.call": ["mcp:github/*", "humanq.*"],
    "agent.delegate": ["test-runner", "lint-runner"],
    "cost.budget": ["USD:5.00", "credits:1000", "EUR:0.5", "gpu_hours:12.25"],
    "model.use": ["tier-fast/*", "anthropic/claude-3-haiku-*"],
  };
  const result = validateLease(lease);
  assert.deepEqual(result, { lease, vendor: [], unknown: [] });
  assert.notEqual(result.lease, lease);
  assert.notEqual(result.lease["fs.read"], lease["fs.read"]);
  assert.deepEqual(Object.keys(lease), [...RESERVED_CAPABILITIES]);
  assert.deepEqual(validateLease({}), { lease: {}, vendor: [], unknown: [] });
});

Deno.test("validateLease() carries vendor namespaces untouched and reports unknown ones", () => {
  const lease = {
    "x-acme.gpu": ["A100 ✓", "..", "\\weird"],
    "x-acme": ["anything"],
    "db.query": ["reports.*"],
    "fs.read": ["/a/**"],
    "storage.v2.put": ["bucket/*"],
  };
  const result = validateLease(lease, { field: "lease_request" });
  assert.deepEqual(result.lease, lease);
  assert.deepEqual(result.vendor, ["x-acme.gpu", "x-acme"]);
  assert.deepEqual(result.unknown, ["db.query", "storage.v2.put"]);
});

Deno.test("validateLease() rejects shapes outside the §9.2 grammar with INVALID_REQUEST", () => {
  const table: [unknown, RegExp, Record<string, unknown>][] = [
    [null, /expected an object/, {}],
    [[], /expected an object/, {}],
    ["fs.read", /expected an object/, {}],
    [{ "FS.READ": ["/a"] }, /"FS\.READ" is not a dot-namespaced lowercase identifier/, {
      capability: "FS.READ",
    }],
    [{ "fs..read": ["/a"] }, /not a dot-namespaced/, { capability: "fs..read" }],
    [{ "": ["/a"] }, /not a dot-namespaced/, { capability: "" }],
    [JSON.parse('{"__proto__": ["/a"]}'), /not a dot-namespaced/, { capability: "__proto__" }],
    [{ " fs.read": ["/a"] }, /not a dot-namespaced/, { capability: " fs.read" }],
    [{ "fs.read": [] }, /"fs\.read" must be a non-empty array/, { capability: "fs.read" }],
    [{ "fs.read": "/a/**" }, /must be a non-empty array/, { capability: "fs.read" }],
    [{ "fs.read": [1] }, /must be a non-empty array/, { capability: "fs.read" }],
    [{ "fs.read": null }, /must be a non-empty array/, { capability: "fs.read" }],
    [{ "x-acme.gpu": [] }, /must be a non-empty array/, { capability: "x-acme.gpu" }],
    [{ "db.query": [{}] }, /must be a non-empty array/, { capability: "db.query" }],
    [{ "tool.call": [""] }, /not a non-empty string/, { capability: "tool.call", pattern: "" }],
    [{ "x-acme.gpu": [""] }, /not a non-empty string/, { capability: "x-acme.gpu" }],
    [{ "fs.read": ["workspace/**"] }, /not an absolute path/, { pattern: "workspace/**" }],
    [{ "fs.read": ["**"] }, /not an absolute path/, { pattern: "**" }],
    [{ "fs.write": ["/a/../b/**"] }, /contains a "\.\." segment/, { capability: "fs.write" }],
    [{ "fs.write": ["/a/%2e%2e/**"] }, /contains a "\.\." segment/, {}],
    [{ "fs.read": ["/a\u0000/**"] }, /NUL byte/, {}],
    [{ "fs.read": ["/a/%252e"] }, /percent-encoded twice/, {}],
    [{ "fs.read": ["C:\\work\\**"] }, /backslash/, {}],
    [{ "net.fetch": ["api.example.com/**"] }, /not an absolute URL/, { capability: "net.fetch" }],
    [{ "net.fetch": ["ftp://api.example.com/**"] }, /scheme "ftp"/, {}],
    [{ "net.fetch": ["https://u@api.example.com/**"] }, /userinfo/, {}],
    [{ "net.fetch": ["https://api.example.com/**#x"] }, /fragment/, {}],
    [{ "net.fetch": ["https://api.example.com/v1/../**"] }, /"\." or "\.\." path segment/, {}],
    [{ "net.fetch": ["https://api.example.com/v1/%2e%2e/**"] }, /path segment/, {}],
    [{ "net.fetch": ["https://api.example.com/a%3Fb"] }, /encoded "\?"/, {}],
    [{ "net.fetch": ["https://api.example.com:*/**"] }, /not a valid URL/, {}],
    [{ "net.fetch": ["https://api.example.com./**"] }, /ending in a dot/, {}],
    [{ "tool.call": ["mcp:github/\n*"] }, /control character/, {}],
    [{ "model.use": ["gpt-4o\u0000"] }, /NUL byte/, {}],
    [{ "cost.budget": ["5.00"] }, /not an amount/, { pattern: "5.00" }],
    [{ "cost.budget": ["USD:-1"] }, /not an amount/, {}],
    [{ "cost.budget": ["USD:1e3"] }, /not an amount/, {}],
    [{ "cost.budget": ["USD:.5"] }, /not an amount/, {}],
    [{ "cost.budget": ["USD:5."] }, /not an amount/, {}],
    [{ "cost.budget": ["USD: 5"] }, /not an amount/, {}],
    [{ "cost.budget": ["US D:5"] }, /not an amount/, {}],
    [{ "cost.budget": [":5"] }, /not an amount/, {}],
    [{ "cost.budget": ["USD:5", "USD:3"] }, /names the currency "USD" more than once/, {
      pattern: "USD:3",
    }],
  ];
  for (const [value, message, details] of table) {
    assertArcpError(
      () => validateLease(value, { field: "lease_request" }),
      "INVALID_REQUEST",
      new RegExp(`^Invalid lease_request: .*${message.source}`),
      { field: "lease_request", ...details },
    );
  }
});

// --- Enforcement -----------------------------------------------------------

const LEASE: Lease = {
  "fs.read": ["/workspace/**", "/data/*"],
  "fs.write": ["/workspace/out/*.txt"],
  "net.fetch": [
    "https://api.example.com/**",
    "https://*.cdn.example.com/assets/*",
    "http://127.0.0.1:8080/health",
    "https://search.example.com/q?lang=en&q=*",
  ],
  "tool.call": ["mcp:github/*", "humanq.*"],
  "agent.delegate": ["test-runner"],
  "model.use": ["tier-fast/*", "anthropic/claude-3-haiku-*"],
  "cost.budget": ["USD:5.00"],
  "x-acme.gpu": ["a100/*"],
};

Deno.test("authorize() denies every known bypass attempt", () => {
  const table: [string, string, RegExp][] = [
    ["fs.read", "/workspace/../etc/passwd", /no "fs\.read" pattern .* "\/etc\/passwd"/],
    ["fs.read", "/workspace/%2e%2e/etc/passwd", /matches "\/etc\/passwd"/],
    ["fs.read", "/workspace/%2E%2E/etc/passwd", /matches "\/etc\/passwd"/],
    ["fs.read", "/workspace/.%2e/etc/passwd", /matches "\/etc\/passwd"/],
    ["fs.read", "/workspace/..%2fetc/passwd", /matches "\/etc\/passwd"/],
    ["fs.read", "/workspace/%252e%252e/etc/passwd", /percent-encoded twice/],
    ["fs.read", "/workspace/%25252e%25252e/etc/passwd", /percent-encoded twice/],
    ["fs.read", "/workspace/%c0%ae%c0%ae/etc/passwd", /invalid percent-encoding/],
    ["fs.read", "/workspace/../../etc/passwd", /climbs above the root/],
    ["fs.read", "/../workspace/a", /climbs above the root/],
    ["fs.read", "/workspace-evil/x", /matches "\/workspace-evil\/x"/],
    ["fs.read", "/workspacex", /matches/],
    ["fs.read", "/datax", /matches/],
    ["fs.read", "/data/a/b", /matches/],
    ["fs.read", "/data", /matches/],
    ["fs.read", "/workspace", /matches "\/workspace"/],
    ["fs.read", "workspace/a", /not an absolute path/],
    ["fs.read", "/workspace\\..\\etc\\passwd", /backslash/],
    ["fs.read", "/workspace/%5c..%5cetc", /backslash/],
    ["fs.read", "/workspace/a\u0000/../../etc/passwd", /NUL byte/],
    ["fs.read", "/workspace/a%00.txt", /NUL byte/],
    ["fs.read", "/workspace/a\n/../../etc", /control character/],
    ["fs.read", "//etc/passwd", /matches "\/etc\/passwd"/],
    ["fs.read", "/workspace//../etc/passwd", /matches "\/etc\/passwd"/],
    ["fs.write", "/workspace/out/a.txt/../../../etc/x.txt", /matches "\/etc\/x\.txt"/],
    ["fs.write", "/workspace/out/sub/a.txt", /matches/],
    ["fs.write", "/workspace/src/a.ts", /matches/],
    ["net.fetch", "https://api.example.com@evil.com/", /userinfo/],
    ["net.fetch", "https://api.example.com:443@evil.com/", /userinfo/],
    ["net.fetch", "https://api.example.com%40evil.com/", /not a valid URL|matches/],
    ["net.fetch", "https://api.example.com.evil.com/", /matches/],
    ["net.fetch", "https://evil.com/api.example.com/", /matches/],
    ["net.fetch", "https://evil.com/?https://api.example.com/", /matches/],
    ["net.fetch", "https://evil.com#https://api.example.com/", /matches/],
    ["net.fetch", "http://api.example.com:8080/", /matches/],
    ["net.fetch", "http://api.example.com/", /matches/],
    ["net.fetch", "https://api.example.com:8443/", /matches/],
    ["net.fetch", "https://api.example.com./", /ending in a dot/],
    ["net.fetch", "https://api.example.com../", /ending in a dot|empty label/],
    ["net.fetch", "https://аpi.example.com/", /matches "https:\/\/xn--pi-6kc\.example\.com\/"/],
    ["net.fetch", "https://api.examp1e.com/", /matches/],
    ["net.fetch", "https://api.example․com/", /not a valid URL/],
    ["net.fetch", "https://api.example.com\\@evil.com/", /backslash/],
    ["net.fetch", "https:\\\\api.example.com/", /backslash/],
    ["net.fetch", "//api.example.com/", /not an absolute URL/],
    ["net.fetch", "https:api.example.com/", /not an absolute URL/],
    ["net.fetch", "https:/api.example.com/", /not an absolute URL/],
    ["net.fetch", "HTTPS://API.EXAMPLE.COM/v1/%2e%2e/%2e%2e/etc", /climbs above the root/],
    ["net.fetch", "https://api.example.com/%252e%252e/", /percent-encoded twice/],
    ["net.fetch", "https://api.example.com/%00", /NUL byte/],
    ["net.fetch", "https://api.exa\tmple.com/", /control character/],
    ["net.fetch", "file:///workspace/a", /scheme "file"/],
    ["net.fetch", "wss://api.example.com/", /scheme "wss"/],
    ["net.fetch", "https://a.b.cdn.example.com/assets/x.png", /matches/],
    ["net.fetch", "https://cdn.example.com/assets/x.png", /matches/],
    ["net.fetch", "https://x.cdn.example.com/assets/a/b.png", /matches/],
    ["net.fetch", "https://x.cdn.example.com/assets/%2e%2e/secret", /matches/],
    ["net.fetch", "http://127.0.0.1/health", /matches/],
    ["net.fetch", "http://localhost:8080/health", /matches/],
    ["net.fetch", "https://search.example.com/q?lang=fr&q=x", /matches/],
    ["net.fetch", "https://search.example.com/q", /matches/],
    ["tool.call", "mcp:github/x/y", /matches "mcp:github\/x\/y"/],
    ["tool.call", "mcp:github", /matches/],
    ["tool.call", "mcp:gitlab/x", /matches/],
    ["tool.call", "MCP:GITHUB/x", /matches/],
    ["tool.call", "mcp:github/x\u0000", /NUL byte/],
    ["tool.call", "humanq.ask/x", /matches/],
    ["agent.delegate", "test-runner@2", /matches/],
    ["agent.delegate", "test-runnerx", /matches/],
    ["model.use", "tier-fast/a/b", /matches/],
    ["model.use", "anthropic/claude-3-opus-2024", /matches/],
    ["model.use", "tier-slow/x", /matches/],
    ["cost.budget", "USD", /not target-based/],
    ["x-acme.gpu", "h100/1", /matches/],
    ["fs.delete", "/workspace/a", /does not grant "fs\.delete"/],
    ["constructor", "x", /does not grant "constructor"/],
    ["__proto__", "x", /does not grant "__proto__"/],
    ["toString", "x", /does not grant "toString"/],
  ];
  for (const [capability, target, reason] of table) {
    const decision = authorize(LEASE, capability, target);
    assert.equal(decision.allowed, false, `${capability} ${JSON.stringify(target)} was allowed`);
    if (!decision.allowed) assert.match(decision.reason, reason, `${capability} ${target}`);
    assert.equal(leaseAllows(LEASE, capability, target), false, target);
  }
});

Deno.test("authorize() allows canonical equivalents and returns the canonical target", () => {
  const table: [string, string, string, string][] = [
    ["fs.read", "/workspace/src/a.ts", "/workspace/src/a.ts", "/workspace/**"],
    ["fs.read", "/workspace/./src//a.ts", "/workspace/src/a.ts", "/workspace/**"],
    ["fs.read", "/workspace/src/../lib/b.ts", "/workspace/lib/b.ts", "/workspace/**"],
    ["fs.read", "/workspace/a%20b.txt", "/workspace/a b.txt", "/workspace/**"],
    ["fs.read", "/workspace/100%25", "/workspace/100%", "/workspace/**"],
    ["fs.read", "/workspace/..data", "/workspace/..data", "/workspace/**"],
    ["fs.read", "/tmp/../data/x", "/data/x", "/data/*"],
    ["fs.write", "/workspace/out/a.txt", "/workspace/out/a.txt", "/workspace/out/*.txt"],
    [
      "net.fetch",
      "HTTPS://API.EXAMPLE.COM:443/v1",
      "https://api.example.com/v1",
      "https://api.example.com/**",
    ],
    [
      "net.fetch",
      "https://api.example.com",
      "https://api.example.com/",
      "https://api.example.com/**",
    ],
    [
      "net.fetch",
      "https://api.example.com//v1//users?id=1#top",
      "https://api.example.com/v1/users?id=1",
      "https://api.example.com/**",
    ],
    // IDNA maps the ideographic full stop to ".": the same host, not a lookalike.
    [
      "net.fetch",
      "https://api。example。com/v1",
      "https://api.example.com/v1",
      "https://api.example.com/**",
    ],
    [
      "net.fetch",
      "https://X.CDN.example.com/assets/a.png",
      "https://x.cdn.example.com/assets/a.png",
      "https://*.cdn.example.com/assets/*",
    ],
    [
      "net.fetch",
      "http://2130706433:8080/health",
      "http://127.0.0.1:8080/health",
      "http://127.0.0.1:8080/health",
    ],
    [
      "net.fetch",
      "https://search.example.com/q?lang=en&q=arcp",
      "https://search.example.com/q?lang=en&q=arcp",
      "https://search.example.com/q?lang=en&q=*",
    ],
    ["tool.call", "mcp:github/search", "mcp:github/search", "mcp:github/*"],
    ["tool.call", "humanq.ask", "humanq.ask", "humanq.*"],
    ["agent.delegate", "test-runner", "test-runner", "test-runner"],
    ["model.use", "tier-fast/small", "tier-fast/small", "tier-fast/*"],
    [
      "model.use",
      "anthropic/claude-3-haiku-20240307",
      "anthropic/claude-3-haiku-20240307",
      "anthropic/claude-3-haiku-*",
    ],
    ["x-acme.gpu", "a100/0", "a100/0", "a100/*"],
  ];
  for (const [capability, target, canonical, pattern] of table) {
    assert.deepEqual(
      authorize(LEASE, capability, target),
      { allowed: true, capability, target: canonical, pattern },
      `${capability} ${target}`,
    );
    assert.equal(leaseAllows(LEASE, capability, target), true, target);
  }
});

Deno.test("authorize() grants a directory itself only when it is listed", () => {
  const lease = { "fs.read": ["/workspace", "/workspace/**"] };
  assert.equal(leaseAllows(lease, "fs.read", "/workspace/"), true);
  assert.equal(leaseAllows(lease, "fs.read", "/workspace"), true);
  assert.equal(leaseAllows({ "fs.read": ["/**"] }, "fs.read", "/"), true);
  assert.equal(leaseAllows({ "fs.read": ["/**"] }, "fs.read", "/.."), false);
});

Deno.test("authorize() ignores the query unless the URL pattern has one", () => {
  const open = { "net.fetch": ["https://h.example/search"] };
  assert.ok(leaseAllows(open, "net.fetch", "https://h.example/search?q=x&admin=1"));
  assert.ok(leaseAllows(open, "net.fetch", "https://h.example/search"));
  const fixed = { "net.fetch": ["https://h.example/search?q=*"] };
  assert.ok(leaseAllows(fixed, "net.fetch", "https://h.example/search?q=arcp"));
  assert.ok(!leaseAllows(fixed, "net.fetch", "https://h.example/search"));
  assert.ok(!leaseAllows(fixed, "net.fetch", "https://h.example/search?q=a/b"));
  assert.ok(!leaseAllows(fixed, "net.fetch", "https://h.example/search?r=1&q=x"));
});

Deno.test("authorize() canonicalises URL patterns the same way as targets", () => {
  const lease = { "net.fetch": ["HTTPS://API.Example.COM:443/V1/**", "https://bücher.example/*"] };
  assert.ok(leaseAllows(lease, "net.fetch", "https://api.example.com/V1/x"));
  assert.ok(!leaseAllows(lease, "net.fetch", "https://api.example.com/v1/x"), "paths keep case");
  assert.ok(leaseAllows(lease, "net.fetch", "https://xn--bcher-kva.example/a"));
  assert.ok(leaseAllows(lease, "net.fetch", "https://BÜCHER.example/a"));
});

Deno.test("authorize() treats '*' in a host as one DNS label and '**' as any number", () => {
  const lease = { "net.fetch": ["https://**.example.com/*"] };
  for (const host of ["example.com", "a.example.com", "a.b.example.com"]) {
    assert.ok(leaseAllows(lease, "net.fetch", `https://${host}/x`), host);
  }
  for (const host of ["example.com.evil.com", "evilexample.com", "a.example.co"]) {
    assert.ok(!leaseAllows(lease, "net.fetch", `https://${host}/x`), host);
  }
});

Deno.test("authorize() never matches patterns that fail validation", () => {
  const lease = {
    "fs.read": ["relative/**", "/ok/*"],
    "net.fetch": ["https://u@api.example.com/**"],
    "tool.call": [""],
  };
  assert.ok(!leaseAllows(lease, "fs.read", "/relative/a"));
  assert.ok(leaseAllows(lease, "fs.read", "/ok/a"));
  assert.ok(!leaseAllows(lease, "net.fetch", "https://api.example.com/"));
  assert.ok(!leaseAllows(lease, "tool.call", "x"));
});

Deno.test("authorize() reads only the lease's own capabilities, whatever their names", () => {
  const { lease, unknown } = validateLease(
    JSON.parse('{"constructor": ["x"], "hasownproperty": ["y"]}'),
  );
  assert.deepEqual(unknown, ["constructor", "hasownproperty"]);
  assert.ok(leaseAllows(lease, "constructor", "x"));
  assert.ok(!leaseAllows(lease, "constructor", "y"));
  assert.ok(!leaseAllows({}, "constructor", "x"));
  assert.ok(!leaseAllows({}, "valueOf", "x"));
});

// --- Glob containment --------------------------------------------------------

Deno.test("isGlobSubset() decides segment-glob containment", () => {
  const table: [string, string, boolean][] = [
    ["a/b", "a/b", true],
    ["a/b", "a/*", true],
    ["a/b", "a/**", true],
    ["a/b/c", "a/**", true],
    ["a/b/c", "a/*", false],
    ["a/*", "a/**", true],
    ["a/**", "a/*", false],
    ["a/**", "a/**", true],
    ["a/**/b", "a/**", true],
    ["a/**", "a/**/b", false],
    ["a/*/c", "a/**/c", true],
    ["a/**/c", "a/*/c", false],
    ["a/?", "a/*", true],
    ["a/*", "a/?", false],
    ["a/b*", "a/*", true],
    ["a/*.ts", "a/*", true],
    ["a/*", "a/*.ts", false],
    ["**/*.ts", "**", true],
    ["**", "**/*.ts", false],
    ["/workspace/**", "/**", true],
    ["/workspace-evil/**", "/workspace/**", false],
    ["/workspace/**", "/workspace*/**", true],
    ["/workspacex", "/workspace/*", false],
    ["mcp:github/*", "mcp:*/*", true],
    ["mcp:*/*", "mcp:github/*", false],
    ["a/**/**/b", "a/**/b", true],
    ["a/**/b", "a/**/**/b", true],
    ["x/**/y/**", "x/**", true],
    ["a*b*c", "a*c", true],
    ["a*c", "a*b*c", false],
    ["", "", true],
    ["", "**", true],
    ["", "*", true],
    ["a", "", false],
  ];
  for (const [sub, sup, expected] of table) {
    assert.equal(isGlobSubset(sub, sup), expected, `${sub} ⊆ ${sup}`);
  }
});

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomGlob(next: () => number): string {
  const parts = ["a", "b", "/", "*", "**", "?", "/", "a/"];
  let glob = "";
  const length = Math.floor(next() * 6);
  for (let i = 0; i < length; i++) glob += parts[Math.floor(next() * parts.length)];
  return glob;
}

function allStrings(alphabet: string[], maxLength: number): string[] {
  const out = [""];
  let layer = [""];
  for (let length = 1; length <= maxLength; length++) {
    layer = layer.flatMap((prefix) => alphabet.map((char) => prefix + char));
    out.push(...layer);
  }
  return out;
}

Deno.test("isGlobSubset() is sound and exact against brute-force enumeration", () => {
  const next = random(42);
  const strings = allStrings(["a", "b", "/", "x"], 6);
  for (let round = 0; round < 400; round++) {
    const sub = randomGlob(next);
    const sup = randomGlob(next);
    const subRe = globToRegExp(sub);
    const supRe = globToRegExp(sup);
    const result = globSubset(sub, sup);
    const counterexample = strings.find((s) => subRe.test(s) && !supRe.test(s));
    if (result.subset) {
      assert.equal(counterexample, undefined, `${sub} ⊆ ${sup} claimed, ${counterexample} refutes`);
    } else {
      assert.notEqual(result.witness, undefined, `${sub} ⊆ ${sup} left unproven`);
      assert.ok(subRe.test(result.witness!), `${sub}: witness ${result.witness}`);
      assert.ok(!supRe.test(result.witness!), `${sup}: witness ${result.witness}`);
    }
  }
});

Deno.test("isGlobSubset() of a literal agrees with globToRegExp()", () => {
  const next = random(7);
  const strings = allStrings(["a", "b", "/", "."], 5);
  for (let round = 0; round < 200; round++) {
    const glob = randomGlob(next);
    const re = globToRegExp(glob);
    for (const s of strings) assert.equal(isGlobSubset(s, glob), re.test(s), `${s} vs ${glob}`);
  }
});

Deno.test("isGlobSubset() answers false when containment cannot be decided in bounds", () => {
  const sub = "*a*a*a*a*a*a*a*a*a*a*a*a";
  const sup = "*a*a*a*a*a*a*a*a*a*a*a*b";
  const result = globSubset(sub, sup, 5);
  assert.deepEqual(result, { subset: false, witness: undefined });
  assert.equal(isGlobSubset("a/*", "a/**"), true);
});

// --- Subset relation ---------------------------------------------------------

const PARENT: Lease = {
  "fs.read": ["/workspace/**"],
  "fs.write": ["/workspace/out/*"],
  "net.fetch": ["https://*.example.com/v1/**", "http://localhost:8080/*"],
  "tool.call": ["mcp:github/*"],
  "agent.delegate": ["test-runner", "lint-*"],
  "model.use": ["tier-fast/*", "anthropic/claude-3-haiku-*"],
  "cost.budget": ["USD:5.00", "credits:1000"],
  "x-acme.gpu": ["a100/*"],
  "db.query": ["reports.*"],
};
/** The limiting capabilities of {@linkcode PARENT}, narrowed. */
const PARENT_LIMITS: Lease = {
  "model.use": ["tier-fast/*"],
  "cost.budget": ["USD:1", "credits:1"],
};

Deno.test("isLeaseSubset() accepts delegations that narrow the parent", () => {
  const children: Lease[] = [
    {},
    PARENT,
    { "fs.read": ["/workspace/src/**", "/workspace/README.md"] },
    { "fs.read": ["/workspace/**/*.ts", "/workspace/a/./b/"] },
    { "fs.write": ["/workspace/out/report.txt", "/workspace/out/*.txt"] },
    { "net.fetch": ["https://api.example.com/v1/users/*", "https://a.example.com/v1/**?x=1"] },
    { "net.fetch": ["HTTPS://API.EXAMPLE.COM:443/v1/**", "http://localhost:8080/health"] },
    { "tool.call": ["mcp:github/search"] },
    { "agent.delegate": ["lint-runner", "lint-*", "test-runner"] },
    { "model.use": ["tier-fast/small", "anthropic/claude-3-haiku-2024*"] },
    { "cost.budget": ["USD:5", "credits:999.999"] },
    { "x-acme.gpu": ["a100/*"] },
    { "db.query": ["reports.*"] },
  ];
  for (const narrower of children) {
    // The parent's limits are restated: dropping them would lift them.
    const child = { ...PARENT_LIMITS, ...narrower };
    assert.deepEqual(isLeaseSubset(child, PARENT), { ok: true }, JSON.stringify(child));
    assertLeaseSubset(child, PARENT);
  }
});

Deno.test("isLeaseSubset() refuses a delegation that drops a limit of the parent", () => {
  const table: [Lease, string, RegExp][] = [
    [{}, "cost.budget", /limits "cost.budget"/],
    [{ "fs.read": ["/workspace/src/**"], "model.use": ["tier-fast/x"] }, "cost.budget", /lift/],
    [{ "cost.budget": ["USD:1", "credits:1"] }, "model.use", /limits "model.use"/],
    [{ ...PARENT_LIMITS, "cost.budget": ["USD:1"] }, "cost.budget", /leaves out "credits"/],
  ];
  for (const [child, capability, reason] of table) {
    const result = isLeaseSubset(child, PARENT);
    assert.equal(result.ok, false, JSON.stringify(child));
    if (!result.ok) {
      assert.equal(result.capability, capability);
      assert.match(result.reason, reason);
    }
  }
  // A parent without limits delegates a lease with or without them.
  assert.deepEqual(isLeaseSubset({}, { "fs.read": ["/workspace/**"] }), { ok: true });
  assert.deepEqual(isLeaseSubset(PARENT_LIMITS, { "fs.read": ["/workspace/**"] }), { ok: true });
});

Deno.test("isLeaseSubset() reports the capability and pattern that expand authority", () => {
  const table: [Lease, string, string, RegExp][] = [
    [{ "fs.delete": ["/workspace/**"] }, "fs.delete", "/workspace/**", /does not grant/],
    [{ "fs.read": ["/**"] }, "fs.read", "/**", /which "\/workspace\/\*\*" does not/],
    [{ "fs.read": ["/workspace-evil/**"] }, "fs.read", "/workspace-evil/**", /matches/],
    [{ "fs.write": ["/workspace/out/**"] }, "fs.write", "/workspace/out/**", /matches/],
    [{ "fs.write": ["/workspace/**"] }, "fs.write", "/workspace/**", /matches/],
    [
      { "net.fetch": ["https://**.example.com/v1/**"] },
      "net.fetch",
      "https://**.example.com/v1/**",
      /host/,
    ],
    [
      { "net.fetch": ["https://a.b.example.com/v1/x"] },
      "net.fetch",
      "https://a.b.example.com/v1/x",
      /host "a\.b\.example\.com"/,
    ],
    [
      { "net.fetch": ["http://api.example.com/v1/x"] },
      "net.fetch",
      "http://api.example.com/v1/x",
      /scheme/,
    ],
    [
      { "net.fetch": ["https://api.example.com:8443/v1/x"] },
      "net.fetch",
      "https://api.example.com:8443/v1/x",
      /port/,
    ],
    [
      { "net.fetch": ["https://api.example.com/v2/x"] },
      "net.fetch",
      "https://api.example.com/v2/x",
      /path/,
    ],
    [
      { "net.fetch": ["http://localhost:8080/a/b"] },
      "net.fetch",
      "http://localhost:8080/a/b",
      /path/,
    ],
    [{ "tool.call": ["mcp:github/**"] }, "tool.call", "mcp:github/**", /matches/],
    [{ "tool.call": ["mcp:*/search"] }, "tool.call", "mcp:*/search", /matches/],
    [{ "agent.delegate": ["*"] }, "agent.delegate", "*", /no parent pattern covers it/],
    [{ "model.use": ["tier-fast/**"] }, "model.use", "tier-fast/**", /no parent pattern/],
    [{ "model.use": ["gpt-4o"] }, "model.use", "gpt-4o", /no parent pattern/],
    [{ "cost.budget": ["USD:5.01"] }, "cost.budget", "USD:5.01", /exceeds .* USD:5$/],
    [{ "cost.budget": ["EUR:1"] }, "cost.budget", "EUR:1", /does not budget "EUR"/],
    [{ "cost.budget": ["usd:1"] }, "cost.budget", "usd:1", /does not budget "usd"/],
    [{ "x-acme.gpu": ["a100/0"] }, "x-acme.gpu", "a100/0", /not identical .*opaque namespace/],
    [{ "db.query": ["reports.daily"] }, "db.query", "reports.daily", /not identical/],
  ];
  for (const [child, capability, pattern, reason] of table) {
    const result = isLeaseSubset(child, PARENT);
    assert.equal(result.ok, false, JSON.stringify(child));
    if (result.ok) continue;
    assert.equal(result.capability, capability);
    assert.equal(result.pattern, pattern);
    assert.match(result.reason, reason, result.reason);
    assertArcpError(
      () => assertLeaseSubset(child, PARENT),
      "LEASE_SUBSET_VIOLATION",
      /^Cannot delegate ".*" ".*": .* \(spec §9\.4\)$/,
      { capability, pattern },
    );
  }
});

Deno.test("isLeaseSubset() bounds a child budget by the parent's remaining budget", () => {
  const parent = { "cost.budget": ["USD:5.00"] };
  const spent = new BudgetCounters(parent);
  spent.spend("USD", 3);
  const child = { "cost.budget": ["USD:2.00"] };
  assert.deepEqual(isLeaseSubset(child, parent, { parentRemaining: spent }), { ok: true });
  assert.deepEqual(
    isLeaseSubset({ "cost.budget": ["USD:2.000000000000000001"] }, parent, {
      parentRemaining: spent,
    }),
    {
      ok: false,
      capability: "cost.budget",
      pattern: "USD:2.000000000000000001",
      reason: "it exceeds the parent's remaining USD:2",
    },
  );
  // Exact decimals: 0.1 + 0.2 spent leaves exactly 4.7.
  const drift = new BudgetCounters(parent);
  drift.spend("USD", 0.1);
  drift.spend("USD", 0.2);
  assert.ok(isLeaseSubset({ "cost.budget": ["USD:4.7"] }, parent, { parentRemaining: drift }).ok);
  // Plain records, as numbers or strings; a remaining above the lease is capped.
  for (const remaining of [{ USD: 2 }, { USD: "2" }, { USD: "2.00" }]) {
    assert.ok(isLeaseSubset(child, parent, { parentRemaining: remaining }).ok);
    assert.ok(
      !isLeaseSubset({ "cost.budget": ["USD:2.5"] }, parent, { parentRemaining: remaining }).ok,
    );
  }
  assert.ok(
    !isLeaseSubset({ "cost.budget": ["USD:6"] }, parent, { parentRemaining: { USD: 9 } }).ok,
  );
  // An exhausted parent can delegate only zero; an overspent one nothing at all.
  const exhausted = { parentRemaining: { USD: 0 } };
  assert.ok(isLeaseSubset({ "cost.budget": ["USD:0"] }, parent, exhausted).ok);
  assert.ok(!isLeaseSubset({ "cost.budget": ["USD:0.01"] }, parent, exhausted).ok);
  const overspent = { parentRemaining: { USD: "-0.5" } };
  assert.deepEqual(isLeaseSubset({ "cost.budget": ["USD:0"] }, parent, overspent), {
    ok: false,
    capability: "cost.budget",
    pattern: "USD:0",
    reason: "it exceeds the parent's remaining USD:-0.5",
  });
  // Currencies without a remaining entry keep the parent's full amount.
  const twoCurrencies = { "cost.budget": ["USD:5.00", "credits:1000"] };
  assert.ok(
    isLeaseSubset({ "cost.budget": ["USD:0", "credits:1000"] }, twoCurrencies, {
      parentRemaining: { USD: 0 },
    }).ok,
  );
  assert.ok(!isLeaseSubset(child, parent, { parentRemaining: { USD: "lots" } }).ok);
  // A parent without a budget spends without limit: any child budget narrows it.
  assert.ok(isLeaseSubset(child, { "fs.read": ["/**"] }).ok, "parent without a budget");
});

Deno.test("isLeaseSubset() lets a child expire earlier, never later, than its parent", () => {
  const lease = { "tool.call": ["a"] };
  const parentConstraints = { expires_at: "2026-05-13T23:42:00Z" };
  const ok = [
    undefined,
    {},
    { expires_at: "2026-05-13T23:42:00Z" },
    { expires_at: "2026-05-13T23:41:59.999999999Z" },
  ];
  for (const childConstraints of ok) {
    assert.ok(isLeaseSubset(lease, lease, { childConstraints, parentConstraints }).ok);
  }
  assert.deepEqual(
    isLeaseSubset(lease, lease, {
      childConstraints: { expires_at: "2026-05-13T23:42:00.000000001Z" },
      parentConstraints,
    }),
    {
      ok: false,
      capability: "lease_constraints.expires_at",
      pattern: "2026-05-13T23:42:00.000000001Z",
      reason: `it is later than the parent's expires_at "2026-05-13T23:42:00Z"`,
    },
  );
  assert.ok(
    isLeaseSubset(lease, lease, { childConstraints: { expires_at: "2099-01-01T00:00:00Z" } }).ok,
    "a parent without expiry bounds nothing",
  );
  assertArcpError(
    () => isLeaseSubset(lease, lease, { childConstraints: { expires_at: "tomorrow" } }),
    "INVALID_REQUEST",
    /expires_at "tomorrow"/,
  );
});

Deno.test("isLeaseSubset() rejects malformed leases with INVALID_REQUEST", () => {
  assertArcpError(
    () => isLeaseSubset({ "fs.read": ["relative"] }, PARENT),
    "INVALID_REQUEST",
    /^Invalid delegated lease: "fs\.read" pattern "relative" is not an absolute path/,
  );
  assertArcpError(
    () => isLeaseSubset({}, { "fs.read": [] }),
    "INVALID_REQUEST",
    /^Invalid parent lease:/,
  );
});

// --- Expiry ------------------------------------------------------------------

const NOW = Date.parse("2026-05-13T19:30:00Z");

Deno.test("validateExpiresAt() accepts future ISO 8601 UTC timestamps and returns epoch ms", () => {
  const table: [string, number][] = [
    ["2026-05-13T23:42:00Z", Date.parse("2026-05-13T23:42:00Z")],
    ["2026-05-13T19:30:00.001Z", NOW + 1],
    ["2026-05-13T19:30:00.000001Z", NOW],
    ["2028-02-29T00:00:00Z", Date.parse("2028-02-29T00:00:00Z")],
    ["9999-12-31T23:59:59.999999999Z", Date.parse("9999-12-31T23:59:59.999Z")],
  ];
  for (const [value, expected] of table) {
    assert.equal(validateExpiresAt(value, NOW), expected, value);
    assert.equal(validateExpiresAt(value, new Date(NOW)), expected, value);
  }
});

Deno.test("validateExpiresAt() rejects malformed, non-UTC and past values with INVALID_REQUEST", () => {
  const malformed: unknown[] = [
    undefined,
    null,
    1778715720000,
    "",
    "2026-05-13",
    "2026-05-13T23:42Z",
    "2026-05-13T23:42:00",
    "2026-05-13T23:42:00+00:00",
    "2026-05-13T23:42:00.000+02:00",
    "2026-05-13t23:42:00z",
    "2026-05-13 23:42:00Z",
    "2026-05-13T23:42:00.Z",
    "2026-05-13T23:42:00.1234567890Z",
    "2026-13-01T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-05-13T24:00:00Z",
    "2026-05-13T23:60:00Z",
    "2026-05-13T23:59:60Z",
    "+2026-05-13T23:42:00Z",
    " 2026-05-13T23:42:00Z",
  ];
  for (const value of malformed) {
    assertArcpError(
      () => validateExpiresAt(value, NOW),
      "INVALID_REQUEST",
      /^Invalid lease_constraints\.expires_at .*ISO 8601 UTC/,
      { expires_at: value },
    );
  }
  for (
    const value of ["2026-05-13T19:30:00Z", "2026-05-13T19:29:59.999Z", "2020-01-01T00:00:00Z"]
  ) {
    assertArcpError(
      () => validateExpiresAt(value, NOW),
      "INVALID_REQUEST",
      /is not in the future \(now 2026-05-13T19:30:00\.000Z/,
      { expires_at: value },
    );
  }
  assert.throws(() => validateExpiresAt("2026-05-13T23:42:00Z", Number.NaN), RangeError);
  assert.throws(() => validateExpiresAt("2026-05-13T23:42:00Z", new Date("x")), RangeError);
});

Deno.test("isExpired() expires at expires_at plus a bounded grace", () => {
  const at = "2026-05-13T23:42:00Z";
  const ms = Date.parse(at);
  const table: [number, number | undefined, boolean][] = [
    [ms - 1, undefined, false],
    [ms, undefined, false],
    [ms + 999, undefined, false],
    [ms + 1000, undefined, true],
    [ms - 1, 0, false],
    [ms, 0, true],
    [ms + 4999, 5000, false],
    [ms + 5000, 5000, true],
  ];
  for (const [now, grace, expected] of table) {
    const result = grace === undefined ? isExpired(at, now) : isExpired(at, now, grace);
    assert.equal(result, expected, `now=${now - ms} grace=${grace}`);
  }
  assert.equal(isExpired(at, new Date(ms + 1000)), true);
  assert.equal(isExpired("2026-05-13T23:42:00.5Z", ms + 500, 0), true);
  assert.equal(isExpired("2026-05-13T23:42:00.5Z", ms + 499, 0), false);
  assert.throws(() => isExpired(at, ms, -1), RangeError);
  assert.throws(() => isExpired(at, ms, Number.POSITIVE_INFINITY), RangeError);
  assert.throws(() => isExpired(at, Number.NaN), RangeError);
  assertArcpError(() => isExpired("soon", ms), "INVALID_REQUEST", /expires_at "soon"/);
});

Deno.test("effectiveExpiry() returns the earlier expiry, inheriting the parent's", () => {
  const early = "2026-05-13T20:00:00Z";
  const late = "2026-05-13T23:42:00Z";
  const table: [
    { expires_at?: string } | undefined,
    { expires_at?: string } | undefined,
    string | undefined,
  ][] = [
    [undefined, undefined, undefined],
    [{}, {}, undefined],
    [undefined, { expires_at: late }, late],
    [{ expires_at: early }, undefined, early],
    [{ expires_at: early }, { expires_at: late }, early],
    [{ expires_at: late }, { expires_at: early }, early],
    [{ expires_at: "2026-05-13T20:00:00.000000001Z" }, { expires_at: early }, early],
  ];
  for (const [child, parent, expected] of table) {
    assert.equal(effectiveExpiry(child, parent), expected, JSON.stringify([child, parent]));
  }
  assertArcpError(() => effectiveExpiry({ expires_at: "x" }, undefined), "INVALID_REQUEST", /"x"/);
  assertArcpError(() => effectiveExpiry(undefined, { expires_at: "y" }), "INVALID_REQUEST", /"y"/);
});
