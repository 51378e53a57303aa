// This module is browser compatible.
// The payloads a job puts on the wire: `job.accepted` (spec §7.1) and its
// terminal `job.result` or `job.error` (spec §7.3), and the encoded size of
// what an agent hands over, measured before it is queued.

import { BudgetCounters } from "../protocol/budget.ts";
import { ArcpError } from "../protocol/errors.ts";
import type {
  Credential,
  FinalStatus,
  JobAcceptedPayload,
  JobErrorPayload,
  JobResultPayload,
} from "../protocol/messages.ts";
import type { JobRecord } from "../store/types.ts";
import type { ResultStream } from "./_result_stream.ts";
import { DEFAULT_MAX_JSON_DEPTH } from "../transports/types.ts";
import { encodePayload } from "../transports/frame_text.ts";

/**
 * Nesting every frame a runtime sends stays within: what peers accept by
 * default (see docs/limits.md), and far within what any serialiser on the
 * way (the transports' JSON, a store's structured clone) can recurse through.
 */
const MAX_FRAME_DEPTH = DEFAULT_MAX_JSON_DEPTH;
/** Nesting of a job's body, result or error details: each sits two levels into its frame. */
export const MAX_VALUE_DEPTH: number = MAX_FRAME_DEPTH - 2;

/**
 * The encoded length of `value`, or why it cannot be sent as JSON: a BigInt,
 * a cycle, or nesting deeper than {@linkcode MAX_VALUE_DEPTH} (which
 * `JSON.stringify` may get through here and overflow on later, in a
 * transport or a store).
 */
export function encodedLength(value: unknown): number | string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    return (error as Error).message;
  }
  return checkedLength(value, text);
}

/**
 * {@linkcode encodedLength} of `payload[key]`, a payload's last member,
 * encoded once for both the check and the transport (see `encodePayload`).
 */
export function encodedMember<P extends object>(
  payload: P,
  key: keyof P & string,
): number | string {
  let text: string | undefined;
  try {
    text = encodePayload(payload, key);
  } catch (error) {
    return (error as Error).message;
  }
  return checkedLength(payload[key], text);
}

/** The length of `text`, the JSON of `value`, or why `value` nests too deeply to be sent. */
function checkedLength(value: unknown, text: string | undefined): number | string {
  const length = text?.length ?? 4;
  // Each level takes two characters at least: short JSON is never too deep.
  if (length > 2 * MAX_VALUE_DEPTH && nestedDeeper(value, MAX_VALUE_DEPTH)) {
    return `it is nested deeper than ${MAX_VALUE_DEPTH} levels ` +
      `(frames are kept within ${MAX_FRAME_DEPTH} levels)`;
  }
  return length;
}

/** Whether `value` nests more than `levels` arrays and objects, as JSON would encode it. */
function nestedDeeper(value: unknown, levels: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  const json = (value as { toJSON?: unknown }).toJSON;
  if (typeof json === "function") return nestedDeeper(json.call(value), levels);
  if (levels === 0) return true;
  const children = Array.isArray(value) ? value : Object.values(value);
  for (const child of children) if (nestedDeeper(child, levels - 1)) return true;
  return false;
}

/**
 * The `job.accepted` payload of a job (spec §7.1), answering request
 * `requestId`, with its live credentials when the session may see them.
 */
export function acceptedPayload(
  record: JobRecord,
  requestId: string | undefined,
  credentials: readonly Credential[] = [],
): JobAcceptedPayload {
  // The counters as initialised at acceptance (spec 1.1 §7.1), the same for a repeated key.
  const budget = record.lease["cost.budget"] === undefined
    ? undefined
    : new BudgetCounters(record.lease).toWire();
  const payload: JobAcceptedPayload = {
    job_id: record.job_id,
    agent: record.agent,
    lease: record.lease,
  };
  if (record.lease_constraints !== undefined) payload.lease_constraints = record.lease_constraints;
  if (budget !== undefined) payload.budget = budget;
  if (credentials.length > 0) payload.credentials = credentials.map((c) => ({ ...c }));
  payload.accepted_at = record.created_at;
  payload.trace_id = record.trace_id;
  if (requestId !== undefined) payload.request_id = requestId;
  return payload;
}

/**
 * The `job.result` payload for what the agent returned, with its encoded
 * size: the result inline, or the id and size of the result it streamed.
 *
 * @returns Why the agent's return cannot end the job successfully instead:
 *   an `INTERNAL_ERROR`.
 */
export function resultPayload(
  result: unknown,
  streamed: { resultId: string; stream: ResultStream } | undefined,
): { payload: JobResultPayload; size: number } | ArcpError {
  if (streamed !== undefined) {
    if (!streamed.stream.finished) {
      return new ArcpError("INTERNAL_ERROR", "The agent returned before closing its result stream");
    }
    // A streamed result is never mixed with an inline one (spec 1.1 §8.4).
    const payload: JobResultPayload = {
      final_status: "success",
      result_id: streamed.resultId,
      result_size: streamed.stream.size,
    };
    if (typeof result === "string") payload.summary = result;
    return { payload, size: 0 };
  }
  const payload: JobResultPayload = { final_status: "success", result: result ?? null };
  const length = encodedMember(payload, "result");
  if (typeof length === "string") {
    return new ArcpError(
      "INTERNAL_ERROR",
      `The agent's result is not JSON-serialisable: ${length}`,
    );
  }
  return { payload, size: length };
}

/** The `job.error` payload of a job ended by `error`. */
export function errorPayload(error: ArcpError): JobErrorPayload {
  return { final_status: finalStatusOf(error.code), ...error.toPayload() };
}

/**
 * The `job.error` payload of a job ended by `error`, with its encoded size.
 * An error whose code or details JSON cannot carry (an agent's own) is
 * replaced by an `INTERNAL_ERROR` saying so.
 */
export function sendableError(error: ArcpError): { payload: JobErrorPayload; size: number } {
  const payload = errorPayload(error);
  const size = encodedLength(payload);
  if (typeof size === "number") return { payload, size };
  return sendableError(
    new ArcpError("INTERNAL_ERROR", `The agent's error is not JSON-serialisable: ${size}`),
  );
}

function finalStatusOf(code: string): Exclude<FinalStatus, "success"> {
  if (code === "CANCELLED") return "cancelled";
  if (code === "TIMEOUT") return "timed_out";
  return "error";
}
