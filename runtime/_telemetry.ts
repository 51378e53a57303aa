// This module is browser compatible.
// The runtime's OpenTelemetry (docs/telemetry.md): one span per job, child
// spans for its tool calls, fetches, delegations and model use, span events
// for lease refusals, and the runtime's metrics. Everything here is per job,
// per operation or per stored batch, never per event: with no provider
// registered the event path does no telemetry work at all.

import {
  type Attributes,
  type Context,
  type Counter,
  type Histogram,
  type Meter,
  metrics,
  type ObservableGauge,
  type ObservableResult,
  type Span,
  SpanKind,
  trace,
} from "@opentelemetry/api";
import { ArcpError } from "../protocol/errors.ts";
import type { JobRecord } from "../store/types.ts";
import { SDK_VERSION } from "../protocol/version.ts";
import { endWithError, safeUrl, SCOPE, traceparentOf, tracer } from "../internal/telemetry.ts";

/** What a job's span is started with: what `job.accepted` says of the job, and who asked. */
export interface TracedJob {
  readonly jobId: string;
  readonly agent: string;
  readonly sessionId: string;
  readonly principal: string;
  readonly expiresAt: string | undefined;
  readonly parentJobId: string | null;
}

/** How a job ended: its final status, and its error code when it failed. */
interface JobEnd {
  status: string;
  code: string | undefined;
}

/** Lease refusals that become span events, and the event each becomes. */
const REFUSALS: Readonly<Record<string, string>> = {
  PERMISSION_DENIED: "arcp.lease.denied",
  LEASE_EXPIRED: "arcp.lease.expired",
  BUDGET_EXHAUSTED: "arcp.budget.exhausted",
};

/** A child span of a job: ended once, with the outcome of its operation. */
export class OperationSpan {
  readonly #span: Span;
  readonly #parent: Context;

  constructor(span: Span, parent: Context) {
    this.#span = span;
    this.#parent = parent;
  }

  /** The span's context, for spans started under it (a delegated job's). */
  get context(): Context {
    return trace.setSpan(this.#parent, this.#span);
  }

  /** The span's W3C `traceparent` while it records; `undefined` without a provider. */
  traceparent(): string | undefined {
    return this.#span.isRecording() ? traceparentOf(this.#span) : undefined;
  }

  /** Ends the span; with `error`, as failed with its code. */
  end(error?: unknown): void {
    if (error === undefined) this.#span.end();
    else endWithError(this.#span, ArcpError.from(error).code);
  }
}

/** A job's span, and the spans of its operations under it. */
export class JobTrace {
  readonly #span: Span;
  readonly #context: Context;

  /** Starts the span of `job`, under `parent` (the submit's trace context, or a delegation). */
  constructor(job: TracedJob, parent: Context) {
    const attributes: Attributes = {
      "arcp.job.id": job.jobId,
      "arcp.agent": job.agent,
      "arcp.session.id": job.sessionId,
      "arcp.principal": job.principal,
    };
    if (job.parentJobId !== null) attributes["arcp.job.parent_id"] = job.parentJobId;
    if (job.expiresAt !== undefined) attributes["arcp.lease.expires_at"] = job.expiresAt;
    this.#span = tracer.startSpan(
      `arcp.job ${job.agent}`,
      { kind: SpanKind.SERVER, attributes },
      parent,
    );
    this.#context = trace.setSpan(parent, this.#span);
  }

  /** Starts the span of one operation of the job: `name`, with `attributes`. */
  #operation(name: string, attributes: Attributes): OperationSpan {
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, this.#context);
    return new OperationSpan(span, this.#context);
  }

  /** A `ctx.tool` call; `ctx.fetch` is the tool `net.fetch`. */
  tool(tool: string, callId: string, target: string | undefined): OperationSpan {
    const attributes: Attributes = { "arcp.tool.name": tool, "arcp.tool.call_id": callId };
    if (tool === "net.fetch" && target !== undefined) attributes["url.full"] = safeUrl(target);
    return this.#operation(tool === "net.fetch" ? "arcp.fetch" : `arcp.tool ${tool}`, attributes);
  }

  /** `ctx.delegate`: the child job's span starts under this one. */
  delegation(agent: string, delegateId: string): OperationSpan {
    return this.#operation(`arcp.delegate ${agent}`, {
      "arcp.delegate.id": delegateId,
      "arcp.delegate.agent": agent,
    });
  }

  /** `ctx.useModel`: `check`, the lease check of one model (spec 1.1 §9.7), in a span. */
  model(model: string, check: () => void): void {
    const span = this.#operation(`arcp.model ${model}`, { "arcp.model": model });
    try {
      check();
    } catch (error) {
      span.end(error);
      throw error;
    }
    span.end();
  }

  /** A lease check refused `capability` on `target`: an event of the job's span. */
  refused(error: unknown, capability: string, target: string): void {
    if (!(error instanceof ArcpError) || !this.#span.isRecording()) return;
    const name = REFUSALS[error.code];
    if (name === undefined) return;
    this.#span.addEvent(name, {
      "arcp.capability": capability,
      "arcp.target": capability === "net.fetch" ? safeUrl(target) : target,
      "arcp.error.code": error.code,
    });
  }

  /** Ends the span with the job's `end`, and its remaining budget from `record`. */
  end(record: JobRecord, end: JobEnd): void {
    const span = this.#span;
    if (!span.isRecording()) return span.end();
    const budget = Object.entries(record.budget ?? {}).map(([currency, value]) =>
      `${currency}:${value}`
    );
    if (budget.length > 0) span.setAttribute("arcp.budget.remaining", budget);
    span.setAttribute("arcp.final_status", end.status);
    if (end.code === undefined) span.end();
    else endWithError(span, end.code);
  }

  /** Ends the span of a job that was refused before it started. */
  refusedToStart(error: unknown): void {
    endWithError(this.#span, ArcpError.from(error).code);
  }
}

/** What a session reports: its stored batches. */
export interface SessionTelemetry {
  /** `count` events were appended to the store in `seconds`. */
  appended(count: number, seconds: number): void;
}

/**
 * The runtime's instruments, made once per runtime from the meter provider
 * registered then (the metrics API has no proxy: register it first).
 */
export class RuntimeTelemetry implements SessionTelemetry {
  readonly #started: Counter;
  readonly #ended: Counter;
  readonly #events: Counter;
  readonly #ackLag: Histogram;
  readonly #appendDuration: Histogram;
  readonly #sessions: ObservableGauge;
  readonly #observeSessions: (result: ObservableResult) => void;

  /** @param sessions How many sessions have live state here; reported as `arcp.sessions`. */
  constructor(instanceId: string, sessions: () => number) {
    const meter: Meter = metrics.getMeter(SCOPE, SDK_VERSION);
    this.#started = meter.createCounter("arcp.jobs.started", {
      description: "Jobs started on this runtime instance",
      unit: "{job}",
    });
    this.#ended = meter.createCounter("arcp.jobs.ended", {
      description: "Jobs ended on this runtime instance, by final status and error code",
      unit: "{job}",
    });
    this.#events = meter.createCounter("arcp.events.emitted", {
      description: "Job events, results and errors appended to the event log",
      unit: "{event}",
    });
    this.#ackLag = meter.createHistogram("arcp.ack.lag", {
      description: "Events sequenced but not yet acknowledged, at each session.ack",
      unit: "{event}",
    });
    this.#appendDuration = meter.createHistogram("arcp.store.append.duration", {
      description: "Time to append one batch of a session's events to the store",
      unit: "s",
    });
    this.#sessions = meter.createObservableGauge("arcp.sessions", {
      description: "Sessions with live state on this runtime instance",
      unit: "{session}",
    });
    const attributes = { "arcp.instance.id": instanceId };
    this.#observeSessions = (result) => result.observe(sessions(), attributes);
    this.#sessions.addCallback(this.#observeSessions);
  }

  /** Starts the span of a job (see {@linkcode JobTrace}) and counts it started. */
  startJob(job: TracedJob, parent: Context): JobTrace {
    this.#started.add(1, { "arcp.agent": job.agent });
    return new JobTrace(job, parent);
  }

  /** Ends a job's span and counts it ended. */
  endJob(trace: JobTrace, record: JobRecord): void {
    const payload = record.terminal?.payload as { final_status?: string; code?: string };
    const end: JobEnd = { status: payload?.final_status ?? record.status, code: payload?.code };
    trace.end(record, end);
    const attributes: Attributes = { "arcp.agent": record.agent, "arcp.final_status": end.status };
    if (end.code !== undefined) attributes["arcp.error.code"] = end.code;
    this.#ended.add(1, attributes);
  }

  appended(count: number, seconds: number): void {
    this.#events.add(count);
    this.#appendDuration.record(seconds);
  }

  /** A client acknowledged through a seq `lag` events behind the last one sequenced. */
  acknowledged(lag: number): void {
    this.#ackLag.record(lag);
  }

  /** Stops reporting this runtime's sessions. */
  close(): void {
    this.#sessions.removeCallback(this.#observeSessions);
  }
}
