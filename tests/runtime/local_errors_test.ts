// Local errors stay local, over a real WebSocket on 127.0.0.1: an exception
// that is not an ArcpError reaches the client as INTERNAL_ERROR with a
// generic message and an id, never its own message; the runtime's logger
// gets the same id with the cause, stack included.

import assert from "node:assert/strict";
import type { AgentDefinition } from "../../runtime.ts";
import type { JobQuery, JobRecord } from "../../store/types.ts";
import { bounded, RecordingStore, startHarness } from "../_helpers.ts";
import { payloadOf } from "../scenarios/_shared.ts";

const SECRET = "postgres://admin:hunter2@db.internal/arcp";

/** A logger that keeps what `error` was told. */
function recordingLogger() {
  const errors: unknown[][] = [];
  return {
    errors,
    logger: { debug() {}, warn() {}, error: (...args: unknown[]) => void errors.push(args) },
  };
}

/** The error id a generic message names; fails on any other message. */
function errorIdOf(payload: Record<string, unknown>): string {
  const message = String(payload.message);
  const match = /^Internal error \((err_[0-9A-Za-z]+)\)$/.exec(message);
  assert.ok(match, `expected a generic message, got ${JSON.stringify(payload)}`);
  assert.deepEqual(payload.details, { error_id: match[1] });
  return match[1]!;
}

/** The log line naming `errorId`, which must carry the cause with its stack. */
function assertLogged(errors: unknown[][], errorId: string, cause: string): void {
  const line = errors.find((args) => String(args[0]).includes(errorId));
  assert.ok(line, `no log line names ${errorId}: ${JSON.stringify(errors)}`);
  const logged = line[1];
  assert.ok(logged instanceof Error, `the cause is logged: ${String(logged)}`);
  assert.match(logged.message, new RegExp(cause));
  assert.ok(logged.stack?.includes(logged.message), "the cause is logged with its stack");
}

class ListFailingStore extends RecordingStore {
  override listJobs(_query: JobQuery): Promise<{ jobs: JobRecord[]; more: boolean }> {
    return Promise.reject(new TypeError(`cannot reach ${SECRET}`));
  }
}

Deno.test(
  "a store throwing a TypeError yields INTERNAL_ERROR with an id, not its message; the log has the id and the cause",
  bounded(async () => {
    const { errors, logger } = recordingLogger();
    await using h = await startHarness("websocket", {
      store: new ListFailingStore(),
      runtime: { logger },
    });
    const raw = await h.raw();
    await raw.hello(undefined, { features: ["list_jobs"] });
    const id = await raw.request("session.list_jobs", {});
    const frame = await raw.expect("session.error");
    const payload = payloadOf(frame);
    assert.equal(payload.code, "INTERNAL_ERROR");
    assert.equal(payload.retryable, true);
    assert.equal(payload.request_id, id);
    assert.ok(!JSON.stringify(frame).includes("hunter2"), JSON.stringify(frame));
    assertLogged(errors, errorIdOf(payload), "hunter2");
    // The session goes on.
    assert.equal(payloadOf((await raw.run("echo", 1)).at(-1)!).final_status, "success");
  }),
);

class NoChildrenStore extends RecordingStore {
  override putJob(record: JobRecord): Promise<void> {
    if (record.parent_job_id) return Promise.reject(new Error(`disk full at ${SECRET}`));
    return super.putJob(record);
  }
}

Deno.test(
  "a delegation failing locally shows the wire a generic tool_result error with an id; the agent and the log see the cause",
  bounded(async () => {
    const { errors, logger } = recordingLogger();
    const parent: AgentDefinition = {
      name: "parent",
      handler: (_input, ctx) =>
        ctx.delegate("echo", {}, {}).then(() => "delegated", (error: Error) => error.message),
    };
    await using h = await startHarness("websocket", {
      store: new NoChildrenStore(),
      agents: [parent],
      runtime: { logger },
    });
    const raw = await h.raw();
    await raw.hello();
    await raw.submit("parent", null, { lease_request: { "agent.delegate": ["echo"] } });
    const frames = await raw.until((frame) => frame.type === "job.result");
    // The agent runs here: it sees the cause.
    assert.match(String(payloadOf(frames.at(-1)!).result), /disk full/);
    const refusal = frames.map((frame) => payloadOf(frame).body as Record<string, unknown>)
      .find((body) => body?.error !== undefined);
    assert.ok(refusal, JSON.stringify(frames));
    const error = refusal.error as Record<string, unknown>;
    assert.equal(error.code, "INTERNAL_ERROR");
    assert.ok(!JSON.stringify(frames.slice(0, -1)).includes("hunter2"), JSON.stringify(frames));
    assertLogged(errors, errorIdOf(error), "hunter2");
  }),
);
