// The runtime's dispatch, derived from the message table: what a client may
// not send is refused with the same errors as before, over a real WebSocket.

import assert from "node:assert/strict";
import { MESSAGES, type MessageType } from "../../protocol/_message_table.ts";
import { bounded, startHarness, TOKEN } from "../_helpers.ts";

/** A payload of every type that passes decoding; the compiler wants one per type. */
const VALID: Record<MessageType, unknown> = {
  "session.hello": { client: { name: "c", version: "1" } },
  "session.welcome": {
    runtime: { name: "r", version: "1" },
    resume_token: "rt_x",
    resume_window_sec: 600,
    capabilities: {},
  },
  "session.resume": { resume_token: "rt_x", last_event_seq: 0 },
  "session.error": { code: "INVALID_REQUEST", message: "bad" },
  "session.close": {},
  "session.closed": {},
  "session.bye": {},
  "session.ping": { nonce: "n", sent_at: "2026-01-01T00:00:00Z" },
  "session.pong": { ping_nonce: "n", received_at: "2026-01-01T00:00:00Z" },
  "session.ack": { last_processed_seq: 0 },
  "session.list_jobs": {},
  "session.jobs": { jobs: [], next_cursor: null },
  "job.submit": { agent: "echo" },
  "job.accepted": { job_id: "job_1", lease: {} },
  "job.cancel": { job_id: "job_1" },
  "job.cancelled": {},
  "job.event": { kind: "log", ts: "2026-01-01T00:00:00Z", body: {} },
  "job.result": { final_status: "success" },
  "job.error": { final_status: "error", code: "INTERNAL_ERROR", message: "x" },
  "job.subscribe": { job_id: "job_1" },
  "job.subscribed": { job_id: "job_1" },
  "job.unsubscribe": { job_id: "job_1" },
};

const entries = Object.entries(MESSAGES) as [MessageType, (typeof MESSAGES)[MessageType]][];

Deno.test(
  "a message that needs a feature not negotiated is refused with INVALID_REQUEST naming it",
  bounded(async () => {
    await using h = await startHarness("websocket");
    const raw = await h.raw();
    await raw.hello(TOKEN, { features: [] });
    const gated = entries.filter(([, spec]) => "feature" in spec);
    assert.deepEqual(gated.map(([type]) => type).sort(), [
      "job.subscribe",
      "job.unsubscribe",
      "session.list_jobs",
    ]);
    for (const [type, spec] of gated) {
      const id = await raw.request(type, VALID[type]);
      const error = await raw.expectError("INVALID_REQUEST");
      assert.equal(error.request_id, id, type);
      assert.equal(
        error.message,
        `"${type}" needs the "${
          (spec as { feature: string }).feature
        }" feature, which was not negotiated`,
      );
    }
    // The session carries on.
    await raw.request("session.ping", VALID["session.ping"]);
    await raw.expect("session.pong");
  }),
);

Deno.test(
  "every message only runtimes send is refused from a client with INVALID_REQUEST",
  bounded(async () => {
    await using h = await startHarness("websocket");
    const raw = await h.raw();
    await raw.hello(TOKEN, { features: ["list_jobs", "subscribe"] });
    const runtimeOnly = entries.filter(([, spec]) => spec.from === "runtime");
    assert.equal(runtimeOnly.length, 10);
    for (const [type] of runtimeOnly) {
      const id = await raw.request(type, VALID[type]);
      const error = await raw.expectError("INVALID_REQUEST");
      assert.equal(error.request_id, id, type);
      assert.equal(error.message, `"${type}" is sent by runtimes, not clients`);
    }
    await raw.request("session.ping", VALID["session.ping"]);
    await raw.expect("session.pong");
  }),
);

Deno.test(
  "a handshake message inside an established session is refused",
  bounded(async () => {
    await using h = await startHarness("websocket");
    const raw = await h.raw();
    await raw.hello(TOKEN);
    for (const type of ["session.hello", "session.resume"] as const) {
      await raw.request(type, VALID[type]);
      const error = await raw.expectError("INVALID_REQUEST");
      assert.match(String(error.message), /is already established/, type);
    }
  }),
);
