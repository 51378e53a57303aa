import assert from "node:assert/strict";
import { ArcpError } from "../../protocol/errors.ts";
import { parseTraceId } from "../../protocol/trace.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

Deno.test("parseTraceId() accepts a bare 32-hex trace-id (1.0 §11)", () => {
  assert.equal(parseTraceId(TRACE_ID), TRACE_ID);
});

Deno.test("parseTraceId() extracts the trace-id from a W3C traceparent (1.1 §11)", () => {
  assert.equal(parseTraceId(`00-${TRACE_ID}-00f067aa0ba902b7-01`), TRACE_ID);
});

Deno.test("parseTraceId() lower-cases upper-case hex", () => {
  assert.equal(parseTraceId(TRACE_ID.toUpperCase()), TRACE_ID);
});

Deno.test("parseTraceId() rejects malformed and all-zero trace-ids with INVALID_REQUEST", () => {
  for (
    const value of [
      "",
      "abc",
      TRACE_ID.slice(1),
      `${TRACE_ID}0`,
      "g".repeat(32),
      "0".repeat(32),
      `00-${"0".repeat(32)}-00f067aa0ba902b7-01`,
      `00-${TRACE_ID}-00f067aa0ba902b7`,
    ]
  ) {
    assert.throws(() => parseTraceId(value), (error: unknown) => {
      assert.ok(error instanceof ArcpError, value);
      assert.equal(error.code, "INVALID_REQUEST");
      assert.deepEqual(error.details, { field: "trace_id" });
      return true;
    });
  }
});
