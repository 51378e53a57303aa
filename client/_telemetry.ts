// This module is browser compatible.
// The client's OpenTelemetry (docs/telemetry.md): a span per `submit`, whose
// W3C context the submit carries as its `trace_id`, so the caller's trace
// continues into the runtime's job span (spec §11).

import { type Context, context, type Span, SpanKind } from "@opentelemetry/api";
import { ArcpError } from "../protocol/errors.ts";
import { endWithError, remoteParent, traceparentOf, tracer } from "../internal/telemetry.ts";
import { parseTraceId } from "../protocol/trace.ts";

/** A submit's span, and the `trace_id` the submit carries. */
export interface SubmitTrace {
  readonly span: Span;
  /** The span's `traceparent` while a provider records it; else the caller's `traceId` as given. */
  readonly traceId: string | undefined;
}

/** The parent of a submit's span: the caller's `traceId` when it is a valid one, else the active context. */
function submitParent(traceId: string | undefined): Context {
  if (traceId === undefined) return context.active();
  try {
    return remoteParent(traceId, parseTraceId(traceId));
  } catch {
    // The runtime refuses it with INVALID_REQUEST: it is sent as it is.
    return context.active();
  }
}

/** Starts the span of submitting a job to `agent` in session `sessionId`. */
export function startSubmit(
  agent: string,
  sessionId: string,
  traceId: string | undefined,
): SubmitTrace {
  const span = tracer.startSpan(`arcp.submit ${agent}`, {
    kind: SpanKind.CLIENT,
    attributes: { "arcp.agent": agent, "arcp.session.id": sessionId },
  }, submitParent(traceId));
  return { span, traceId: span.isRecording() ? traceparentOf(span) ?? traceId : traceId };
}

/** Ends a submit's span: accepted as job `jobId`, or refused with `error`. */
export function endSubmit(
  trace: SubmitTrace,
  outcome: { jobId: string } | { error: unknown },
): void {
  if ("error" in outcome) return endWithError(trace.span, ArcpError.from(outcome.error).code);
  if (trace.span.isRecording()) trace.span.setAttribute("arcp.job.id", outcome.jobId);
  trace.span.end();
}
