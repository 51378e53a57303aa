// This module is browser compatible.
// What the runtime's and the client's telemetry share (see
// docs/telemetry.md): the tracer, and the W3C trace context (spec §11) as
// the envelope's `trace_id` carries it and as OpenTelemetry holds it. Only
// `@opentelemetry/api` is used: with no provider registered every span is a
// non-recording one and every instrument a no-op.

import {
  type Context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Tracer,
} from "@opentelemetry/api";
import { SDK_VERSION } from "../protocol/version.ts";

/** The instrumentation scope of every span and instrument of the library (with `SDK_VERSION`). */
export const SCOPE = "@arcp/arcp";

/**
 * The library's tracer: a proxy that reaches whichever provider is
 * registered when a span starts, so a provider may be registered after this
 * module loads.
 */
export const tracer: Tracer = trace.getTracer(SCOPE, SDK_VERSION);

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The span id of a remote parent that the `trace_id` field does not name:
 * made from the trace-id, so every job submitted with one bare trace-id has
 * the same (absent) root, and nothing random is drawn per job.
 */
function placeholderSpanId(traceId: string): string {
  const half = traceId.slice(16);
  return half === "0000000000000000" ? "0000000000000001" : half;
}

/**
 * The remote parent of a span in trace `traceId` (32 lowercase hex), read
 * from an envelope's `trace_id` field: a full `traceparent` gives its span
 * id and flags; a bare trace-id (or none) names the trace but no span, so
 * the parent gets a placeholder span id (the trace-id's second half) and is
 * sampled.
 */
export function remoteParent(field: string | undefined, traceId: string): Context {
  const match = field === undefined ? null : TRACEPARENT.exec(field.toLowerCase());
  const spanContext: SpanContext = match !== null && match[1] === traceId
    ? {
      traceId,
      spanId: match[2]!,
      traceFlags: parseInt(match[3]!, 16) & TraceFlags.SAMPLED,
      isRemote: true,
    }
    : {
      traceId,
      spanId: placeholderSpanId(traceId),
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    };
  return trace.setSpanContext(ROOT_CONTEXT, spanContext);
}

/**
 * The W3C `traceparent` of `span`, or `undefined` when it has no valid
 * context (no provider, and no valid parent).
 */
export function traceparentOf(span: Span): string | undefined {
  const context = span.spanContext();
  if (!isSpanContextValid(context)) return undefined;
  const flags = (context.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, "0");
  return `00-${context.traceId}-${context.spanId}-${flags}`;
}

/**
 * Ends `span` with an error status naming `code` (an ARCP error code): the
 * code, never the message, which may quote what the peer sent.
 */
export function endWithError(span: Span, code: string): void {
  if (span.isRecording()) {
    span.setAttribute("arcp.error.code", code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: code });
  }
  span.end();
}

/**
 * What a URL may show in telemetry: scheme, host and path. Its user info
 * and query are left out, where credentials and tokens travel.
 */
export function safeUrl(value: string): string {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return value;
  }
}
