// This module is browser compatible.
/**
 * What the dashboard shows of one job, folded from what the client delivers:
 * status, the latest progress (spec 1.1 §8.2.1), a budget gauge per currency
 * (spec 1.1 §9.6), the lease expiry (spec 1.1 §9.5), the latest events, and
 * the outcome (an inline or streamed result, or the job's error). No DOM
 * here: the page renders a {@linkcode JobState}.
 *
 * @module
 */

import type { JobHandle, JobView } from "../../client.ts";
import {
  ArcpError,
  type JobEvent,
  type JobStatus,
  type Lease,
  type LeaseConstraints,
  parseAmount,
} from "../../protocol/mod.ts";

/** How many of a job's latest events the page keeps. */
export const EVENT_LOG_LIMIT = 200;
/** How much of a result the page shows, in characters. */
export const RESULT_PREVIEW_CHARS = 64 * 1024;

/** One currency of a job's budget: the cap from the lease and what is left. */
export interface BudgetGauge {
  /** The currency, e.g. `USD`. */
  currency: string;
  /** The cap, from the lease's `cost.budget` pattern; unknown if the lease has none. */
  cap: number | undefined;
  /** What is left, from `job.subscribed`/`job.accepted` and `cost.budget.remaining` metrics. */
  remaining: number;
}

/** The latest `progress` body. */
export interface ProgressState {
  /** Non-negative. */
  current: number;
  /** Absent: indeterminate. */
  total?: number;
  /** What is counted, e.g. `steps`. */
  units?: string;
  /** The current step. */
  message?: string;
}

/** One event as the page lists it. */
export interface EventLine {
  /** Its `event_seq` in the viewer's session. */
  seq: number;
  /** Its kind, e.g. `progress`. */
  kind: string;
  /** A one-line summary of its body. */
  text: string;
}

/** How a followed job ended, or why the page stopped following it. */
export type Outcome =
  | { kind: "result"; text: string; streamed: boolean; bytes?: number }
  | { kind: "error"; code: string; message: string }
  | { kind: "detached"; message: string };

/** What the page knows of one job when it starts following it. */
export interface JobStateInit {
  jobId: string;
  agent: string;
  status: JobStatus;
  lease: Lease;
  leaseConstraints?: LeaseConstraints | undefined;
  /** The current counters, from `job.accepted` or `job.subscribed`. */
  budget?: Record<string, number> | undefined;
}

const TERMINAL: ReadonlySet<JobStatus> = new Set(["success", "error", "cancelled", "timed_out"]);

/** Whether `status` is one a job ends in (spec §7.3). */
export function isTerminal(status: JobStatus): boolean {
  return TERMINAL.has(status);
}

/** The caps of a lease's `cost.budget` patterns, per currency; malformed ones are skipped. */
export function budgetCaps(lease: Lease): Map<string, number> {
  const caps = new Map<string, number>();
  for (const pattern of lease["cost.budget"] ?? []) {
    try {
      const { currency, value } = parseAmount(pattern);
      caps.set(currency, Number(value));
    } catch {
      // A runtime that granted it would have refused a bad pattern; show no cap.
    }
  }
  return caps;
}

/**
 * Time left until `expiresAt` as `1h 02m 03s`, `2m 03s` or `3s`; `expired`
 * at or after it.
 */
export function formatCountdown(expiresAt: number, now: number): string {
  const seconds = Math.ceil((expiresAt - now) / 1000);
  if (seconds <= 0) return "expired";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (h > 0) return `${h}h ${pad(m)}m ${pad(s)}s`;
  if (m > 0) return `${m}m ${pad(s)}s`;
  return `${s}s`;
}

function json(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text;
}

/** A one-line summary of an event's body, by kind (spec §8.2). */
export function summarize(event: JobEvent): string {
  const body = event.payload.body;
  switch (event.payload.kind) {
    case "log":
      return `[${body.level}] ${body.message}`;
    case "thought":
      return String(body.text);
    case "tool_call":
      return `${body.tool}(${json(body.args)})`;
    case "tool_result": {
      const error = body.error as { code?: string; message?: string } | undefined;
      return error === undefined
        ? `${body.call_id} → ${json(body.result)}`
        : `${body.call_id} → ${error.code}: ${error.message}`;
    }
    case "status":
      return body.message === undefined ? String(body.phase) : `${body.phase}: ${body.message}`;
    case "metric":
      return `${body.name} = ${body.value}${body.unit === undefined ? "" : ` ${body.unit}`}`;
    case "progress":
      return `${body.current}${body.total === undefined ? "" : ` / ${body.total}`}${
        body.units === undefined ? "" : ` ${body.units}`
      }${body.message === undefined ? "" : `: ${body.message}`}`;
    case "result_chunk":
      return `chunk ${body.chunk_seq} of ${body.result_id} (${String(body.data).length} ${
        body.encoding === "base64" ? "base64 characters" : "characters"
      }${body.more ? "" : ", last"})`;
    case "artifact_ref":
      return `${body.uri} (${body.content_type})`;
    case "delegate":
      return `delegate ${body.delegate_id} to ${body.agent}`;
    default:
      return json(body);
  }
}

/** The terminal status a `job.error` code means (spec §7.3, §12). */
function statusOfError(code: string): JobStatus {
  if (code === "CANCELLED") return "cancelled";
  if (code === "TIMEOUT") return "timed_out";
  return "error";
}

/** The dashboard's state of one job; {@linkcode follow} keeps it current. */
export class JobState {
  readonly jobId: string;
  readonly agent: string;
  status: JobStatus;
  progress: ProgressState | undefined;
  /** One gauge per budgeted currency, in the lease's order. */
  readonly budget: Map<string, BudgetGauge> = new Map();
  /** The lease's `expires_at` in milliseconds since the epoch, if it has one. */
  readonly expiresAt: number | undefined;
  /** The latest events, oldest first, at most {@linkcode EVENT_LOG_LIMIT}. */
  events: EventLine[] = [];
  /** How many events arrived in all. */
  eventCount = 0;
  outcome: Outcome | undefined;

  constructor(init: JobStateInit) {
    this.jobId = init.jobId;
    this.agent = init.agent;
    this.status = init.status;
    const expiresAt = Date.parse(init.leaseConstraints?.expires_at ?? "");
    this.expiresAt = Number.isNaN(expiresAt) ? undefined : expiresAt;
    const caps = budgetCaps(init.lease);
    for (const [currency, cap] of caps) {
      this.budget.set(currency, { currency, cap, remaining: init.budget?.[currency] ?? cap });
    }
    for (const [currency, remaining] of Object.entries(init.budget ?? {})) {
      if (!caps.has(currency)) this.budget.set(currency, { currency, cap: undefined, remaining });
    }
  }

  /** The state of a job this page just submitted, from its `job.accepted`. */
  static submitted(handle: JobHandle): JobState {
    return new JobState({
      jobId: handle.jobId,
      agent: handle.agent,
      status: "running",
      lease: handle.lease,
      leaseConstraints: handle.leaseConstraints,
      budget: handle.accepted.budget,
    });
  }

  /** Folds one event in. */
  apply(event: JobEvent): void {
    if (this.status === "pending") this.status = "running";
    const { kind, body } = event.payload;
    if (kind === "progress" && typeof body.current === "number") {
      this.progress = {
        current: body.current,
        ...(typeof body.total === "number" ? { total: body.total } : {}),
        ...(typeof body.units === "string" ? { units: body.units } : {}),
        ...(typeof body.message === "string" ? { message: body.message } : {}),
      };
    } else if (
      kind === "metric" && body.name === "cost.budget.remaining" &&
      typeof body.unit === "string" && typeof body.value === "number"
    ) {
      const gauge = this.budget.get(body.unit) ??
        { currency: body.unit, cap: undefined, remaining: body.value };
      gauge.remaining = body.value;
      this.budget.set(body.unit, gauge);
    }
    this.eventCount++;
    this.events.push({ seq: event.event_seq, kind, text: summarize(event) });
    if (this.events.length > EVENT_LOG_LIMIT) this.events = this.events.slice(-EVENT_LOG_LIMIT);
  }

  /** Records how the job ended, from its `result` promise's outcome. */
  async settle(view: JobView): Promise<void> {
    try {
      const payload = await view.result;
      this.status = "success";
      const inline = JSON.stringify(payload.result, null, 2);
      this.outcome = payload.result_id === undefined
        ? { kind: "result", text: preview(inline), streamed: false }
        : await streamedOutcome(view);
    } catch (error) {
      if (error instanceof ArcpError) {
        // A job already over when followed keeps the status the runtime
        // reported: a subscriber that missed a streamed result's chunks gets
        // an error for the result, not for the job.
        if (!isTerminal(this.status)) this.status = statusOfError(error.code);
        this.outcome = { kind: "error", code: error.code, message: error.message };
      } else {
        this.outcome = { kind: "detached", message: (error as Error).message };
      }
    }
  }
}

function preview(text: string | undefined): string {
  if (text === undefined) return "(no result)";
  const more = text.length - RESULT_PREVIEW_CHARS;
  return more <= 0 ? text : `${text.slice(0, RESULT_PREVIEW_CHARS)}\n… (${more} more characters)`;
}

/** A streamed result (spec 1.1 §8.4), reassembled: text if it is UTF-8, else a hex preview. */
async function streamedOutcome(view: JobView): Promise<Outcome> {
  const bytes = await view.resultBytes();
  let text: string;
  try {
    text = preview(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    const hex = [...bytes.subarray(0, 64)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    text = `binary: ${hex}${bytes.length > 64 ? " …" : ""}`;
  }
  return { kind: "result", text, streamed: true, bytes: bytes.length };
}

/**
 * Reads `view`'s events into `state` until the job ends, then settles it;
 * calls `changed` after each step. Resolves once the job ended or the view
 * was closed (unsubscribed, connection lost).
 */
export async function follow(view: JobView, state: JobState, changed: () => void): Promise<void> {
  try {
    for await (const event of view) {
      state.apply(event);
      changed();
    }
  } catch {
    // The stream errors when the connection is lost for good; `result` says how.
  }
  await state.settle(view);
  changed();
}
