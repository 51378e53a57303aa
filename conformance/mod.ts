// This module is browser compatible.
/**
 * A black-box conformance kit for any ARCP runtime: it speaks raw JSON
 * envelopes over a standard `WebSocket` and checks what the runtime answers
 * against the spec (ARCP 1.0 and 1.1), one check per behaviour, each citing
 * its section. Checks of a feature the runtime does not advertise in
 * `session.welcome` are skipped, not failed. The target must host the
 * kit's agents (`echo`, `count`, `sleep`, `fail`; optionally `report`,
 * `spend`, `fetch`, `delegate`, `later`), whose contract docs/conformance.md
 * gives.
 *
 * `cli.ts conformance --url ws://HOST:PORT/arcp --token T` runs it from a
 * shell.
 *
 * @example Run the kit against a runtime and print its lines
 * ```ts ignore
 * import { formatCheck, runConformance } from "@arcp/arcp/conformance";
 *
 * const report = await runConformance("ws://127.0.0.1:7777/arcp", {
 *   token: "s3cret",
 *   onCheck: (check) => console.log(formatCheck(check)),
 * });
 * console.log(`${report.passed} passed, ${report.failed} failed`);
 * ```
 *
 * @module
 */

import { AUTHORITY_CHECKS } from "./_checks_authority.ts";
import { JOB_CHECKS } from "./_checks_jobs.ts";
import { OBSERVE_CHECKS } from "./_checks_observe.ts";
import { RESUME_CHECKS } from "./_checks_resume.ts";
import { SESSION_CHECKS } from "./_checks_session.ts";
import { type Check, CheckContext, payloadOf, type Target } from "./_context.ts";
import { CheckFailure, CheckSkipped } from "./_wire.ts";
import { FEATURES } from "../protocol/messages.ts";

/** The outcome of one check. */
export type CheckStatus = "ok" | "fail" | "skip";

/** One check's result, as {@linkcode runConformance} reports it. */
export interface CheckResult {
  /** A stable identifier, e.g. `auth.bad-token`. */
  id: string;
  /** The spec section it checks, e.g. `1.0 §6.1`. */
  section: string;
  /** What it checks. */
  title: string;
  /** Whether it passed, failed or was skipped. */
  status: CheckStatus;
  /** `false` for a SHOULD of the spec: a failure does not make the report fail. */
  required: boolean;
  /** Why it failed or was skipped. */
  reason?: string;
  /** On failure: the last frame the kit sent, as text. */
  sent?: string;
  /** On failure: the frames received after it (at most six, shortened). */
  received?: string[];
  /** How long it ran, in milliseconds. */
  durationMs: number;
}

/** What {@linkcode runConformance} found. */
export interface ConformanceReport {
  /** The target's URL. */
  url: string;
  /** Whether a session could be opened with the target; every check but the first is skipped without one. */
  connected: boolean;
  /** The target's `session.welcome.payload.runtime`, when it sent one. */
  runtime?: { name?: unknown; version?: unknown };
  /** The effective features the checks were grouped by. */
  features: string[];
  /** The agents the target advertised. */
  agents: string[];
  /** Every check, in the order run. */
  checks: CheckResult[];
  /** Checks that passed. */
  passed: number;
  /** Required checks that failed. */
  failed: number;
  /** Checks not required (a SHOULD) that failed. */
  advisoryFailed: number;
  /** Checks skipped: a feature not advertised, an optional agent not hosted, no second token. */
  skipped: number;
  /** Whether every required check passed. */
  ok: boolean;
}

/** Options of {@linkcode runConformance}. */
export interface ConformanceOptions {
  /** The bearer token of the principal the kit runs as. */
  token: string;
  /** A second principal's token, for the checks across principals; skipped without it. */
  token2?: string;
  /**
   * Milliseconds one check may take before it fails: a target that does not
   * answer fails that check instead of hanging the kit.
   * @default {15000}
   */
  checkTimeoutMs?: number;
  /** Runs only the checks whose id starts with one of these prefixes, e.g. `["resume."]`. */
  only?: string[];
  /** Told of each check as it ends, e.g. to print its line. */
  onCheck?: (result: CheckResult) => void;
  /** Stops the run: the current check fails and the rest are not run. */
  signal?: AbortSignal;
}

/** Every check of the kit, in the order they run. */
const CHECKS: readonly Check[] = [
  ...SESSION_CHECKS,
  ...RESUME_CHECKS,
  ...JOB_CHECKS,
  ...AUTHORITY_CHECKS,
  ...OBSERVE_CHECKS,
];

/** One line of text for `result`: `ok`, `FAIL` or `skip`, its section and title, why, and on failure the wire. */
export function formatCheck(result: CheckResult): string {
  const status = result.status === "ok"
    ? "ok  "
    : result.status === "skip"
    ? "skip"
    : result.required
    ? "FAIL"
    : "FAIL (advisory)";
  let line = `${status} ${result.section.padEnd(20)} ${result.id}: ${result.title}`;
  if (result.reason !== undefined) line += ` (${result.reason})`;
  if (result.status === "fail") {
    line += `; sent: ${result.sent ?? "nothing"}; received: ${
      result.received?.length ? result.received.join(" | ") : "nothing"
    }`;
  }
  return line;
}

/**
 * Runs the kit against the runtime at `url` and resolves with its report;
 * never rejects for what the target does (a target that cannot be reached
 * fails the first check and skips the others).
 *
 * @param url The target's WebSocket URL, e.g. `ws://127.0.0.1:7777/arcp`.
 * @param options The token(s) and limits.
 * @returns Each check's result and the totals.
 */
export async function runConformance(
  url: string,
  options: ConformanceOptions,
): Promise<ConformanceReport> {
  const timeoutMs = options.checkTimeoutMs ?? 15_000;
  const results: CheckResult[] = [];
  const record = (result: CheckResult) => {
    results.push(result);
    options.onCheck?.(result);
  };
  const discovered = await discover(url, options, timeoutMs);
  const target = "target" in discovered ? discovered.target : undefined;
  if ("reason" in discovered) {
    record({
      id: "session.open",
      section: "1.1 §6.2",
      title: "a session can be opened with the target",
      status: "fail",
      required: true,
      reason: discovered.reason,
      ...discovered.exchange,
      durationMs: 0,
    });
  }
  for (const check of CHECKS) {
    if (options.signal?.aborted) break;
    if (options.only && !options.only.some((prefix) => check.id.startsWith(prefix))) continue;
    const skip = target === undefined ? "no session with the target" : skipReason(check, target);
    if (target === undefined || skip !== undefined) {
      const { id, section, title, required = true } = check;
      record({ id, section, title, required, status: "skip", reason: skip!, durationMs: 0 });
      continue;
    }
    record(await runCheck(check, target, timeoutMs, options.signal));
  }
  const count = (f: (r: CheckResult) => boolean) => results.filter(f).length;
  const failed = count((r) => r.status === "fail" && r.required);
  const welcomeRuntime = "target" in discovered ? discovered.runtime : undefined;
  return {
    url,
    connected: target !== undefined,
    ...(welcomeRuntime === undefined ? {} : { runtime: welcomeRuntime }),
    features: target === undefined ? [] : [...target.features],
    agents: target === undefined ? [] : [...target.agents.keys()],
    checks: results,
    passed: count((r) => r.status === "ok"),
    failed,
    advisoryFailed: count((r) => r.status === "fail" && !r.required),
    skipped: count((r) => r.status === "skip"),
    ok: failed === 0,
  };
}

/** Why `check` does not run against `target`: a feature it does not advertise. */
function skipReason(check: Check, target: Target): string | undefined {
  if (check.feature === undefined || target.features.has(check.feature)) return undefined;
  return `the target does not advertise "${check.feature}"`;
}

type Discovered =
  | { target: Target; runtime: ConformanceReport["runtime"] }
  | { reason: string; exchange: { sent?: string; received: string[] } };

/** Opens a first session to learn the target's features and agents. */
async function discover(
  url: string,
  options: ConformanceOptions,
  timeoutMs: number,
): Promise<Discovered> {
  const signals = [AbortSignal.timeout(timeoutMs), options.signal].filter((s) => s !== undefined);
  const bare: Target = {
    url,
    token: options.token,
    token2: options.token2,
    features: new Set(),
    agents: new Map(),
  };
  const ctx = new CheckContext(bare, AbortSignal.any(signals));
  try {
    const welcome = await ctx.hello(await ctx.open());
    const payload = payloadOf(welcome);
    const capabilities = (payload.capabilities ?? {}) as { features?: unknown; agents?: unknown };
    const offered = Array.isArray(capabilities.features) ? capabilities.features : [];
    const features = new Set(FEATURES.filter((f) => offered.includes(f)));
    const agents = new Map<string, { versions: string[]; default: string | undefined }>();
    for (const agent of Array.isArray(capabilities.agents) ? capabilities.agents : []) {
      if (typeof agent === "string") agents.set(agent, { versions: [], default: undefined });
      else if (agent !== null && typeof agent === "object" && typeof agent.name === "string") {
        const versions = Array.isArray(agent.versions)
          ? agent.versions.filter((v: unknown) => typeof v === "string")
          : [];
        const preferred = typeof agent.default === "string" ? agent.default : undefined;
        agents.set(agent.name, { versions, default: preferred });
      }
    }
    const runtime = payload.runtime as ConformanceReport["runtime"] | undefined;
    return { target: { ...bare, features, agents }, runtime };
  } catch (error) {
    const exchange = ctx.lastWire?.exchange;
    return {
      reason: describe(error, timeoutMs),
      exchange: {
        ...(exchange?.sent === undefined ? {} : { sent: exchange.sent }),
        received: exchange?.received ?? [],
      },
    };
  } finally {
    ctx.dispose();
  }
}

/** Runs one check under its own deadline; closes its connections after. */
async function runCheck(
  check: Check,
  target: Target,
  timeoutMs: number,
  stop: AbortSignal | undefined,
): Promise<CheckResult> {
  const signals = [AbortSignal.timeout(timeoutMs), stop].filter((s) => s !== undefined);
  const ctx = new CheckContext(target, AbortSignal.any(signals));
  const started = performance.now();
  const base = {
    id: check.id,
    section: check.section,
    title: check.title,
    required: check.required ?? true,
  };
  try {
    await check.run(ctx);
    return { ...base, status: "ok", durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    const durationMs = Math.round(performance.now() - started);
    if (error instanceof CheckSkipped) {
      return { ...base, status: "skip", reason: error.message, durationMs };
    }
    const exchange = ctx.lastWire?.exchange;
    return {
      ...base,
      status: "fail",
      reason: describe(error, timeoutMs),
      ...(exchange?.sent === undefined ? {} : { sent: exchange.sent }),
      received: exchange?.received ?? [],
      durationMs,
    };
  } finally {
    ctx.dispose();
  }
}

/** Why a check failed, in words. */
function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof CheckFailure) return error.message;
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return `no answer within ${timeoutMs} ms`;
  }
  if (error instanceof DOMException && error.name === "AbortError") return "stopped";
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
