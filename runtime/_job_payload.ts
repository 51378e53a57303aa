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

/** The encoded length of `value`, or why it cannot be sent as JSON (a BigInt, a cycle). */
export function encodedLength(value: unknown): number | string {
  try {
    return JSON.stringify(value)?.length ?? 4;
  } catch (error) {
    return (error as Error).message;
  }
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
  const length = encodedLength(result);
  if (typeof length === "string") {
    return new ArcpError(
      "INTERNAL_ERROR",
      `The agent's result is not JSON-serialisable: ${length}`,
    );
  }
  return { payload: { final_status: "success", result: result ?? null }, size: length };
}

/** The `job.error` payload of a job ended by `error`. */
export function errorPayload(error: ArcpError): JobErrorPayload {
  return { final_status: finalStatusOf(error.code), ...error.toPayload() };
}

function finalStatusOf(code: string): Exclude<FinalStatus, "success"> {
  if (code === "CANCELLED") return "cancelled";
  if (code === "TIMEOUT") return "timed_out";
  return "error";
}
