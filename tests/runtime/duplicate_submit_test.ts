// A `job.submit` repeating an envelope id of its session is a retransmission
// (spec 1.0 §5, §7.2): the same job.accepted, no second job; with other
// parameters it is INVALID_REQUEST. Over a real WebSocket, with raw frames.

import assert from "node:assert/strict";
import type { AgentDefinition } from "../../runtime.ts";
import type { Frame } from "../../transports/types.ts";
import { bounded, envelope, type Harness, type RawConnection, startHarness } from "../_helpers.ts";

/** The payload of a frame, as a record. */
function payloadOf(frame: Frame): Record<string, unknown> {
  return frame.payload as Record<string, unknown>;
}

/** Every job the harness's principal has, by id. */
async function jobIds(harness: Harness): Promise<string[]> {
  const { jobs } = await harness.store.listJobs({ principal: "alice", limit: 100 });
  return jobs.map((job) => job.job_id);
}

/** A `job.submit` envelope of the session `raw` holds; send it as often as a test likes. */
function submitFrame(raw: RawConnection, input: unknown, extra: Record<string, unknown> = {}) {
  return envelope("job.submit", { agent: "echo", input, ...extra }, { session_id: raw.sessionId });
}

/** Reads until the job.accepted or session.error answering envelope `id`. */
async function answerTo(raw: RawConnection, id: string): Promise<Frame> {
  const frames = await raw.until((f) =>
    (f.type === "job.accepted" || f.type === "session.error") && payloadOf(f).request_id === id
  );
  return frames.at(-1)!;
}

/** An agent that runs until the test opens its gate. */
function gatedAgent() {
  const gate = Promise.withResolvers<void>();
  const agent: AgentDefinition = {
    name: "gated",
    handler: async () => {
      await gate.promise;
      return "done";
    },
  };
  return { agent, open: () => gate.resolve() };
}

Deno.test(
  "a job.submit repeating an envelope id gets the same job.accepted and starts no second job",
  bounded(async () => {
    await using harness = await startHarness("websocket");
    const raw = await harness.raw();
    await raw.hello();
    const frame = submitFrame(raw, { n: 1 });
    await raw.send(frame);
    const first = await answerTo(raw, frame.id as string);
    assert.equal(first.type, "job.accepted");
    await raw.until((f) => f.type === "job.result" && f.job_id === first.job_id);
    // Again, after the job ended, and once more with the payload's keys in another order.
    await raw.send(frame);
    const second = await answerTo(raw, frame.id as string);
    await raw.send({ ...frame, payload: { input: { n: 1 }, agent: "echo" } });
    const third = await answerTo(raw, frame.id as string);
    for (const again of [second, third]) {
      assert.equal(again.type, "job.accepted");
      assert.equal(again.job_id, first.job_id);
      assert.deepEqual(payloadOf(again), payloadOf(first));
    }
    assert.deepEqual(await jobIds(harness), [first.job_id]);
  }),
);

Deno.test(
  "a job.submit reusing an envelope id with other parameters is INVALID_REQUEST naming the id",
  bounded(async () => {
    await using harness = await startHarness("websocket");
    const raw = await harness.raw();
    await raw.hello();
    const frame = submitFrame(raw, "first");
    await raw.send(frame);
    const accepted = await answerTo(raw, frame.id as string);
    const conflicting = [
      { ...frame, payload: { agent: "echo", input: "second" } },
      { ...frame, payload: { agent: "echo", input: "first", idempotency_key: "k" } },
    ];
    for (const other of conflicting) {
      await raw.send(other);
      const refused = await answerTo(raw, frame.id as string);
      assert.equal(refused.type, "session.error");
      assert.equal(payloadOf(refused).code, "INVALID_REQUEST");
      assert.match(
        payloadOf(refused).message as string,
        new RegExp(`Envelope id "${frame.id}" was already used by another job.submit`),
      );
    }
    assert.deepEqual(await jobIds(harness), [accepted.job_id]);
    // The session goes on: a fresh id starts a job.
    assert.equal((await raw.run("echo", 2)).at(-1)?.type, "job.result");
  }),
);

Deno.test(
  "a job.submit retransmitted after a resume on another connection is answered with the job it started",
  bounded(async () => {
    const gated = gatedAgent();
    await using harness = await startHarness("websocket", { agents: [gated.agent] });
    const first = await harness.raw();
    await first.hello();
    const frame = envelope("job.submit", { agent: "gated", input: null }, {
      session_id: first.sessionId,
    });
    await first.send(frame);
    const accepted = await answerTo(first, frame.id as string);
    // The connection drops; the client is not sure the submit arrived and sends it again.
    await first.close();
    const second = await harness.raw();
    await second.handshake(envelope("session.resume", {
      session_id: first.sessionId,
      resume_token: first.resumeToken,
      last_event_seq: 0,
    }));
    await second.send(frame);
    const again = await answerTo(second, frame.id as string);
    assert.equal(again.type, "job.accepted");
    assert.equal(again.job_id, accepted.job_id);
    gated.open();
    await second.until((f) => f.type === "job.result" && f.job_id === accepted.job_id);
    assert.deepEqual(await jobIds(harness), [accepted.job_id]);
  }),
);

Deno.test(
  "an envelope id older than the last recentSubmitIds submits is no longer recognised",
  bounded(async () => {
    await using harness = await startHarness("websocket", { runtime: { recentSubmitIds: 1 } });
    const raw = await harness.raw();
    await raw.hello();
    const [a, b] = [submitFrame(raw, "a"), submitFrame(raw, "b")];
    const answers: Frame[] = [];
    for (const frame of [a, b, b, a]) {
      await raw.send(frame);
      answers.push(await answerTo(raw, frame.id as string));
    }
    const [firstA, firstB, againB, againA] = answers.map((f) => f.job_id);
    assert.equal(againB, firstB);
    assert.notEqual(againA, firstA);
    assert.equal((await jobIds(harness)).length, 3);
  }),
);
