// This module is browser compatible.
// Checks of observation: job listing and subscription within a principal,
// and what a second principal (`token2`) must not see or do
// (spec 1.1 §6.6, §7.6, §14).

import {
  type Check,
  type CheckContext,
  expectSessionError,
  freshKey,
  jobIdOf,
  payloadOf,
  show,
} from "./_context.ts";
import { expect, type Frame, type Wire } from "./_wire.ts";

/** Lists the session's jobs with `filter`; returns the `session.jobs` answer. */
async function listJobs(wire: Wire, filter: Record<string, unknown> = {}): Promise<Frame> {
  const id = wire.send("session.list_jobs", { filter, limit: 100 });
  const answer = await wire.until(
    (f) => f.type === "session.jobs" || f.type === "session.error",
    "session.jobs",
  );
  const jobs = answer.at(-1)!;
  expect(jobs.type === "session.jobs", `session.list_jobs was refused: ${show(jobs)}`);
  const requestId = payloadOf(jobs).request_id;
  expect(requestId === id, `session.jobs names request_id ${requestId}, not ${id}`);
  expect(Array.isArray(payloadOf(jobs).jobs), `session.jobs has no jobs list: ${show(jobs)}`);
  return jobs;
}

/** The listed entry of `jobId`, if any. */
function entry(jobs: Frame, jobId: string): Record<string, unknown> | undefined {
  return (payloadOf(jobs).jobs as Record<string, unknown>[]).find((j) => j.job_id === jobId);
}

/** A running sleep job of the kit's principal, on its own session: its first event has arrived. */
async function runningSleep(ctx: CheckContext): Promise<{ owner: Wire; jobId: string }> {
  ctx.needAgents("sleep");
  const owner = await ctx.session();
  const { jobId } = await ctx.submit(owner, "sleep", { ms: 60_000 });
  await owner.until((f) => f.type === "job.event" && jobIdOf(f) === jobId, "sleep's first event");
  return { owner, jobId };
}

/**
 * Expects `jobId` still running (no end of it before an echo submitted now is
 * accepted), then cancels it from its owner and expects it to end cancelled.
 */
async function cancelOwn(ctx: CheckContext, owner: Wire, jobId: string): Promise<void> {
  ctx.needAgents("echo");
  owner.send("job.submit", { agent: "echo", input: "still running?" });
  const before = await owner.until((f) => f.type === "job.accepted", "job.accepted of echo");
  const ended = before.find((f) =>
    (f.type === "job.error" || f.type === "job.result") && jobIdOf(f) === jobId
  );
  expect(ended === undefined, `the job ended before its owner cancelled it: ${show(ended)}`);
  owner.send("job.cancel", {}, { job_id: jobId });
  const { terminal } = await ctx.finish(owner, jobId);
  expect(
    payloadOf(terminal).final_status === "cancelled",
    `the owner's cancel ended the job with ${show(terminal)}`,
  );
}

export const OBSERVE_CHECKS: Check[] = [
  {
    id: "list.own-jobs",
    section: "1.1 §6.6",
    title: "session.list_jobs lists a finished job with its id, agent and status",
    feature: "list_jobs",
    async run(ctx) {
      ctx.needAgents("echo");
      const wire = await ctx.session();
      const run = await ctx.run(wire, "echo", "listed");
      const listed = entry(await listJobs(wire), run.jobId);
      expect(listed !== undefined, `the session's job ${run.jobId} is not listed`);
      expect(listed.status === "success", `it is listed as ${listed.status}, not success`);
      expect(
        typeof listed.agent === "string",
        `it is listed without agent: ${JSON.stringify(listed)}`,
      );
      expect(
        listed.lease !== null && typeof listed.lease === "object" &&
          typeof listed.created_at === "string",
        `it is listed without lease or created_at: ${JSON.stringify(listed)}`,
      );
    },
  },
  {
    id: "list.status-filter",
    section: "1.1 §6.6",
    title: 'filter status ["running"] lists a running job and not a finished one',
    feature: "list_jobs",
    async run(ctx) {
      ctx.needAgents("echo");
      const { owner, jobId } = await runningSleep(ctx);
      const done = await ctx.run(owner, "echo", "finished");
      const jobs = await listJobs(owner, { status: ["running"] });
      expect(entry(jobs, jobId) !== undefined, `the running job ${jobId} is not listed`);
      expect(entry(jobs, done.jobId) === undefined, `the finished job ${done.jobId} is listed`);
      await cancelOwn(ctx, owner, jobId);
    },
  },
  {
    id: "list.pages",
    section: "1.1 §6.6",
    title: "limit 1 pages the listing with next_cursor, each job once",
    feature: "list_jobs",
    async run(ctx) {
      ctx.needAgents("echo");
      const wire = await ctx.session();
      const ids = [(await ctx.run(wire, "echo", 1)).jobId, (await ctx.run(wire, "echo", 2)).jobId];
      const seen: string[] = [];
      let cursor: unknown = null;
      // A principal with many jobs is paged until both are seen.
      for (let page = 0; page < 1000; page++) {
        const id = wire.send("session.list_jobs", { filter: {}, limit: 1, cursor });
        const jobs = await wire.expect("session.jobs", `page ${page + 1} of ${id}`);
        const listed = payloadOf(jobs).jobs as { job_id: string }[];
        expect(listed.length <= 1, `limit 1 listed ${listed.length} jobs`);
        seen.push(...listed.map((j) => j.job_id));
        cursor = payloadOf(jobs).next_cursor ?? null;
        if (cursor === null || ids.every((jobId) => seen.includes(jobId))) break;
      }
      for (const jobId of ids) {
        expect(
          seen.filter((j) => j === jobId).length === 1,
          `job ${jobId} was listed ${seen.filter((j) => j === jobId).length} times over the pages`,
        );
      }
    },
  },
  {
    id: "subscribe.unknown-job",
    section: "1.1 §7.6, §12",
    title: "job.subscribe to a job that does not exist gets JOB_NOT_FOUND",
    feature: "subscribe",
    async run(ctx) {
      const wire = await ctx.session();
      wire.send("job.subscribe", { job_id: "job_conformance_unknown", history: true });
      expectSessionError(
        await wire.refusal("the subscribe"),
        ["JOB_NOT_FOUND", "PERMISSION_DENIED"],
        "an unknown job",
      );
    },
  },
  {
    id: "subscribe.history",
    section: "1.1 §7.6",
    title: "another session of the principal subscribes with history and sees every event",
    feature: "subscribe",
    async run(ctx) {
      ctx.needAgents("count");
      const owner = await ctx.session();
      const { jobId } = await ctx.submit(owner, "count", { n: 6, delay_ms: 200 });
      await owner.until((f) => f.type === "job.event" && jobIdOf(f) === jobId, "the first event");
      const watcher = await ctx.session();
      watcher.send("job.subscribe", { job_id: jobId, from_event_seq: 0, history: true });
      const subscribed = await watcher.next();
      expect(
        subscribed?.type === "job.subscribed",
        `expected job.subscribed, got ${show(subscribed)}`,
      );
      expect(payloadOf(subscribed).job_id === jobId, `job.subscribed names another job`);
      const descriptor = payloadOf(subscribed);
      expect(
        typeof descriptor.current_status === "string" && descriptor.lease !== null &&
          typeof descriptor.lease === "object",
        `job.subscribed lacks current_status or lease: ${show(subscribed)}`,
      );
      const { events, terminal } = await ctx.finish(watcher, jobId);
      expect(
        terminal.type === "job.result",
        `the subscriber saw the job end with ${show(terminal)}`,
      );
      const seqs = [...events, terminal].map((f) => f.event_seq as number);
      expect(
        seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!),
        `the subscriber's event_seq is not increasing: ${JSON.stringify(seqs)}`,
      );
      if (ctx.target.features.has("progress")) {
        const currents = events.map((e) => (payloadOf(e).body as { current?: unknown })?.current)
          .filter((c) => c !== undefined);
        expect(
          JSON.stringify(currents) === "[1,2,3,4,5,6]",
          `with history the subscriber saw progress ${JSON.stringify(currents)}, not 1..6`,
        );
      }
    },
  },
  {
    id: "subscribe.no-cancel",
    section: "1.1 §7.6, §14",
    title: "a subscriber's job.cancel gets PERMISSION_DENIED; the job goes on",
    feature: "subscribe",
    async run(ctx) {
      const { owner, jobId } = await runningSleep(ctx);
      const watcher = await ctx.session();
      watcher.send("job.subscribe", { job_id: jobId });
      await watcher.expect("job.subscribed", "job.subscribed");
      watcher.send("job.cancel", {}, { job_id: jobId });
      const refusal = await watcher.until(
        (f) => f.type === "session.error" || jobIdOf(f) === jobId && f.type === "job.error",
        "the answer to the subscriber's cancel",
      );
      expectSessionError(refusal.at(-1), ["PERMISSION_DENIED"], "a subscriber's cancel");
      await cancelOwn(ctx, owner, jobId);
    },
  },
  {
    id: "principals.list",
    section: "1.1 §6.6, §14",
    title: "another principal's listing does not show the job",
    feature: "list_jobs",
    async run(ctx) {
      const token2 = ctx.token2;
      const { owner, jobId } = await runningSleep(ctx);
      const other = await ctx.session(token2);
      const listed = entry(await listJobs(other), jobId);
      expect(listed === undefined, `another principal sees ${JSON.stringify(listed)}`);
      await cancelOwn(ctx, owner, jobId);
    },
  },
  {
    id: "principals.subscribe",
    section: "1.1 §7.6, §14",
    title: "another principal's job.subscribe is refused (same principal only by default)",
    feature: "subscribe",
    async run(ctx) {
      const token2 = ctx.token2;
      const { owner, jobId } = await runningSleep(ctx);
      const other = await ctx.session(token2);
      other.send("job.subscribe", { job_id: jobId, history: true });
      expectSessionError(
        await other.refusal("another principal's subscribe"),
        ["PERMISSION_DENIED", "JOB_NOT_FOUND"],
        "another principal's subscribe",
      );
      await cancelOwn(ctx, owner, jobId);
    },
  },
  {
    id: "principals.idempotency",
    section: "1.0 §7.2, 1.1 §6.6",
    title: "another principal's submit with the same idempotency_key starts its own job",
    async run(ctx) {
      ctx.needAgents("echo");
      const token2 = ctx.token2;
      const key = freshKey();
      const mine = await ctx.run(await ctx.session(), "echo", "mine", { idempotency_key: key });
      const other = await ctx.session(token2);
      const theirs = await ctx.run(other, "echo", "theirs", { idempotency_key: key });
      expect(theirs.jobId !== mine.jobId, `another principal got job ${mine.jobId} by its key`);
      const echoed = (payloadOf(theirs.terminal).result as { echoed?: unknown })?.echoed;
      expect(echoed === "theirs", `another principal's job ended with ${show(theirs.terminal)}`);
    },
  },
  {
    id: "principals.cancel",
    section: "1.1 §7.4, §14",
    title: "another principal's job.cancel is refused; the job goes on",
    async run(ctx) {
      const token2 = ctx.token2;
      const { owner, jobId } = await runningSleep(ctx);
      const other = await ctx.session(token2);
      other.send("job.cancel", {}, { job_id: jobId });
      expectSessionError(
        await other.refusal("another principal's cancel"),
        ["PERMISSION_DENIED", "JOB_NOT_FOUND"],
        "another principal's cancel",
      );
      await cancelOwn(ctx, owner, jobId);
    },
  },
];
