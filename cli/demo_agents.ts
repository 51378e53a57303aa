/**
 * The agents `cli.ts serve --demo` registers. Their names, inputs and
 * results are a fixed contract that other tooling depends on.
 *
 * @module
 */

import { ArcpError } from "../protocol/errors.ts";
import type { AgentContext, AgentDefinition } from "../runtime/context.ts";
import { filesAgent } from "./files_agent.ts";

/** Waits `ms` milliseconds, or rejects with the signal's reason when it aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function echo(version: string) {
  return (input: unknown): Promise<{ echoed: unknown; version: string }> =>
    Promise.resolve({ echoed: input, version });
}

async function count(
  input: { n: number; delay_ms?: number },
  ctx: AgentContext,
): Promise<{ count: number }> {
  const n = Math.max(0, Math.floor(Number(input?.n ?? 0)));
  for (let current = 1; current <= n; current++) {
    if (current > 1 && input.delay_ms) await delay(input.delay_ms, ctx.signal);
    await ctx.progress(current, { total: n, units: "steps" });
  }
  return { count: n };
}

async function sleep(input: { ms: number }, ctx: AgentContext): Promise<{ slept_ms: number }> {
  const ms = Math.max(0, Number(input?.ms ?? 0));
  await ctx.status("sleeping");
  await delay(ms, ctx.signal);
  return { slept_ms: ms };
}

/** Calls the tool `noop` per cost and reports each cost, until the budget is exhausted (spec 1.1 §9.6). */
async function spend(
  input: { costs: number[]; currency: string },
  ctx: AgentContext,
): Promise<{ spent: number }> {
  // Summed in millionths, so the demo's own total has no float drift either.
  let spentMicros = 0;
  for (const cost of input?.costs ?? []) {
    try {
      await ctx.tool("noop", () => null, { args: { cost } });
    } catch (error) {
      if (error instanceof ArcpError && error.code === "BUDGET_EXHAUSTED") break;
      throw error;
    }
    await ctx.metric("cost.demo", cost, { unit: input.currency });
    spentMicros += Math.round(cost * 1e6);
  }
  return { spent: spentMicros / 1e6 };
}

/** Streams a result of exactly `bytes` bytes of text, in several chunks (spec 1.1 §8.4). */
async function report(input: { bytes: number }, ctx: AgentContext): Promise<string> {
  const total = Math.max(0, Math.floor(Number(input?.bytes ?? 0)));
  const writer = ctx.resultStream({ encoding: "utf8" }).getWriter();
  let written = 0;
  for (let line = 1; written < total; line++) {
    const text = `ARCP demo report, line ${line}\n`.slice(0, total - written);
    await writer.write(text);
    written += text.length;
  }
  await writer.close();
  return `Report of ${total} bytes`;
}

/** Fetches `url` through the lease (`net.fetch`) and returns the HTTP status. */
async function fetchAgent(input: { url: string }, ctx: AgentContext): Promise<{ status: number }> {
  const response = await ctx.fetch(input?.url);
  await response.body?.cancel();
  return { status: response.status };
}

/** Delegates to `agent` with `lease_request` (spec §10) and returns the child's result. */
async function delegate(
  input: { agent: string; input?: unknown; lease_request?: Record<string, string[]> },
  ctx: AgentContext,
): Promise<unknown> {
  const child = await ctx.delegate(input?.agent, input?.input ?? null, {
    leaseRequest: input?.lease_request ?? {},
  });
  return child.result;
}

/**
 * Waits `ms` milliseconds, then calls the tool `noop` through the lease
 * (`tool.call`): past the lease's `expires_at` that call, and so the job,
 * fails with `LEASE_EXPIRED` (spec 1.1 §9.5), as the conformance kit checks.
 */
async function later(input: { ms: number }, ctx: AgentContext): Promise<{ called: string }> {
  const ms = Math.max(0, Number(input?.ms ?? 0));
  await ctx.status("waiting");
  await delay(ms, ctx.signal);
  await ctx.tool("noop", () => null);
  return { called: "noop" };
}

function fail(input: { message?: string }): Promise<never> {
  return Promise.reject(new Error(input?.message ?? "The fail agent failed, as asked"));
}

/**
 * The demo agents: `echo` (1.0.0 and 2.0.0, default 2.0.0), `count`,
 * `sleep`, `fail`, `files`, `spend`, `report`, `fetch`, `delegate` and
 * `later`.
 *
 * @returns Their definitions, ready for `new Runtime({ agents })`.
 * @example
 * ```ts
 * import { demoAgents } from "@arcp/arcp/cli";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(demoAgents().map((a) => a.name), [
 *   "echo", "echo", "count", "sleep", "fail", "files", "spend", "report", "fetch", "delegate",
 *   "later",
 * ]);
 * ```
 */
export function demoAgents(): AgentDefinition[] {
  return [
    { name: "echo", version: "1.0.0", handler: echo("1.0.0") },
    { name: "echo", version: "2.0.0", default: true, handler: echo("2.0.0") },
    { name: "count", handler: count },
    { name: "sleep", handler: sleep },
    { name: "fail", handler: fail },
    { name: "files", handler: filesAgent },
    { name: "spend", handler: spend },
    { name: "report", handler: report },
    { name: "fetch", handler: fetchAgent },
    { name: "delegate", handler: delegate },
    { name: "later", handler: later },
  ];
}

/** What one demo agent takes, needs and does, as `cli.ts agents` and the README list it. */
export interface DemoAgentGuide {
  /** The name to submit to. */
  name: string;
  /** What it does and returns. */
  does: string;
  /** Its input's fields, `?` marking optional ones. */
  input: string;
  /** An input to try, as JSON. */
  example: string;
  /** The lease it needs (`submit --lease`), as JSON; `undefined` when it needs none. */
  lease: string | undefined;
}

/** The demo agents' inputs and leases, in the order {@linkcode demoAgents} registers them. */
export const DEMO_AGENT_GUIDE: readonly DemoAgentGuide[] = [
  {
    name: "echo",
    does: "returns {echoed: INPUT, version}; versions 1.0.0 and 2.0.0 (default), e.g. echo@1.0.0",
    input: "any JSON",
    example: '"hello"',
    lease: undefined,
  },
  {
    name: "count",
    does: "reports progress 1..n, then returns {count: n}",
    input: '{"n": number, "delay_ms"?: number}',
    example: '{"n": 5, "delay_ms": 100}',
    lease: undefined,
  },
  {
    name: "sleep",
    does: "waits ms milliseconds (cancel it meanwhile), then returns {slept_ms}",
    input: '{"ms": number}',
    example: '{"ms": 60000}',
    lease: undefined,
  },
  {
    name: "fail",
    does: "ends with INTERNAL_ERROR and the message",
    input: '{"message"?: string}',
    example: '{"message": "boom"}',
    lease: undefined,
  },
  {
    name: "files",
    does: "counts lines, words and bytes per file extension under root, as wc does",
    input: '{"root": string, "pattern"?: glob, "exclude"?: string[]}',
    example: '{"root": "/srv/project"}',
    lease: '{"fs.read": ["/srv/project/**"]}',
  },
  {
    name: "spend",
    does: "calls the tool noop per cost and reports each as a cost metric until the budget " +
      "is exhausted; returns {spent}",
    input: '{"costs": number[], "currency": string}',
    example: '{"costs": [0.25, 0.5], "currency": "USD"}',
    lease: '{"tool.call": ["noop"], "cost.budget": ["USD:1.00"]}',
  },
  {
    name: "report",
    does: "streams a text result of exactly bytes bytes in result_chunk events",
    input: '{"bytes": number}',
    example: '{"bytes": 200}',
    lease: undefined,
  },
  {
    name: "fetch",
    does: "fetches url through the lease and returns {status}",
    input: '{"url": string}',
    example: '{"url": "http://127.0.0.1:8000/"}',
    lease: '{"net.fetch": ["http://127.0.0.1:8000/**"]}',
  },
  {
    name: "delegate",
    does: "submits agent as a child job (spec §10) and returns the child's result",
    input: '{"agent": string, "input"?: any, "lease_request"?: lease}',
    example: '{"agent": "echo", "input": "hi"}',
    lease: '{"agent.delegate": ["echo"]}',
  },
  {
    name: "later",
    does: "waits ms milliseconds, then calls the tool noop; past the lease's expires_at " +
      "that call fails with LEASE_EXPIRED; returns {called}",
    input: '{"ms": number}',
    example: '{"ms": 100}',
    lease: '{"tool.call": ["noop"]}',
  },
];
