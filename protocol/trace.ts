// This module is browser compatible.
/**
 * W3C Trace Context handling for the envelope's `trace_id` (spec §11).
 *
 * @module
 */

import { ArcpError } from "./errors.ts";

const TRACE_ID = /^[0-9a-f]{32}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;
const ZERO_TRACE = "0".repeat(32);

/**
 * Extracts the 32-hex trace-id from a `trace_id` field, which peers send
 * either bare (1.0 §11) or as a full `traceparent` (1.1 §11). Upper-case hex
 * is accepted and lower-cased.
 *
 * @param value The envelope's `trace_id`.
 * @returns The lowercase 32-hex trace-id.
 * @throws {ArcpError} `INVALID_REQUEST` when it is neither form, or all zeros.
 * @example
 * ```ts
 * import { parseTraceId } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const id = "4bf92f3577b34da6a3ce929d0e0e4736";
 * assert.equal(parseTraceId(id), id);
 * assert.equal(parseTraceId(`00-${id}-00f067aa0ba902b7-01`), id);
 * ```
 */
export function parseTraceId(value: string): string {
  const lower = value.toLowerCase();
  const traceId = TRACE_ID.test(lower) ? lower : TRACEPARENT.exec(lower)?.[1];
  if (traceId === undefined || traceId === ZERO_TRACE) {
    throw new ArcpError(
      "INVALID_REQUEST",
      `Invalid trace_id "${value}": expected 32 hex digits or a W3C traceparent`,
      { details: { field: "trace_id" } },
    );
  }
  return traceId;
}
