// What one principal may hold (spec 1.1 §14 "Heartbeat amplification"), over
// real WebSockets on 127.0.0.1: connected sessions, running jobs, and
// sessions that carry nothing.

import assert from "node:assert/strict";
import type { AgentDefinition } from "../../runtime.ts";
import { bounded, eventually, helloFrame, startHarness } from "../_helpers.ts";
import { assertSessionWorks, gatedAgent, payloadOf } from "../scenarios/_shared.ts";
import { RESUME_ENCODINGS } from "../scenarios/resume.ts";
import { TestClock } from "../_clock.ts";

Deno.test(
  "past maxSessionsPerPrincipal a hello or a resume is refused naming the cap; other principals are not",
  bounded(async () => {
    await using h = await startHarness("websocket", { runtime: { maxSessionsPerPrincipal: 2 } });
    const first = await h.raw();
    await first.hello();
    const second = await h.raw();
    await second.hello();
    const third = await h.raw();
    const hello = helloFrame();
    await third.send(hello);
    const error = await third.expectError("INTERNAL_ERROR");
    assert.equal(error.request_id, hello.id);
    assert.match(String(error.message), /"alice": maxSessionsPerPrincipal is 2/);
    const bob = await h.raw();
    await bob.hello("t-bob");

    // A dropped session may not come back while the principal is at the cap.
    await first.close();
    const replacement = await h.raw();
    await replacement.hello();
    const resume = RESUME_ENCODINGS["session.resume"]({
      sessionId: first.sessionId!,
      token: first.resumeToken!,
      lastEventSeq: 0,
    });
    await third.send(resume);
    assert.match(
      String((await third.expectError("INTERNAL_ERROR")).message),
      /maxSessionsPerPrincipal is 2/,
    );
    // Once a slot frees, the refused session resumes with the token it had.
    await replacement.close();
    await eventually(async () => {
      const again = await h.raw();
      await again.send(resume);
      const answer = await again.next();
      if (answer?.type !== "session.welcome") return false;
      assert.equal(answer.session_id, first.sessionId);
      again.sessionId = first.sessionId;
      await assertSessionWorks(again);
      return true;
    }, "a session slot to free up");
  }),
);

Deno.test(
  "past maxRunningJobsPerPrincipal a submit is refused with INTERNAL_ERROR naming the cap",
  bounded(async () => {
    const gated = gatedAgent("gated");
    await using h = await startHarness("websocket", {
      agents: [gated.definition],
      runtime: { maxRunningJobsPerPrincipal: 1 },
    });
    const raw = await h.raw();
    await raw.hello();
    await raw.submit("gated");
    const jobId = (await raw.expect("job.accepted")).job_id;
    await gated.started.promise;
    const refusedId = await raw.submit("echo", { n: 2 });
    const error = await raw.until((frame) => frame.type === "session.error");
    const payload = payloadOf(error.at(-1)!);
    assert.equal(payload.code, "INTERNAL_ERROR");
    assert.equal(payload.retryable, true);
    assert.equal(payload.request_id, refusedId);
    assert.match(String(payload.message), /"alice": maxRunningJobsPerPrincipal is 1/);
    // Another principal is not affected.
    const bob = await h.raw();
    await bob.hello("t-bob");
    await assertSessionWorks(bob);
    // Once the job ends, the slot is free again.
    gated.release.resolve();
    await raw.until((frame) => frame.type === "job.result" && frame.job_id === jobId);
    await assertSessionWorks(raw);
  }),
);

Deno.test(
  "a session with no request, job or subscription for idleSessionSec is disconnected; pings do not count",
  bounded(async () => {
    const gated = gatedAgent("gated");
    const clock = new TestClock();
    await using h = await startHarness("websocket", {
      agents: [gated.definition],
      runtime: { idleSessionSec: 0.3, clock },
    });
    const idle = await h.raw();
    const welcome = await idle.hello();
    // A ping every 50 ms of the clock, until the runtime gives up on the session.
    const ending = idle.until((frame) => frame.type === "session.error");
    let ended = false;
    void ending.finally(() => ended = true).catch(() => {});
    for (let pings = 0; pings < 40 && !ended; pings++) {
      await idle.request("session.ping", { nonce: "p", sent_at: new Date().toISOString() })
        .catch(() => {});
      await clock.advance(50);
    }
    const frames = await ending;
    const payload = payloadOf(frames.at(-1)!);
    assert.equal(payload.code, "INTERNAL_ERROR");
    assert.match(String(payload.message), /idleSessionSec is 0.3/);
    await idle.ended();
    // The session itself stays resumable.
    const back = await h.raw();
    await back.handshake(RESUME_ENCODINGS["session.resume"]({
      sessionId: welcome.session_id as string,
      token: idle.resumeToken!,
      lastEventSeq: 0,
    }));

    // A session with a running job is never idle, however quiet the job.
    const busy = await h.raw();
    await busy.hello();
    await busy.submit("gated");
    const jobId = (await busy.expect("job.accepted")).job_id;
    await gated.started.promise;
    await clock.advance(1_000);
    gated.release.resolve();
    const done = await busy.until((frame) => frame.type === "job.result" && frame.job_id === jobId);
    assert.ok(done.every((frame) => frame.type !== "session.error"), JSON.stringify(done));
  }),
);

Deno.test(
  "a delegation past maxRunningJobsPerPrincipal fails the agent's call and carves nothing from its budget",
  bounded(async () => {
    const parent: AgentDefinition = {
      name: "parent",
      async handler(_input, ctx) {
        const before = ctx.budget;
        const refusal = await ctx.delegate("echo", {}, {
          leaseRequest: { "cost.budget": ["USD:0.50"] },
        })
          .then(() => "delegated", (error: Error) => error.message);
        return { before, after: ctx.budget, refusal };
      },
    };
    await using h = await startHarness("websocket", {
      agents: [parent],
      runtime: { maxRunningJobsPerPrincipal: 1 },
    });
    const raw = await h.raw();
    await raw.hello();
    await raw.submit("parent", null, {
      lease_request: { "agent.delegate": ["echo"], "cost.budget": ["USD:2.00"] },
    });
    const frames = await raw.until((frame) =>
      frame.type === "job.result" || frame.type === "job.error"
    );
    const result = payloadOf(frames.at(-1)!).result as Record<string, unknown>;
    assert.match(String(result.refusal), /maxRunningJobsPerPrincipal is 1/);
    assert.deepEqual(result.after, result.before);
  }),
);
