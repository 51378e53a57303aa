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

/** The parent of a submit's span: the caller's `traceId`, else the active context; `undefined` for an invalid `traceId`. */
function submitParent(traceId: string | undefined): Context | undefined {
  if (traceId === undefined) return context.active();
  try {
    return remoteParent(traceId, parseTraceId(traceId));
  } catch {
    return undefined;
  }
}

/** Starts the span of submitting a job to `agent` in session `sessionId`. */
export function startSubmit(
  agent: string,
  sessionId: string,
  traceId: string | undefined,
): SubmitTrace {
  const parent = submitParent(traceId);
  const span = tracer.startSpan(`arcp.submit ${agent}`, {
    kind: SpanKind.CLIENT,
    attributes: { "arcp.agent": agent, "arcp.session.id": sessionId },
  }, parent ?? context.active());
  // An invalid `traceId` is sent as it is, for the runtime to refuse (INVALID_REQUEST).
  const sent = parent !== undefined && span.isRecording() ? traceparentOf(span) : undefined;
  return { span, traceId: sent ?? traceId };
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
