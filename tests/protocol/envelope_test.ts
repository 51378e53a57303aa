import assert from "node:assert/strict";
import { decodeMessage, encodeMessage } from "../../protocol/envelope.ts";
import { ArcpError } from "../../protocol/errors.ts";

function submit(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    arcp: "1.1",
    id: "msg_1",
    type: "job.submit",
    session_id: "sess_1",
    payload: { agent: "echo", input: { a: 1 } },
    ...fields,
  };
}

/** Asserts that decoding `frame` throws INVALID_REQUEST whose message matches `message`. */
function assertInvalid(frame: unknown, message: RegExp, details?: Record<string, unknown>): void {
  assert.throws(
    () => decodeMessage(frame),
    (error: unknown) => {
      assert.ok(error instanceof ArcpError, String(error));
      assert.equal(error.code, "INVALID_REQUEST");
      assert.match(error.message, message);
      if (details !== undefined) assert.deepEqual(error.details, details);
      return true;
    },
  );
}

Deno.test("decodeMessage() returns a valid envelope as a typed message", () => {
  const message = decodeMessage(submit());
  assert.equal(message?.type, "job.submit");
  if (message?.type !== "job.submit") return;
  assert.equal(message.payload.agent, "echo");
  assert.deepEqual(message.payload.input, { a: 1 });
  assert.equal(message.session_id, "sess_1");
});

Deno.test('decodeMessage() accepts protocol versions "1", "1.1" and later 1.x minors', () => {
  for (const arcp of ["1", "1.1", "1.2", "1.10"]) {
    assert.equal(decodeMessage(submit({ arcp }))?.type, "job.submit", arcp);
  }
});

Deno.test("decodeMessage() rejects other protocol versions, naming the version", () => {
  for (const arcp of ["2", "2.0", "0.9", "1.", "v1", "1.1.0", ""]) {
    assertInvalid(submit({ arcp }), /Unsupported protocol version/, { arcp });
  }
  assertInvalid(submit({ arcp: 1 }), /"arcp" must be a string/);
  const { arcp: _, ...noVersion } = submit();
  assertInvalid(noVersion, /"arcp" must be a string/);
});

Deno.test("decodeMessage() rejects frames that are not JSON objects", () => {
  for (const frame of [null, 42, "text", [1, 2], true, undefined]) {
    assertInvalid(frame, /must be a JSON object/);
  }
});

Deno.test("decodeMessage() requires a non-empty string id and type", () => {
  assertInvalid(submit({ id: undefined }), /"id" must be a non-empty string/);
  assertInvalid(submit({ id: "" }), /"id" must be a non-empty string/);
  assertInvalid(submit({ id: 7 }), /"id" must be a non-empty string/);
  assertInvalid(submit({ type: "" }), /"type" must be a non-empty string/);
  assertInvalid(submit({ type: ["job.submit"] }), /"type" must be a non-empty string/);
});

Deno.test("decodeMessage() rejects mistyped optional envelope fields, naming them", () => {
  for (const field of ["session_id", "trace_id", "job_id"]) {
    assertInvalid(submit({ [field]: 5 }), new RegExp(`"${field}" must be a string`), { field });
  }
  assertInvalid(submit({ event_seq: -1 }), /"event_seq" must be a non-negative integer/);
  assertInvalid(submit({ event_seq: 1.5 }), /"event_seq"/);
  assertInvalid(submit({ event_seq: "3" }), /"event_seq"/);
});

Deno.test("decodeMessage() treats null optional envelope fields as absent", () => {
  const message = decodeMessage(submit({ session_id: null, trace_id: null, event_seq: null }));
  assert.ok(message !== undefined);
  assert.equal("session_id" in message, false);
  assert.equal("trace_id" in message, false);
  assert.equal("event_seq" in message, false);
});

Deno.test("decodeMessage() requires an object payload", () => {
  assertInvalid(submit({ payload: undefined }), /Invalid job\.submit: "payload" must be an object/);
  assertInvalid(submit({ payload: [] }), /"payload" must be an object/);
  assertInvalid(submit({ payload: "x" }), /"payload" must be an object/);
  assertInvalid(submit({ payload: null }), /"payload" must be an object/);
});

Deno.test("decodeMessage() names the payload field that fails its schema", () => {
  assertInvalid(submit({ payload: { agent: 5 } }), /Invalid job\.submit: payload\.agent/, {
    type: "job.submit",
    field: "payload.agent",
  });
  assertInvalid(submit({ payload: {} }), /payload\.agent/);
  assertInvalid(
    submit({ payload: { agent: "echo", max_runtime_sec: -1 } }),
    /payload\.max_runtime_sec/,
  );
  assertInvalid(
    {
      arcp: "1.1",
      id: "m",
      type: "session.hello",
      payload: { client: { name: "c" } },
    },
    /payload\.client\.version/,
  );
  assertInvalid(
    { arcp: "1.1", id: "m", type: "session.ack", payload: { last_processed_seq: -3 } },
    /payload\.last_processed_seq/,
  );
});

Deno.test("decodeMessage() says in English what the failing payload field expected", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["job.submit", { agent: 5 }, "payload.agent: Invalid input: expected string, received number"],
    [
      "job.submit",
      { agent: "a", max_runtime_sec: -1 },
      "payload.max_runtime_sec: Too small: expected number to be >0",
    ],
    [
      "job.submit",
      { agent: "a", idempotency_key: "" },
      "payload.idempotency_key: Too small: expected string to have >=1 characters",
    ],
    [
      "session.ack",
      { last_processed_seq: 1.5 },
      "payload.last_processed_seq: Invalid input: expected int, received number",
    ],
    [
      "session.list_jobs",
      { filter: { status: ["nope"] } },
      'payload.filter.status.0: Invalid option: expected one of "pending"|"running"|"success"|' +
      '"error"|"cancelled"|"timed_out"',
    ],
    [
      "job.result",
      { final_status: "error" },
      'payload.final_status: Invalid input: expected "success"',
    ],
  ];
  for (const [type, payload, message] of cases) {
    assert.throws(() => decodeMessage({ arcp: "1.1", id: "m", type, payload }), {
      message: `Invalid ${type}: ${message}`,
    });
  }
});

Deno.test("decodeMessage() rejects unknown message types, naming the type", () => {
  for (const type of ["session.nope", "job.nope", "tool.invoke", "session.open"]) {
    assertInvalid(submit({ type, payload: {} }), new RegExp(`Unknown message type "${type}"`), {
      type,
    });
  }
});

Deno.test("decodeMessage() returns undefined for vendor x- message types", () => {
  assert.equal(decodeMessage(submit({ type: "x-acme.hint", payload: { anything: 1 } })), undefined);
});

Deno.test("decodeMessage() keeps unknown envelope and payload fields without failing", () => {
  const message = decodeMessage(
    submit({
      extensions: { "x-acme": 1 },
      timestamp: "2026-01-01T00:00:00Z",
      payload: { agent: "echo", x_future: [1] },
    }),
  );
  assert.ok(message?.type === "job.submit");
  assert.deepEqual((message.payload as unknown as Record<string, unknown>).x_future, [1]);
  assert.deepEqual((message as unknown as Record<string, unknown>).extensions, { "x-acme": 1 });
});

Deno.test("decodeMessage() accepts every message type of both spec versions with minimal payloads", () => {
  const payloads: Record<string, unknown> = {
    "session.hello": { client: { name: "c", version: "1" } },
    "session.welcome": {
      runtime: { name: "r", version: "1" },
      resume_token: "rt_x",
      resume_window_sec: 600,
      capabilities: { agents: ["legacy", { name: "echo", versions: ["1.0.0"] }] },
    },
    "session.resume": { resume_token: "rt_x", last_event_seq: 0 },
    "session.error": { code: "INVALID_REQUEST", message: "bad" },
    "session.close": {},
    "session.closed": {},
    "session.bye": { reason: "bye" },
    "session.ping": { nonce: "n" },
    "session.pong": { ping_nonce: "n" },
    "session.ack": { last_processed_seq: 3 },
    "session.list_jobs": {},
    "session.jobs": { jobs: [] },
    "job.submit": { agent: "echo" },
    "job.accepted": { job_id: "job_1" },
    "job.cancel": {},
    "job.cancelled": {},
    "job.event": { kind: "x-acme.k", ts: "2026-01-01T00:00:00Z", body: {} },
    "job.result": { final_status: "success" },
    "job.error": { final_status: "cancelled", code: "CANCELLED", message: "stop" },
    "job.subscribe": { job_id: "job_1" },
    "job.subscribed": { job_id: "job_1" },
    "job.unsubscribe": { job_id: "job_1" },
  };
  for (const [type, payload] of Object.entries(payloads)) {
    assert.equal(decodeMessage({ arcp: "1.1", id: "m", type, payload })?.type, type, type);
  }
});

Deno.test("decodeMessage() rejects a job.result whose final_status is not success", () => {
  assertInvalid(
    { arcp: "1.1", id: "m", type: "job.result", payload: { final_status: "error" } },
    /payload\.final_status/,
  );
});

Deno.test("encodeMessage() builds a 1.1 envelope with a fresh msg_ id", () => {
  const a = encodeMessage("session.ping", { nonce: "n", sent_at: "2026-01-01T00:00:00Z" });
  const b = encodeMessage("session.ping", { nonce: "n", sent_at: "2026-01-01T00:00:00Z" });
  assert.equal(a.arcp, "1.1");
  assert.equal(a.type, "session.ping");
  assert.match(a.id, /^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.notEqual(a.id, b.id);
  assert.ok(a.id < b.id, "ids sort in creation order");
});

Deno.test("encodeMessage() leaves out undefined fields and puts payload last", () => {
  const bare = encodeMessage("job.cancel", {}, { session_id: undefined, job_id: "job_1" });
  assert.deepEqual(Object.keys(bare), ["arcp", "id", "type", "job_id", "payload"]);
  const full = encodeMessage("job.cancel", { reason: "r" }, {
    session_id: "sess_1",
    job_id: "job_1",
    trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
    event_seq: 0,
  });
  assert.deepEqual(Object.keys(full), [
    "arcp",
    "id",
    "type",
    "session_id",
    "job_id",
    "trace_id",
    "event_seq",
    "payload",
  ]);
  assert.equal(full.event_seq, 0);
});

Deno.test("encodeMessage() output decodes back to the same message after JSON", () => {
  const envelope = encodeMessage("job.submit", { agent: "echo@1.0.0", input: [1, "two"] }, {
    session_id: "sess_1",
  });
  const decoded = decodeMessage(JSON.parse(JSON.stringify(envelope)));
  assert.deepEqual(decoded, envelope);
});
