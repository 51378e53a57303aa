// This module is browser compatible.
// Checks of resume: both encodings the spec defines (1.0 §6.3's hello with a
// `resume` block, 1.1 §6.3's `session.resume`), the rotated token, a
// caught-up client, and a session that does not exist.

import { type Check, type CheckContext, expectSessionError, payloadOf, show } from "./_context.ts";
import { expect, type Wire } from "./_wire.ts";

/** A session whose transport dropped mid-job, as a client remembers it. */
interface Dropped {
  sessionId: string;
  resumeToken: string;
  lastSeq: number;
  jobId: string;
}

type Encoding = "hello" | "session.resume";

/** Starts a slow count job, reads two of its progress events, then drops the connection. */
async function dropMidJob(ctx: CheckContext): Promise<Dropped> {
  ctx.needAgents("count");
  const wire = await ctx.open();
  const welcome = await ctx.hello(wire);
  const { jobId } = await ctx.submit(wire, "count", { n: 6, delay_ms: 150 });
  let events = 0;
  await wire.until((f) => f.type === "job.event" && ++events === 2, "two events of the job");
  wire.close();
  return {
    sessionId: wire.sessionId!,
    resumeToken: payloadOf(welcome).resume_token as string,
    lastSeq: wire.lastSeq,
    jobId,
  };
}

/** Sends a resume of `dropped` in `encoding` on a new connection. */
async function sendResume(
  ctx: CheckContext,
  dropped: Dropped,
  encoding: Encoding,
  token = dropped.resumeToken,
): Promise<Wire> {
  const wire = await ctx.open();
  const resume = {
    session_id: dropped.sessionId,
    resume_token: token,
    last_event_seq: dropped.lastSeq,
  };
  if (encoding === "hello") {
    wire.send("session.hello", ctx.helloPayload(ctx.target.token, { resume }));
  } else {
    wire.send("session.resume", resume, { session_id: dropped.sessionId });
  }
  return wire;
}

/** Resumes `dropped` and expects the same session, a new token, then a gap-free replay to the end. */
async function resumeAndFinish(ctx: CheckContext, dropped: Dropped, encoding: Encoding) {
  const wire = await sendResume(ctx, dropped, encoding);
  const welcome = await ctx.welcome(wire, `a resume by ${encoding}`);
  expect(
    welcome.session_id === dropped.sessionId,
    `the resumed welcome names session ${welcome.session_id}, not ${dropped.sessionId}`,
  );
  const token = payloadOf(welcome).resume_token;
  expect(
    typeof token === "string" && token !== dropped.resumeToken,
    `the resume token did not rotate (1.1 §6.3): ${show(welcome)}`,
  );
  let expected = dropped.lastSeq + 1;
  const frames = await wire.until(
    (f) => (f.type === "job.result" || f.type === "job.error") && f.job_id === dropped.jobId,
    "the end of the resumed job",
  );
  for (const frame of frames) {
    if (typeof frame.event_seq !== "number") continue;
    expect(
      frame.event_seq === expected,
      `after last_event_seq ${dropped.lastSeq} expected event_seq ${expected}, got ${show(frame)}`,
    );
    expected++;
  }
  const terminal = frames.at(-1)!;
  expect(terminal.type === "job.result", `the resumed job did not succeed: ${show(terminal)}`);
  return { wire, token: token as string };
}

export const RESUME_CHECKS: Check[] = [
  {
    id: "resume.hello-block",
    section: "1.0 §6.3, 1.1 §8.3",
    title: "session.hello with a resume block replays every event after last_event_seq",
    async run(ctx) {
      await resumeAndFinish(ctx, await dropMidJob(ctx), "hello");
    },
  },
  {
    id: "resume.session-resume",
    section: "1.1 §6.3, §8.3",
    title: "session.resume replays every event after last_event_seq",
    async run(ctx) {
      await resumeAndFinish(ctx, await dropMidJob(ctx), "session.resume");
    },
  },
  {
    id: "resume.rotated-token",
    section: "1.1 §6.3",
    title: "once the new token is used, the replaced one is refused; the new one resumes",
    async run(ctx) {
      const dropped = await dropMidJob(ctx);
      const { wire, token } = await resumeAndFinish(ctx, dropped, "hello");
      // Speaking on the new connection shows the client has the new token.
      ctx.needAgents("echo");
      const run = await ctx.run(wire, "echo", "rotated");
      expect(run.terminal.type === "job.result", `echo failed: ${show(run.terminal)}`);
      wire.close();
      const caughtUp = { ...dropped, lastSeq: wire.lastSeq };
      const stale = await sendResume(ctx, caughtUp, "hello");
      expectSessionError(
        await stale.refusal("a resume with the replaced token"),
        ["UNAUTHENTICATED", "RESUME_WINDOW_EXPIRED"],
        "a resume with the replaced token",
      );
      const fresh = await sendResume(ctx, caughtUp, "hello", token);
      await ctx.welcome(fresh, "a resume with the new token");
    },
  },
  {
    id: "resume.caught-up",
    section: "1.0 §6.3",
    title: "a resume at the latest event_seq replays nothing and the session serves",
    async run(ctx) {
      ctx.needAgents("echo");
      const wire = await ctx.open();
      const welcome = await ctx.hello(wire);
      const first = await ctx.run(wire, "echo", "before");
      expect(first.terminal.type === "job.result", `echo failed: ${show(first.terminal)}`);
      wire.close();
      const dropped = {
        sessionId: wire.sessionId!,
        resumeToken: payloadOf(welcome).resume_token as string,
        lastSeq: wire.lastSeq,
        jobId: first.jobId,
      };
      const resumed = await sendResume(ctx, dropped, "hello");
      await ctx.welcome(resumed, "a caught-up resume");
      const id = resumed.send("job.submit", { agent: "echo", input: "after" });
      const next = await resumed.next();
      expect(
        next?.type === "job.accepted" || next?.type === "session.error",
        `a caught-up resume replayed ${show(next)} (the submit was ${id})`,
      );
      expect(next.type === "job.accepted", `echo was refused after resume: ${show(next)}`);
    },
  },
  {
    id: "resume.after-close",
    section: "1.1 §6.7, 1.0 §6.3",
    title: "after session.close the job runs on and a resume replays it to its end",
    async run(ctx) {
      ctx.needAgents("count");
      const wire = await ctx.open();
      const welcome = await ctx.hello(wire);
      const { jobId } = await ctx.submit(wire, "count", { n: 5, delay_ms: 150 });
      await wire.until((f) => f.type === "job.event" && f.job_id === jobId, "the first event");
      wire.send("session.close", {});
      await wire.expect("session.closed", "session.closed");
      wire.close();
      await resumeAndFinish(ctx, {
        sessionId: wire.sessionId!,
        resumeToken: payloadOf(welcome).resume_token as string,
        lastSeq: wire.lastSeq,
        jobId,
      }, "hello");
    },
  },
  {
    id: "resume.unknown-session",
    section: "1.0 §6.3, §12",
    title: "a resume of an unknown session is refused and the transport closes",
    async run(ctx) {
      const dropped = {
        sessionId: "sess_conformance_unknown",
        resumeToken: "rt_conformance_unknown",
        lastSeq: 0,
        jobId: "",
      };
      const wire = await sendResume(ctx, dropped, "hello");
      expectSessionError(
        await wire.refusal("a resume of an unknown session"),
        ["RESUME_WINDOW_EXPIRED", "UNAUTHENTICATED"],
        "an unknown session",
      );
      const after = await wire.next();
      expect(after === undefined, `the transport stayed open after the refusal: ${show(after)}`);
    },
  },
];
