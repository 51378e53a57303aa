// Scenarios about a job's authority (spec §9, §11): leases validated at
// submission, tool calls, fetches and models checked against the lease,
// budgets spent by cost metrics, and leases that expire by an injected clock.

import assert from "node:assert/strict";
import { ArcpError } from "../../protocol/errors.ts";
import type { AgentContext, AgentDefinition } from "../../runtime.ts";
import type { Frame } from "../../transports/types.ts";
import {
  type RawConnection,
  serveHttp,
  startHarness,
  TOKEN,
  type TransportKind,
} from "../_helpers.ts";
import { isArcpError, isTerminal, payloadOf } from "./_shared.ts";

/** Every 1.1 feature a lease can use, for raw hellos. */
const LEASE_FEATURES = ["list_jobs", "lease_expires_at", "cost.budget", "model.use"];

/** One `job.event` as kind and body. */
interface Event {
  kind: string;
  body: Record<string, unknown>;
}

/** The `job.event`s among `frames`, as kind and body. */
function eventsOf(frames: readonly Frame[]): Event[] {
  return frames.filter((f) => f.type === "job.event").map((f) => {
    const payload = payloadOf(f);
    return { kind: payload.kind as string, body: payload.body as Record<string, unknown> };
  });
}

/** A job run on a raw connection: its `job.accepted`, events and terminal frame. */
interface RawJob {
  requestId: string;
  accepted: Frame;
  frames: Frame[];
  events: Event[];
  terminal: Frame;
}

/**
 * Submits `agent` with extra `job.submit` payload fields (and envelope
 * `fields`), then reads the job's frames up to its terminal one.
 */
async function runJob(
  raw: RawConnection,
  agent: string,
  input: unknown,
  extra: Record<string, unknown> = {},
  fields: Record<string, unknown> = {},
): Promise<RawJob> {
  const requestId = await raw.request("job.submit", { agent, input, ...extra }, fields);
  const frames = await raw.until(isTerminal);
  const accepted = frames[0]!;
  assert.equal(accepted.type, "job.accepted", JSON.stringify(accepted));
  assert.equal(payloadOf(accepted).request_id, requestId);
  const own = frames.filter((f) => f.job_id === accepted.job_id);
  return { requestId, accepted, frames: own, events: eventsOf(own), terminal: own.at(-1)! };
}

/** What an agent caught, as plain data it can return. */
function caught(error: unknown): { code: string; retryable: boolean } | string {
  return error instanceof ArcpError
    ? { code: error.code, retryable: error.retryable }
    : `not an ArcpError: ${String(error)}`;
}

/** Runs `operation` and reports `"ok"`, its return value, or the error it threw. */
async function attempt(
  operation: () => unknown,
): Promise<unknown> {
  try {
    const value = await operation();
    return value === undefined ? "ok" : value;
  } catch (error) {
    return caught(error);
  }
}

const DENIED = { code: "PERMISSION_DENIED", retryable: false };

/**
 * Checks that every `tool_call` among `events` is followed at once by its
 * `tool_result` (same `call_id`), and returns the pairs; call ids are unique.
 */
function toolPairs(events: readonly Event[]): { call: Event["body"]; result: Event["body"] }[] {
  const pairs: { call: Event["body"]; result: Event["body"] }[] = [];
  events.forEach((event, index) => {
    if (event.kind !== "tool_call") return;
    const next = events[index + 1];
    assert.ok(next !== undefined, `no event after tool_call ${JSON.stringify(event.body)}`);
    assert.equal(next.kind, "tool_result", `tool_call then ${JSON.stringify(next)}`);
    assert.equal(next.body.call_id, event.body.call_id, "tool_result carries the call_id");
    pairs.push({ call: event.body, result: next.body });
  });
  assert.equal(pairs.length, events.filter((e) => e.kind === "tool_result").length);
  const ids = pairs.map((p) => p.call.call_id);
  assert.equal(new Set(ids).size, ids.length, "call ids are unique");
  for (const id of ids) assert.equal(typeof id, "string");
  return pairs;
}

/** Asserts a `tool_result` body is an error with `code`, never retryable, and no result. */
function assertToolError(result: Event["body"], code: string): void {
  assert.ok(!("result" in result), `a refused call has no result: ${JSON.stringify(result)}`);
  const error = result.error as Record<string, unknown> | undefined;
  assert.ok(error !== undefined, `expected a ${code} error, got ${JSON.stringify(result)}`);
  assert.equal(error.code, code, JSON.stringify(result));
  assert.equal(error.retryable, false, JSON.stringify(result));
  assert.equal(typeof error.message, "string");
}

// Submission (spec §7.1, §9.2, 1.1 §9.5, §9.6) ------------------------------------

/** An agent that reports the lease it was given and counts its runs. */
function leaseEchoAgent(): { definition: AgentDefinition; runs: { count: number } } {
  const runs = { count: 0 };
  return {
    runs,
    definition: {
      name: "leased",
      handler(_input: unknown, ctx) {
        runs.count++;
        return Promise.resolve({
          lease: ctx.lease,
          constraints: ctx.leaseConstraints ?? null,
          budget: ctx.budget ?? null,
        });
      },
    },
  };
}

export async function leaseRequestsAreValidatedAtSubmission(kind: TransportKind): Promise<void> {
  // The injected clock, years from the wall clock, proves which one validates expires_at.
  const now = Date.parse("2031-06-01T12:00:00Z");
  const leased = leaseEchoAgent();
  await using h = await startHarness(kind, {
    agents: [leased.definition],
    runtime: { now: () => now },
  });
  const raw = await h.raw();
  await raw.hello(TOKEN, { features: LEASE_FEATURES });

  const badLeases: unknown[] = [
    { "fs.read": "x" },
    { "cost.budget": ["USD:abc"] },
    { "cost.budget": ["USD:-1"] },
    { "cost.budget": ["USD:1e3"] },
    { "cost.budget": ["USD:1", "USD:2.00"] },
    { "fs.read": [] },
    { "fs.read": [1] },
    { "fs.read": ["relative/**"] },
    { "net.fetch": ["ftp://example.com/**"] },
    { "Fs.Read": ["/x"] },
    { "fs.read": ["/data/../etc/**"] },
    "fs.read",
    ["fs.read"],
    null,
  ];
  for (const leaseRequest of badLeases) {
    const id = await raw.submit("leased", null, { lease_request: leaseRequest });
    const error = await raw.expectError("INVALID_REQUEST");
    assert.equal(error.request_id, id, JSON.stringify(leaseRequest));
    assert.equal(error.retryable, false);
    assert.equal(error.job_id, undefined);
  }

  const badExpiries: unknown[] = [
    "2031-06-01T11:59:59Z", // past by the runtime's clock, though future by the wall clock
    "2031-06-01T12:00:00Z", // not strictly in the future
    "2020-01-01T00:00:00Z",
    "2031-06-01T13:00:00", // no Z
    "2031-06-01T13:00:00+00:00",
    "2031-06-01T15:00:00+02:00",
    "2031-06-01 13:00:00Z",
    "2031-02-30T13:00:00Z",
    "2031-06-01T24:00:00Z",
    "tomorrow",
    "",
    Date.parse("2031-06-01T13:00:00Z"),
  ];
  for (const constraints of [null, "soon", { expires_at: null }]) {
    const id = await raw.submit("leased", null, { lease_constraints: constraints });
    assert.equal((await raw.expectError("INVALID_REQUEST")).request_id, id);
  }
  for (const expiresAt of badExpiries) {
    const id = await raw.submit("leased", null, {
      lease_request: { "tool.call": ["search.*"] },
      lease_constraints: { expires_at: expiresAt },
    });
    const error = await raw.expectError("INVALID_REQUEST");
    assert.equal(error.request_id, id, JSON.stringify(expiresAt));
    assert.equal(error.retryable, false);
  }
  assert.equal(leased.runs.count, 0, "no refused submission ran the agent");
  const listId = await raw.request("session.list_jobs", {});
  const listed = payloadOf(await raw.expect("session.jobs"));
  assert.equal(listed.request_id, listId);
  assert.deepEqual(listed.jobs, [], "no refused submission made a job");

  // Valid: the effective lease, the constraints and the budget are echoed.
  const leaseRequest = {
    "tool.call": ["search.*"],
    "fs.read": ["/data/**"],
    "cost.budget": ["USD:1.00"],
    // Vendor and unknown namespaces are carried untouched (forward compatibility).
    "x-acme.gpu": ["a100"],
  };
  const expiresAt = "2031-06-01T12:05:00.123456789Z";
  const job = await runJob(raw, "leased", null, {
    lease_request: leaseRequest,
    lease_constraints: { expires_at: expiresAt },
  });
  const accepted = payloadOf(job.accepted);
  assert.deepEqual(accepted.lease, leaseRequest);
  assert.deepEqual(accepted.lease_constraints, { expires_at: expiresAt });
  assert.deepEqual(accepted.budget, { USD: 1 });
  assert.equal(job.terminal.type, "job.result", JSON.stringify(job.terminal));
  assert.deepEqual(payloadOf(job.terminal).result, {
    lease: leaseRequest,
    constraints: { expires_at: expiresAt },
    budget: { USD: "1" },
  });

  // Several currencies each get a counter; without a lease nothing is budgeted.
  const multi = await runJob(raw, "leased", null, {
    lease_request: { "cost.budget": ["USD:5.00", "credits:1000", "EUR:0.5"] },
  });
  assert.deepEqual(payloadOf(multi.accepted).budget, { USD: 5, credits: 1000, EUR: 0.5 });
  const bare = await runJob(raw, "leased", null);
  assert.deepEqual(payloadOf(bare.accepted).lease, {});
  assert.ok(!("budget" in payloadOf(bare.accepted)), "no cost.budget, no budget");
  assert.ok(!("lease_constraints" in payloadOf(bare.accepted)));
  assert.deepEqual(payloadOf(bare.terminal).result, { lease: {}, constraints: null, budget: null });
  assert.equal(leased.runs.count, 3);

  // Through the client API: refusals reject submit(), the handle carries the lease.
  const client = await h.connect();
  await assert.rejects(
    client.submit("leased", null, { leaseRequest: { "fs.read": "x" } as never }),
    isArcpError("INVALID_REQUEST"),
  );
  await assert.rejects(
    client.submit("leased", null, {
      leaseRequest: { "tool.call": ["a"] },
      leaseConstraints: { expires_at: "2031-06-01T11:00:00Z" },
    }),
    isArcpError("INVALID_REQUEST"),
  );
  const handle = await client.submit("leased", null, {
    leaseRequest: { "tool.call": ["search.*"], "cost.budget": ["USD:1.00"] },
    leaseConstraints: { expires_at: "2031-06-01T13:00:00Z" },
  });
  assert.deepEqual(handle.lease, { "tool.call": ["search.*"], "cost.budget": ["USD:1.00"] });
  assert.deepEqual(handle.leaseConstraints, { expires_at: "2031-06-01T13:00:00Z" });
  assert.deepEqual(handle.accepted.budget, { USD: 1 });
  await handle.result;
}

// Tool calls and authorize (spec §8.2, §9.3) ---------------------------------------

export async function toolCallsAndAuthorizeFollowTheLease(kind: TransportKind): Promise<void> {
  const root = "/workspace";
  const ran: string[] = [];
  const agent: AgentDefinition = {
    name: "tools",
    async handler(_input: unknown, ctx) {
      const report: Record<string, unknown> = {};
      report.search = await ctx.tool("search.web", () => {
        ran.push("search.web");
        return { hits: 3 };
      }, { args: { q: "arcp" } });
      report.outside = await attempt(() =>
        ctx.tool("fetch.url", () => {
          ran.push("fetch.url");
          return "fetched";
        }, { args: { url: "https://example.com" } })
      );
      // A tool's own failure is its tool_result error; the job goes on.
      report.failing = await attempt(() =>
        ctx.tool("search.broken", () => {
          ran.push("search.broken");
          throw new ArcpError("INVALID_REQUEST", "bad query");
        })
      );
      // fs.read through ctx.tool: a traversal is refused before the read runs.
      report.traversalTool = await attempt(() =>
        ctx.tool("fs.read", () => {
          ran.push("fs.read traversal");
          return "root:x:0:0";
        }, {
          args: { path: `${root}/../etc/passwd` },
          capability: "fs.read",
          target: `${root}/../etc/passwd`,
        })
      );
      report.readTool = await ctx.tool("fs.read", () => {
        ran.push("fs.read notes");
        return "notes";
      }, {
        args: { path: `${root}/notes.txt` },
        capability: "fs.read",
        target: `${root}/notes.txt`,
      });
      const targets = [
        `${root}/../etc/passwd`,
        `${root}/%2e%2e/etc/passwd`,
        `${root}/%2E%2E/etc/passwd`,
        `${root}/..%2fetc/passwd`,
        `${root}/a/%2e%2e/%2e%2e/etc/passwd`,
        `${root}/%252e%252e/etc/passwd`,
        `${root}/a\\..\\..\\etc\\passwd`,
        `${root}/a\u0000b`,
        "workspace/relative.txt",
        root,
        `${root}/a/./b//c.txt`,
        `${root}/a/../b.txt`,
        `${root}/a%2fb.txt`,
      ];
      report.authorize = Object.fromEntries(
        targets.map((target) => {
          try {
            return [target, { target: ctx.authorize("fs.read", target) }];
          } catch (error) {
            return [target, caught(error)];
          }
        }),
      );
      report.write = await attempt(() => ctx.authorize("fs.write", `${root}/out.txt`));
      try {
        ctx.authorize("fs.read", `${root}/%2e%2e/etc/passwd`);
      } catch (error) {
        report.details = (error as ArcpError).details ?? null;
      }
      return report;
    },
  };
  await using h = await startHarness(kind, { agents: [agent] });
  const raw = await h.raw();
  await raw.hello(TOKEN, { features: LEASE_FEATURES });
  const job = await runJob(raw, "tools", null, {
    lease_request: { "tool.call": ["search.*"], "fs.read": [`${root}/**`] },
  });

  assert.equal(job.terminal.type, "job.result", JSON.stringify(job.terminal));
  assert.equal(payloadOf(job.terminal).final_status, "success");
  const report = payloadOf(job.terminal).result as Record<string, unknown>;
  assert.deepEqual(report.search, { hits: 3 });
  assert.deepEqual(report.outside, DENIED);
  assert.deepEqual(report.failing, { code: "INVALID_REQUEST", retryable: false });
  assert.deepEqual(report.traversalTool, DENIED);
  assert.equal(report.readTool, "notes");
  const denied = DENIED;
  assert.deepEqual(report.authorize, {
    [`${root}/../etc/passwd`]: denied,
    [`${root}/%2e%2e/etc/passwd`]: denied,
    [`${root}/%2E%2E/etc/passwd`]: denied,
    [`${root}/..%2fetc/passwd`]: denied,
    [`${root}/a/%2e%2e/%2e%2e/etc/passwd`]: denied,
    [`${root}/%252e%252e/etc/passwd`]: denied,
    [`${root}/a\\..\\..\\etc\\passwd`]: denied,
    [`${root}/a\u0000b`]: denied,
    "workspace/relative.txt": denied,
    [root]: denied,
    // Allowed targets come back canonical: act on these, never the raw input.
    [`${root}/a/./b//c.txt`]: { target: `${root}/a/b/c.txt` },
    [`${root}/a/../b.txt`]: { target: `${root}/b.txt` },
    [`${root}/a%2fb.txt`]: { target: `${root}/a/b.txt` },
  });
  assert.deepEqual(report.write, denied, "fs.write is not granted");
  // The denial names the capability and the target it refused.
  const details = report.details as Record<string, unknown>;
  assert.equal(details.capability, "fs.read");
  assert.equal(typeof details.target, "string");
  assert.deepEqual(ran, ["search.web", "search.broken", "fs.read notes"], "refused runs never ran");

  // On the wire: each tool_call is answered by its tool_result, same call_id.
  const pairs = toolPairs(job.events);
  assert.deepEqual(pairs.map((p) => p.call.tool), [
    "search.web",
    "fetch.url",
    "search.broken",
    "fs.read",
    "fs.read",
  ]);
  assert.deepEqual(pairs[0]!.call.args, { q: "arcp" });
  assert.deepEqual(pairs[0]!.result, { call_id: pairs[0]!.call.call_id, result: { hits: 3 } });
  assertToolError(pairs[1]!.result, "PERMISSION_DENIED");
  assert.match((pairs[1]!.result.error as { message: string }).message, /fetch\.url/);
  assert.deepEqual(pairs[2]!.result.error, {
    code: "INVALID_REQUEST",
    message: "bad query",
    retryable: false,
  });
  assertToolError(pairs[3]!.result, "PERMISSION_DENIED");
  const wireDetails = (pairs[3]!.result.error as { details?: Record<string, unknown> }).details;
  assert.equal(wireDetails?.capability, "fs.read");
  assert.equal(typeof wireDetails?.target, "string");
  assert.deepEqual(pairs[4]!.result, { call_id: pairs[4]!.call.call_id, result: "notes" });
  // authorize() alone emits nothing.
  assert.equal(job.events.length, 10);
}

// ctx.fetch (spec §9.2 net.fetch, §11 traceparent) ----------------------------------

interface Recorded {
  path: string;
  traceparent: string | null;
  custom: string | null;
}

/** A local HTTP server that records every request it gets. */
async function recordingServer(): Promise<
  { port: number; requests: Recorded[] } & AsyncDisposable
> {
  const requests: Recorded[] = [];
  const server = await serveHttp((request) => {
    const url = new URL(request.url);
    requests.push({
      path: url.pathname + url.search,
      traceparent: request.headers.get("traceparent"),
      custom: request.headers.get("x-custom"),
    });
    return new Response(`served ${url.pathname}`, { headers: { "x-served": "yes" } });
  });
  return {
    port: server.port,
    requests,
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
}

interface FetchInput {
  allowed: string[];
  denied: string[];
}

const fetchAgent: AgentDefinition = {
  name: "fetcher",
  async handler(input: FetchInput, ctx: AgentContext) {
    const fetched: { status: number; text: string; served: string | null }[] = [];
    for (const url of input.allowed) {
      const response = await ctx.fetch(url, { headers: { "x-custom": "kept" } });
      fetched.push({
        status: response.status,
        text: await response.text(),
        served: response.headers.get("x-served"),
      });
    }
    const denied: Record<string, unknown> = {};
    for (const url of input.denied) denied[url] = await attempt(() => ctx.fetch(url));
    return { fetched, denied, traceId: ctx.traceId };
  },
};

export async function fetchGoesThroughTheLeaseWithTraceparent(kind: TransportKind): Promise<void> {
  await using allowedServer = await recordingServer();
  await using otherServer = await recordingServer();
  const base = `http://127.0.0.1:${allowedServer.port}`;
  const input: FetchInput = {
    // Fetched at their canonical URLs: 127.1 is 127.0.0.1, "./" and "//" collapse.
    allowed: [
      `${base}/api/data?q=1`,
      `${base}/api/./more//x`,
      `http://127.1:${allowedServer.port}/api/alias`,
    ],
    denied: [
      `${base}/private`,
      `${base}/`,
      `${base}/api`,
      `${base}/api/../private`,
      `${base}/api/%2e%2e/private`,
      `${base}/api/..%2fprivate`,
      `${base}/api/.%2e/private`,
      `${base}/api%2f..%2fprivate`,
      `${base}/api/%252e%252e/private`,
      `${base}/api\\..\\private`,
      `http://127.0.0.1:${otherServer.port}/api/data`,
      `http://user@127.0.0.1:${allowedServer.port}/`,
      `http://user@127.0.0.1:${allowedServer.port}/api/data`,
      `http://user:secret@127.0.0.1:${allowedServer.port}/api/data`,
      `https://127.0.0.1:${allowedServer.port}/api/data`,
      `http://localhost:${allowedServer.port}/api/data`,
      "not a url",
    ],
  };
  await using h = await startHarness(kind, { agents: [fetchAgent] });
  const raw = await h.raw();
  await raw.hello(TOKEN, { features: LEASE_FEATURES });
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const job = await runJob(raw, "fetcher", input, {
    lease_request: { "net.fetch": [`${base}/api/**`] },
  }, { trace_id: `00-${traceId}-00f067aa0ba902b7-01` });

  assert.equal(job.terminal.type, "job.result", JSON.stringify(job.terminal));
  const report = payloadOf(job.terminal).result as {
    fetched: unknown[];
    denied: Record<string, unknown>;
    traceId: string;
  };
  assert.equal(report.traceId, traceId);
  assert.deepEqual(report.fetched, [
    { status: 200, text: "served /api/data", served: "yes" },
    { status: 200, text: "served /api/more/x", served: "yes" },
    { status: 200, text: "served /api/alias", served: "yes" },
  ]);
  assert.deepEqual(
    report.denied,
    Object.fromEntries(input.denied.map((url) => [url, DENIED])),
  );

  // Only the allowed requests reached a server, at their canonical paths,
  // each with the job's trace-id in a fresh W3C traceparent (spec §11).
  assert.deepEqual(otherServer.requests, [], "a denied fetch never leaves the runtime");
  assert.deepEqual(
    allowedServer.requests.map((r) => [r.path, r.custom]),
    [["/api/data?q=1", "kept"], ["/api/more/x", "kept"], ["/api/alias", "kept"]],
  );
  const spans = allowedServer.requests.map((r) => {
    const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(r.traceparent ?? "");
    assert.ok(match !== null, `traceparent ${r.traceparent}`);
    assert.equal(match[1], traceId, "the job's trace-id");
    assert.notEqual(match[2], "0".repeat(16), "a valid parent-id");
    assert.notEqual(match[2], "00f067aa0ba902b7", "a span of the runtime's own");
    return match[2];
  });
  assert.equal(new Set(spans).size, spans.length, "each request is its own span");

  // Every fetch is a net.fetch tool call; refusals are PERMISSION_DENIED tool_results.
  const pairs = toolPairs(job.events);
  assert.equal(pairs.length, input.allowed.length + input.denied.length);
  for (const [index, pair] of pairs.entries()) {
    const url = [...input.allowed, ...input.denied][index]!;
    assert.deepEqual(pair.call.tool, "net.fetch");
    assert.deepEqual(pair.call.args, { url, method: "GET" });
    if (index < input.allowed.length) assert.ok(!("error" in pair.result), url);
    else assertToolError(pair.result, "PERMISSION_DENIED");
  }
  for (const frame of job.frames) assert.equal(frame.trace_id, traceId);
}

// Budgets (spec 1.1 §9.6, sequence seq-budget-enforcement) ---------------------------

export async function budgetsAreSpentByCostMetricsAndEnforced(kind: TransportKind): Promise<void> {
  const ran: string[] = [];
  const research: AgentDefinition = {
    name: "web-research",
    async handler(_input: unknown, ctx) {
      const budgets: unknown[] = [];
      await ctx.tool("search.web", () => ({ hits: 2 }), { args: { q: "arcp" } });
      await ctx.metric("cost.search", 0.42, { unit: "USD" });
      budgets.push(ctx.budget);
      await ctx.tool("fetch.url", () => ({ bytes: 10 }), { args: { url: "https://a.example" } });
      await ctx.metric("cost.fetch", 0.70, { unit: "USD" });
      budgets.push(ctx.budget);
      const refused = await attempt(() =>
        ctx.tool("fetch.url", () => {
          ran.push("fetch after exhaustion");
          return { bytes: 1 };
        }, { args: { url: "https://b.example" } })
      );
      // Budgets stop cost-bearing operations only; the agent may finish its work.
      const model = await attempt(() => ctx.useModel("tier-fast/small"));
      await ctx.log("info", "returning a partial result");
      return { budgets, refused, model, partial: true };
    },
  };
  await using h = await startHarness(kind, { agents: [research] });
  const raw = await h.raw();
  await raw.hello(TOKEN, { features: LEASE_FEATURES });
  const job = await runJob(raw, "web-research", null, {
    lease_request: { "tool.call": ["search.*", "fetch.*"], "cost.budget": ["USD:1.00"] },
  });

  assert.deepEqual(payloadOf(job.accepted).budget, { USD: 1 });
  assert.equal(job.terminal.type, "job.result", JSON.stringify(job.terminal));
  assert.deepEqual(payloadOf(job.terminal).result, {
    budgets: [{ USD: "0.58" }, { USD: "-0.12" }],
    refused: { code: "BUDGET_EXHAUSTED", retryable: false },
    model: "ok",
    partial: true,
  });
  assert.deepEqual(ran, [], "the refused call never ran");

  // The wire, event by event, as in seq-budget-enforcement: exact decimals, no drift.
  const events = job.events;
  const callIds = events.filter((e) => e.kind === "tool_call").map((e) => e.body.call_id);
  assert.deepEqual(events.map((e) => e.kind), [
    "tool_call",
    "tool_result",
    "metric",
    "metric",
    "tool_call",
    "tool_result",
    "metric",
    "metric",
    "tool_call",
    "tool_result",
    "log",
  ]);
  assert.deepEqual(events[0]!.body, {
    tool: "search.web",
    args: { q: "arcp" },
    call_id: callIds[0],
  });
  assert.deepEqual(events[1]!.body, { call_id: callIds[0], result: { hits: 2 } });
  assert.deepEqual(events[2]!.body, { name: "cost.search", value: 0.42, unit: "USD" });
  assert.deepEqual(events[3]!.body, { name: "cost.budget.remaining", value: 0.58, unit: "USD" });
  assert.deepEqual(events[6]!.body, { name: "cost.fetch", value: 0.7, unit: "USD" });
  assert.deepEqual(events[7]!.body, { name: "cost.budget.remaining", value: -0.12, unit: "USD" });
  assert.deepEqual(events[8]!.body.tool, "fetch.url");
  assert.deepEqual(events[9]!.body, {
    call_id: callIds[2],
    error: { code: "BUDGET_EXHAUSTED", message: "USD budget exhausted", retryable: false },
  });
  const seqs = job.frames.slice(1).map((f) => f.event_seq as number);
  assert.deepEqual(seqs, seqs.map((_, i) => seqs[0]! + i), "gap-free event_seq");
}

export async function costMetricsAreExactAndOnlyValidOnesDecrement(
  kind: TransportKind,
): Promise<void> {
  const meter: AgentDefinition = {
    name: "meter",
    async handler(_input: unknown, ctx) {
      const steps: Record<string, unknown> = {};
      await ctx.metric("cost.a", 0.1, { unit: "USD" });
      await ctx.metric("cost.b", 0.2, { unit: "USD" });
      steps.drift = ctx.budget;
      // Refused by the emitter: nothing is emitted and nothing decremented.
      const refusals: unknown[] = [];
      for (const value of [-0.5, -0, Number.NaN, Infinity, -Infinity]) {
        refusals.push(
          await ctx.metric("cost.bad", value, { unit: "USD" }).then(
            () => "accepted",
            (error) => error instanceof RangeError ? "RangeError" : String(error),
          ),
        );
      }
      steps.refusals = refusals;
      steps.afterRefusals = ctx.budget;
      // Not counted: an unbudgeted currency, another case, no unit, a name not `cost.`.
      await ctx.metric("cost.b", 5, { unit: "EUR" });
      await ctx.metric("cost.b", 5, { unit: "usd" });
      await ctx.metric("cost.b", 5);
      await ctx.metric("latency.cost", 5, { unit: "USD" });
      await ctx.metric("costly", 5, { unit: "USD" });
      steps.afterIgnored = ctx.budget;
      steps.beforeZero = await attempt(() => ctx.tool("search.web", () => "found"));
      // Exactly zero is exhausted (spec: any counter ≤ 0).
      await ctx.metric("cost.c", 0.7, { unit: "USD" });
      steps.zero = ctx.budget;
      steps.atZero = await attempt(() => ctx.tool("search.web", () => "found"));
      steps.authorizeAtZero = await attempt(() => ctx.authorize("tool.call", "search.web"));
      return steps;
    },
  };
  await using h = await startHarness(kind, { agents: [meter] });
  const raw = await h.raw();
  await raw.hello(TOKEN, { features: LEASE_FEATURES });
  const job = await runJob(raw, "meter", null, {
    lease_request: { "tool.call": ["search.*"], "cost.budget": ["USD:1.00"] },
  });
  assert.equal(job.terminal.type, "job.result", JSON.stringify(job.terminal));
  assert.deepEqual(payloadOf(job.terminal).result, {
    drift: { USD: "0.7" },
    refusals: ["RangeError", "accepted", "RangeError", "RangeError", "RangeError"],
    afterRefusals: { USD: "0.7" },
    afterIgnored: { USD: "0.7" },
    beforeZero: "found",
    zero: { USD: "0" },
    atZero: { code: "BUDGET_EXHAUSTED", retryable: false },
    authorizeAtZero: { code: "BUDGET_EXHAUSTED", retryable: false },
  });
  const metrics = job.events.filter((e) => e.kind === "metric").map((e) => e.body);
  assert.deepEqual(metrics, [
    { name: "cost.a", value: 0.1, unit: "USD" },
    { name: "cost.budget.remaining", value: 0.9, unit: "USD" },
    { name: "cost.b", value: 0.2, unit: "USD" },
    { name: "cost.budget.remaining", value: 0.7, unit: "USD" },
    // -0 is a zero cost: reported, decrementing nothing.
    { name: "cost.bad", value: 0, unit: "USD" },
    { name: "cost.b", value: 5, unit: "EUR" },
    { name: "cost.b", value: 5, unit: "usd" },
    { name: "cost.b", value: 5 },
    { name: "latency.cost", value: 5, unit: "USD" },
    { name: "costly", value: 5, unit: "USD" },
    { name: "cost.c", value: 0.7, unit: "USD" },
    { name: "cost.budget.remaining", value: 0, unit: "USD" },
  ]);
}

export async function eachCurrencyIsItsOwnCounter(kind: TransportKind): Promise<void> {
  const spender: AgentDefinition = {
    name: "spender",
    async handler(_input: unknown, ctx) {
      await ctx.metric("cost.gpu", 10, { unit: "credits" });
      const budget = ctx.budget;
      const refused = await attempt(() => ctx.tool("search.web", () => "found"));
      return { budget, refused };
    },
  };
  await using h = await startHarness(kind, { agents: [spender] });
  const raw = await h.raw();
  await raw.hello(TOKEN, { features: LEASE_FEATURES });
  const job = await runJob(raw, "spender", null, {
    lease_request: { "tool.call": ["search.*"], "cost.budget": ["USD:1.00", "credits:10"] },
  });
  assert.deepEqual(payloadOf(job.accepted).budget, { USD: 1, credits: 10 });
  assert.deepEqual(payloadOf(job.terminal).result, {
    budget: { USD: "1", credits: "0" },
    refused: { code: "BUDGET_EXHAUSTED", retryable: false },
  });
  const refusal = toolPairs(job.events)[0]!.result;
  assertToolError(refusal, "BUDGET_EXHAUSTED");
  assert.match((refusal.error as { message: string }).message, /credits/);
}

export async function subscribersSeeARunningJobsBudget(kind: TransportKind): Promise<void> {
  const release = Promise.withResolvers<void>();
  const spender: AgentDefinition = {
    name: "spend-then-wait",
    async handler(_input: unknown, ctx) {
      await ctx.metric("cost.search", 0.42, { unit: "USD" });
      await release.promise;
      return ctx.budget;
    },
  };
  await using h = await startHarness(kind, { agents: [spender] });
  const owner = await h.raw();
  await owner.hello(TOKEN, { features: LEASE_FEATURES });
  await owner.submit("spend-then-wait", null, {
    lease_request: { "cost.budget": ["USD:1.00"] },
    lease_constraints: { expires_at: "2099-01-01T00:00:00Z" },
  });
  const accepted = await owner.expect("job.accepted");
  assert.deepEqual(payloadOf(accepted).budget, { USD: 1 });
  await owner.until((f) =>
    (payloadOf(f).body as { name?: string } | undefined)?.name === "cost.budget.remaining"
  );
  // The subscriber's authority descriptor: lease, constraints and the counters
  // as they are now (spec 1.1 §7.6).
  const watcher = await h.raw();
  await watcher.hello(TOKEN, { features: [...LEASE_FEATURES, "subscribe"] });
  const request = await watcher.request("job.subscribe", { job_id: accepted.job_id });
  const subscribed = payloadOf(await watcher.expect("job.subscribed"));
  assert.equal(subscribed.request_id, request);
  assert.deepEqual(subscribed.lease, { "cost.budget": ["USD:1.00"] });
  assert.deepEqual(subscribed.lease_constraints, { expires_at: "2099-01-01T00:00:00Z" });
  assert.deepEqual(subscribed.budget, { USD: 0.58 });
  release.resolve();
  const terminal = (await owner.until(isTerminal)).at(-1)!;
  assert.deepEqual(payloadOf(terminal).result, { USD: "0.58" });
}

// Expiry (spec 1.1 §9.5, sequence seq-lease-expiration) -----------------------------

/** A clock the runtime reads (`now` option) and the test moves. */
class TestClock {
  constructor(public ms: number) {}
  readonly now = (): number => this.ms;
}

/**
 * An agent that runs one tool call per step, waiting for the test before
 * each step after the first; it catches refusals and returns what it saw.
 */
function steppingAgent(name: string, steps: number) {
  const gates = Array.from({ length: steps }, () => Promise.withResolvers<void>());
  const reached = Array.from({ length: steps }, () => Promise.withResolvers<void>());
  gates[0]!.resolve();
  const definition: AgentDefinition = {
    name,
    async handler(_input: unknown, ctx) {
      const outcomes: unknown[] = [];
      for (let step = 0; step < steps; step++) {
        reached[step]!.resolve();
        await gates[step]!.promise;
        outcomes.push(
          await attempt(() => ctx.tool("index.file", () => `indexed ${step}`, { args: { step } })),
        );
        await ctx.progress(step + 1, { total: steps, units: "files" });
      }
      return { outcomes, aborted: ctx.signal.aborted, reason: caught(ctx.signal.reason) };
    },
  };
  return {
    definition,
    /** Resolves once the agent waits before `step`. */
    reached: (step: number) => reached[step]!.promise,
    /** Lets the agent run `step`. */
    release: (step: number) => gates[step]!.resolve(),
  };
}

export async function expiredLeasesEndTheJobWithLeaseExpired(kind: TransportKind): Promise<void> {
  const clock = new TestClock(Date.parse("2030-01-01T00:00:00Z"));
  const expiresAt = "2030-01-01T00:01:00Z";
  const expiry = Date.parse(expiresAt);
  const graceMs = 500;
  const agent = steppingAgent("indexer", 4);
  await using h = await startHarness(kind, {
    agents: [agent.definition],
    runtime: { now: clock.now, leaseExpiryGraceMs: graceMs },
  });
  const raw = await h.raw();
  await raw.hello(TOKEN, { features: LEASE_FEATURES });
  const requestId = await raw.submit("indexer", null, {
    lease_request: { "tool.call": ["index.*"] },
    lease_constraints: { expires_at: expiresAt },
  });
  const accepted = await raw.expect("job.accepted");
  assert.equal(payloadOf(accepted).request_id, requestId);
  assert.deepEqual(payloadOf(accepted).lease_constraints, { expires_at: expiresAt });

  await agent.reached(1);
  clock.ms = expiry; // at expires_at, but within the grace
  agent.release(1);
  await agent.reached(2);
  clock.ms = expiry + graceMs - 1; // the last millisecond of the grace
  agent.release(2);
  await agent.reached(3);
  clock.ms = expiry + graceMs; // expired
  agent.release(3);

  const frames = [accepted, ...await raw.until(isTerminal)];
  const events = eventsOf(frames);
  const terminal = frames.at(-1)!;
  assert.equal(terminal.type, "job.error", JSON.stringify(terminal));
  assert.deepEqual(
    { ...payloadOf(terminal), message: undefined },
    { final_status: "error", code: "LEASE_EXPIRED", retryable: false, message: undefined },
  );
  const pairs = toolPairs(events);
  assert.equal(pairs.length, 4);
  for (const [step, pair] of pairs.slice(0, 3).entries()) {
    assert.deepEqual(pair.result, { call_id: pair.call.call_id, result: `indexed ${step}` });
  }
  assertToolError(pairs[3]!.result, "LEASE_EXPIRED");
  assert.match((pairs[3]!.result.error as { message: string }).message, /2030-01-01T00:01:00Z/);
  // The tool_result came first, so the agent was told; its last progress follows,
  // emitted while it unwinds, then the job ends.
  const kinds = events.map((e) => e.kind);
  assert.deepEqual(kinds.slice(-2), ["tool_result", "progress"]);
  assert.equal(frames.filter((f) => f.type === "job.result").length, 0);
}

export async function expiryIsCheckedByEveryOperation(kind: TransportKind): Promise<void> {
  const clock = new TestClock(Date.parse("2030-01-01T00:00:00Z"));
  const expiresAt = "2030-01-01T00:00:30Z";
  const release = Promise.withResolvers<void>();
  const started = Promise.withResolvers<void>();
  const checker: AgentDefinition = {
    name: "checker",
    async handler(_input: unknown, ctx) {
      const before = {
        model: await attempt(() => ctx.useModel("tier-fast/a")),
        authorize: await attempt(() => ctx.authorize("tool.call", "index.x")),
      };
      started.resolve();
      await release.promise;
      await ctx.log("info", "checked", {
        before,
        after: {
          model: await attempt(() => ctx.useModel("tier-fast/a")),
          authorize: await attempt(() => ctx.authorize("tool.call", "index.x")),
          outside: await attempt(() => ctx.authorize("tool.call", "other.x")),
          budgetFree: await attempt(() => ctx.authorize("x-acme.gpu", "a100")),
        },
      });
      await attempt(() => ctx.fetch("http://127.0.0.1:9/never"));
      return "finished";
    },
  };
  await using h = await startHarness(kind, {
    agents: [checker],
    runtime: { now: clock.now, leaseExpiryGraceMs: 0 },
  });
  const raw = await h.raw();
  await raw.hello(TOKEN, { features: LEASE_FEATURES });
  await raw.submit("checker", null, {
    lease_request: {
      "tool.call": ["index.*"],
      "model.use": ["tier-fast/*"],
      "net.fetch": ["http://127.0.0.1:9/**"],
    },
    lease_constraints: { expires_at: expiresAt },
  });
  await raw.expect("job.accepted");
  await started.promise;
  clock.ms = Date.parse(expiresAt); // with no grace, at expires_at is expired
  release.resolve();
  const frames = await raw.until(isTerminal);
  const terminal = frames.at(-1)!;
  // ctx.fetch is a tool call: its LEASE_EXPIRED tool_result ends the job.
  assert.equal(terminal.type, "job.error", JSON.stringify(terminal));
  assert.equal(payloadOf(terminal).code, "LEASE_EXPIRED");
  assert.equal(payloadOf(terminal).final_status, "error");
  const events = eventsOf(frames);
  const expired = { code: "LEASE_EXPIRED", retryable: false };
  assert.deepEqual(events[0], {
    kind: "log",
    body: {
      level: "info",
      message: "checked",
      attributes: {
        before: { model: "ok", authorize: "index.x" },
        after: { model: expired, authorize: expired, outside: expired, budgetFree: expired },
      },
    },
  });
  const pairs = toolPairs(events);
  assert.equal(pairs.length, 1);
  assertToolError(pairs[0]!.result, "LEASE_EXPIRED");
}

// model.use (spec 1.1 §9.7) ---------------------------------------------------------

const modelsAgent: AgentDefinition = {
  name: "models",
  handler(input: { models: string[] }, ctx: AgentContext) {
    return Promise.all(input.models.map((model) => attempt(() => ctx.useModel(model))));
  },
};

export async function modelUseFollowsTheLeaseAndThePolicy(kind: TransportKind): Promise<void> {
  const models = ["tier-fast/small", "tier-slow/x", "tier-fast/a/b", "other"];
  for (const requireModelLease of [false, true]) {
    await using h = await startHarness(kind, {
      agents: [modelsAgent],
      runtime: { requireModelLease },
    });
    const client = await h.connect();
    const leased = await client.submit("models", { models }, {
      leaseRequest: { "model.use": ["tier-fast/*"] },
    });
    assert.deepEqual(
      (await leased.result).result,
      ["ok", DENIED, DENIED, DENIED],
      `model.use lease, requireModelLease ${requireModelLease}`,
    );
    const unleased = await client.submit("models", { models }, {
      leaseRequest: { "tool.call": ["x"] },
    });
    assert.deepEqual(
      (await unleased.result).result,
      requireModelLease ? [DENIED, DENIED, DENIED, DENIED] : ["ok", "ok", "ok", "ok"],
      `no model.use, requireModelLease ${requireModelLease}`,
    );
    const bare = await client.submit("models", { models });
    assert.deepEqual(
      (await bare.result).result,
      requireModelLease ? [DENIED, DENIED, DENIED, DENIED] : ["ok", "ok", "ok", "ok"],
      `no lease, requireModelLease ${requireModelLease}`,
    );
  }
}
