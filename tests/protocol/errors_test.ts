import assert from "node:assert/strict";
import {
  ArcpError,
  ConnectionClosedError,
  ERROR_CODES,
  isErrorCode,
  retryableFor,
} from "../../protocol/errors.ts";

// Spec 1.1 §12, in table order.
const SPEC_CODES = [
  "PERMISSION_DENIED",
  "LEASE_SUBSET_VIOLATION",
  "JOB_NOT_FOUND",
  "DUPLICATE_KEY",
  "AGENT_NOT_AVAILABLE",
  "AGENT_VERSION_NOT_AVAILABLE",
  "CANCELLED",
  "TIMEOUT",
  "RESUME_WINDOW_EXPIRED",
  "HEARTBEAT_LOST",
  "LEASE_EXPIRED",
  "BUDGET_EXHAUSTED",
  "INVALID_REQUEST",
  "UNAUTHENTICATED",
  "INTERNAL_ERROR",
];

Deno.test("ERROR_CODES lists exactly the fifteen codes of spec §12", () => {
  assert.deepEqual([...ERROR_CODES], SPEC_CODES);
});

Deno.test("isErrorCode() accepts canonical codes and rejects anything else", () => {
  for (const code of SPEC_CODES) assert.equal(isErrorCode(code), true, code);
  for (const value of ["INTERNAL", "timeout", "", "x-acme.FAILED", 1, null, undefined, {}]) {
    assert.equal(isErrorCode(value), false, String(value));
  }
});

Deno.test("retryableFor() makes LEASE_EXPIRED and BUDGET_EXHAUSTED never retryable", () => {
  for (const code of ["LEASE_EXPIRED", "BUDGET_EXHAUSTED"]) {
    assert.equal(retryableFor(code), false);
    assert.equal(retryableFor(code, true), false);
  }
});

Deno.test("retryableFor() makes INTERNAL_ERROR always retryable", () => {
  assert.equal(retryableFor("INTERNAL_ERROR"), true);
  assert.equal(retryableFor("INTERNAL_ERROR", false), true);
});

Deno.test("retryableFor() keeps what was asked for other codes, defaulting to HEARTBEAT_LOST only", () => {
  assert.equal(retryableFor("HEARTBEAT_LOST"), true);
  assert.equal(retryableFor("HEARTBEAT_LOST", false), false);
  assert.equal(retryableFor("TIMEOUT"), false);
  assert.equal(retryableFor("TIMEOUT", true), true);
  assert.equal(retryableFor("x-acme.BUSY"), false);
  assert.equal(retryableFor("x-acme.BUSY", true), true);
});

Deno.test("new ArcpError() applies the §12 retryability rules over the requested value", () => {
  assert.equal(
    new ArcpError("BUDGET_EXHAUSTED", "Out of USD", { retryable: true }).retryable,
    false,
  );
  assert.equal(new ArcpError("INTERNAL_ERROR", "Crashed", { retryable: false }).retryable, true);
  assert.equal(new ArcpError("PERMISSION_DENIED", "No").retryable, false);
});

Deno.test("ArcpError is an Error with name, code, message, details and cause", () => {
  const cause = new TypeError("underlying");
  const error = new ArcpError("PERMISSION_DENIED", "Cannot write /etc", {
    details: { path: "/etc" },
    cause,
  });
  assert.ok(error instanceof Error);
  assert.equal(error.name, "ArcpError");
  assert.equal(error.code, "PERMISSION_DENIED");
  assert.equal(error.message, "Cannot write /etc");
  assert.deepEqual(error.details, { path: "/etc" });
  assert.equal(error.cause, cause);
  assert.equal(new ArcpError("TIMEOUT", "Slow").cause, undefined);
});

Deno.test("toPayload() is the wire form: code, message, retryable, details, never the cause", () => {
  const error = new ArcpError("TIMEOUT", "Job exceeded 5s", {
    details: { limit: 5 },
    cause: new Error("local only"),
  });
  assert.deepEqual(error.toPayload(), {
    code: "TIMEOUT",
    message: "Job exceeded 5s",
    retryable: false,
    details: { limit: 5 },
  });
  assert.deepEqual(new ArcpError("CANCELLED", "Stop").toPayload(), {
    code: "CANCELLED",
    message: "Stop",
    retryable: false,
  });
  // The payload survives JSON as is.
  const payload = error.toPayload();
  assert.deepEqual(JSON.parse(JSON.stringify(payload)), payload);
});

Deno.test("fromPayload() round-trips toPayload()", () => {
  const original = new ArcpError("AGENT_VERSION_NOT_AVAILABLE", "No echo@9", {
    details: { agent: "echo@9" },
  });
  const copy = ArcpError.fromPayload(original.toPayload());
  assert.equal(copy.code, original.code);
  assert.equal(copy.message, original.message);
  assert.equal(copy.retryable, original.retryable);
  assert.deepEqual(copy.details, original.details);
});

Deno.test("fromPayload() is lenient with missing or malformed fields", () => {
  const noMessage = ArcpError.fromPayload({ code: "TIMEOUT" });
  assert.equal(noMessage.message, "TIMEOUT");
  assert.equal(noMessage.retryable, false);
  assert.equal(
    ArcpError.fromPayload(JSON.parse('{"code":42,"message":"odd"}')).code,
    "INTERNAL_ERROR",
  );
  assert.equal(ArcpError.fromPayload({}).code, "INTERNAL_ERROR");
  const nullDetails = ArcpError.fromPayload(
    JSON.parse('{"code":"CANCELLED","message":"x","details":null}'),
  );
  assert.equal(nullDetails.details, undefined);
  // Vendor codes are kept as strings.
  assert.equal(ArcpError.fromPayload({ code: "x-acme.QUOTA", message: "q" }).code, "x-acme.QUOTA");
});

Deno.test("fromPayload() applies §12 even when the peer sent otherwise", () => {
  const expired = ArcpError.fromPayload({
    code: "LEASE_EXPIRED",
    message: "Expired",
    retryable: true,
  });
  assert.equal(expired.retryable, false);
  const internal = ArcpError.fromPayload({
    code: "INTERNAL_ERROR",
    message: "Crash",
    retryable: false,
  });
  assert.equal(internal.retryable, true);
});

Deno.test("ArcpError.from() returns ArcpErrors as is and wraps anything else as INTERNAL_ERROR", () => {
  const arcp = new ArcpError("CANCELLED", "Stop");
  assert.equal(ArcpError.from(arcp), arcp);

  const plain = new RangeError("out of range");
  const wrapped = ArcpError.from(plain);
  assert.equal(wrapped.code, "INTERNAL_ERROR");
  assert.equal(wrapped.message, "out of range");
  assert.equal(wrapped.cause, plain);
  assert.equal(wrapped.retryable, true);

  assert.equal(ArcpError.from(new Error("")).message, "Error");
  const thrownString = ArcpError.from("just a string");
  assert.equal(thrownString.code, "INTERNAL_ERROR");
  assert.equal(thrownString.message, "just a string");
  assert.equal(thrownString.cause, "just a string");
});

Deno.test("ConnectionClosedError is a local Error with its own name and a default message", () => {
  const error = new ConnectionClosedError();
  assert.ok(error instanceof Error);
  assert.ok(!(error instanceof ArcpError));
  assert.equal(error.name, "ConnectionClosedError");
  assert.equal(error.message, "The connection is closed");
  const cause = new Error("socket reset");
  const withCause = new ConnectionClosedError("Cannot submit: the connection is closed", { cause });
  assert.equal(withCause.message, "Cannot submit: the connection is closed");
  assert.equal(withCause.cause, cause);
});
