/**
 * The agents `cli.ts serve --demo` registers. Their names, inputs and
 * results are a fixed contract that other tooling depends on.
 *
 * @module
 */

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

function fail(input: { message?: string }): Promise<never> {
  return Promise.reject(new Error(input?.message ?? "The fail agent failed, as asked"));
}

/**
 * The demo agents: `echo` (1.0.0 and 2.0.0, default 2.0.0), `count`,
 * `sleep`, `fail` and `files`.
 *
 * @returns Their definitions, ready for `new Runtime({ agents })`.
 * @example
 * ```ts
 * import { demoAgents } from "@arcp/arcp/cli";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(demoAgents().map((a) => a.name), ["echo", "echo", "count", "sleep", "fail", "files"]);
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
  ];
}
