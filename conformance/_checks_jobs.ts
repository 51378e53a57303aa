// This module is browser compatible.
// Checks of jobs: acceptance, the four terminal states, events and their
// order, trace ids, agent resolution, idempotency and cancellation
// (spec 1.0 §7, §8, §11; 1.1 §7, §8).

import {
  type Check,
  expectErrorPayload,
  expectSessionError,
  freshKey,
  payloadOf,
  show,
} from "./_context.ts";
import { CheckSkipped, expect, randomHex } from "./_wire.ts";

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const TRACE_ID = /^[0-9a-f]{32}$/;

/** The trace id of a `trace_id` value: bare 32 hex, or the trace-id part of a `traceparent`. */
function traceIdOf(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  return TRACE_ID.test(value) ? value : /^[0-9a-f]{2}-([0-9a-f]{32})-/.exec(value)?.[1];
}

export const JOB_CHECKS: Check[] = [
  {
    id: "jobs.accepted",
    section: "1.1 §7.1, 1.0 §11",
    title: "job.accepted carries job_id, lease, accepted_at and a generated trace_id",
    async run(ctx) {
      ctx.needAgents("echo");
      const wire = await ctx.session();
      const { accepted } = await ctx.submit(wire, "echo", "hello");
      const payload = payloadOf(accepted);
      expect(
        payload.lease !== null && typeof payload.lease === "object",
        `job.accepted has no lease object: ${show(accepted)}`,
      );
      expect(
        typeof payload.accepted_at === "string" && ISO_8601.test(payload.accepted_at),
        `job.accepted has no ISO 8601 accepted_at: ${show(accepted)}`,
      );
      expect(
        traceIdOf(payload.trace_id) !== undefined,
        `a submit without trace_id must get one in job.accepted.payload.trace_id: ${
          show(accepted)
        }`,
      );
    },
  },
  {
    id: "jobs.success",
    section: "1.1 §7.3, 1.0 §8.3",
    title: 'echo ends with job.result final_status "success" and the echoed input',
    async run(ctx) {
      ctx.needAgents("echo");
      const wire = await ctx.session();
      const input = { text: "héllo", list: [1, 2.5, null, true], nested: { a: "b" } };
      const run = await ctx.run(wire, "echo", input);
      const payload = payloadOf(run.terminal);
      expect(run.terminal.type === "job.result", `echo did not succeed: ${show(run.terminal)}`);
      expect(
        payload.final_status === "success",
        `final_status is not success: ${show(run.terminal)}`,
      );
      expect(
        typeof run.terminal.event_seq === "number" && Number.isInteger(run.terminal.event_seq),
        `job.result has no integer event_seq: ${show(run.terminal)}`,
      );
      const result = payload.result as { echoed?: unknown } | undefined;
      expect(
        JSON.stringify(result?.echoed) === JSON.stringify(input),
        `the result's echoed is not the input: ${show(run.terminal)}`,
      );
    },
  },
  {
    id: "jobs.error",
    section: "1.1 §7.3, §12",
    title: 'fail ends with job.error final_status "error", INTERNAL_ERROR, its message',
    async run(ctx) {
      ctx.needAgents("fail");
      const wire = await ctx.session();
      const message = `conformance failure ${randomHex(4)}`;
      const run = await ctx.run(wire, "fail", { message });
      expect(run.terminal.type === "job.error", `fail did not fail: ${show(run.terminal)}`);
      expectErrorPayload(run.terminal, ["INTERNAL_ERROR"], "the job.error of fail");
      const payload = payloadOf(run.terminal);
      expect(payload.final_status === "error", `final_status is not error: ${show(run.terminal)}`);
      expect(
        String(payload.message).includes(message),
        `the job.error does not carry the agent's message: ${show(run.terminal)}`,
      );
    },
  },
  {
    id: "jobs.cancelled",
    section: "1.1 §7.4",
    title: 'job.cancel ends the job with job.error CANCELLED, final_status "cancelled"',
    async run(ctx) {
      ctx.needAgents("sleep");
      const wire = await ctx.session();
      const { jobId } = await ctx.submit(wire, "sleep", { ms: 60_000 });
      wire.send("job.cancel", { reason: "conformance" }, { job_id: jobId });
      const { terminal } = await ctx.finish(wire, jobId);
      expect(terminal.type === "job.error", `the cancelled job ended with ${show(terminal)}`);
      expectErrorPayload(terminal, ["CANCELLED"], "the job.error of a cancelled job");
      const status = payloadOf(terminal).final_status;
      expect(status === "cancelled", `final_status is not cancelled: ${show(terminal)}`);
    },
  },
  {
    id: "jobs.cancelled-ack",
    section: "1.1 §7.4",
    title: "job.cancel is acknowledged with job.cancelled before the terminal job.error",
    async run(ctx) {
      ctx.needAgents("sleep");
      const wire = await ctx.session();
      const { jobId } = await ctx.submit(wire, "sleep", { ms: 60_000 });
      wire.send("job.cancel", {}, { job_id: jobId });
      const frames = await wire.until(
        (f) => (f.type === "job.error" || f.type === "job.result") && f.job_id === jobId,
        "the end of the cancelled job",
      );
      expect(
        frames.some((f) => f.type === "job.cancelled"),
        `no job.cancelled before ${show(frames.at(-1))}`,
      );
    },
  },
  {
    id: "jobs.timed-out",
    section: "1.1 §7.3, §12",
    title: 'max_runtime_sec: 1 on sleep ends it with TIMEOUT, final_status "timed_out"',
    async run(ctx) {
      ctx.needAgents("sleep");
      const wire = await ctx.session();
      const run = await ctx.run(wire, "sleep", { ms: 60_000 }, { max_runtime_sec: 1 });
      expect(run.terminal.type === "job.error", `the job ended with ${show(run.terminal)}`);
      expectErrorPayload(run.terminal, ["TIMEOUT"], "the job.error of a job over its time");
      const status = payloadOf(run.terminal).final_status;
      expect(status === "timed_out", `final_status is not timed_out: ${show(run.terminal)}`);
    },
  },
  {
    id: "events.progress-order",
    section: "1.1 §8.1–§8.3, §8.2.1",
    title: "count's progress events: kind, ts, body, event_seq strictly increasing without gaps",
    feature: "progress",
    async run(ctx) {
      ctx.needAgents("count");
      const wire = await ctx.session();
      const run = await ctx.run(wire, "count", { n: 5 });
      expect(run.terminal.type === "job.result", `count did not succeed: ${show(run.terminal)}`);
      const progress = run.events.filter((e) => payloadOf(e).kind === "progress");
      const currents = progress.map((e) => (payloadOf(e).body as { current?: unknown })?.current);
      expect(
        JSON.stringify(currents) === "[1,2,3,4,5]",
        `expected progress current 1..5, got ${JSON.stringify(currents)}`,
      );
      for (const event of progress) {
        const payload = payloadOf(event);
        expect(typeof payload.ts === "string", `an event has no ts: ${show(event)}`);
        expect((payload.body as { total?: unknown }).total === 5, `total is not 5: ${show(event)}`);
      }
      const seqs = [...run.events, run.terminal].map((f) => f.event_seq);
      for (let i = 1; i < seqs.length; i++) {
        expect(
          seqs[i] === (seqs[i - 1] as number) + 1,
          `event_seq not consecutive in a fresh session: ${JSON.stringify(seqs)}`,
        );
      }
      expect(payloadOf(run.terminal).result !== undefined, `no result: ${show(run.terminal)}`);
    },
  },
  {
    id: "events.session-scoped",
    section: "1.0 §8.3, 1.1 §8.3",
    title: "two jobs of one session share one gap-free event_seq; each job's events stay in order",
    async run(ctx) {
      ctx.needAgents("count");
      const wire = await ctx.session();
      // Both submitted before reading, so no frame of either is passed over.
      for (let i = 0; i < 2; i++) wire.send("job.submit", { agent: "count", input: { n: 4 } });
      const accepted: string[] = [];
      const ended = new Set<unknown>();
      const frames = await wire.until((f) => {
        if (f.type === "job.accepted") accepted.push(payloadOf(f).job_id as string);
        if (f.type === "job.result" || f.type === "job.error") ended.add(f.job_id);
        return accepted.length === 2 && accepted.every((jobId) => ended.has(jobId));
      }, "the end of both jobs");
      const sequenced = frames.filter((f) => typeof f.event_seq === "number");
      sequenced.forEach((frame, i) => {
        const previous = sequenced[i - 1]?.event_seq as number | undefined;
        expect(
          previous === undefined || frame.event_seq === previous + 1,
          `event_seq ${frame.event_seq} follows ${previous} across the two jobs`,
        );
      });
      for (const jobId of accepted) {
        const currents = sequenced
          .filter((f) => f.job_id === jobId && payloadOf(f).kind === "progress")
          .map((f) => (payloadOf(f).body as { current?: unknown })?.current);
        expect(
          !ctx.target.features.has("progress") || JSON.stringify(currents) === "[1,2,3,4]",
          `job ${jobId}'s progress arrived as ${JSON.stringify(currents)}`,
        );
      }
    },
  },
  {
    id: "trace.echoed",
    section: "1.0 §11, 1.1 §11",
    title: "a submitted trace_id is kept on job.accepted and the job's events",
    async run(ctx) {
      ctx.needAgents("echo");
      const wire = await ctx.session();
      const traceId = randomHex(16);
      const id = wire.send("job.submit", { agent: "echo", input: 1 }, { trace_id: traceId });
      const accepted = await wire.expect("job.accepted", `job.accepted of ${id}`);
      const jobId = payloadOf(accepted).job_id as string;
      const payloadTrace = traceIdOf(payloadOf(accepted).trace_id ?? accepted.trace_id);
      expect(payloadTrace === traceId, `job.accepted names trace ${payloadTrace}, not ${traceId}`);
      const { terminal } = await ctx.finish(wire, jobId);
      const terminalTrace = traceIdOf(terminal.trace_id);
      expect(
        terminal.trace_id === undefined || terminalTrace === traceId,
        `the job's terminal frame names another trace: ${show(terminal)}`,
      );
    },
  },
  {
    id: "agents.unknown",
    section: "1.1 §12",
    title: "a submit to an agent the target lacks gets AGENT_NOT_AVAILABLE",
    async run(ctx) {
      const wire = await ctx.session();
      wire.send("job.submit", { agent: `no-such-agent-${randomHex(4)}`, input: null });
      expectSessionError(await wire.refusal("an unknown agent"), ["AGENT_NOT_AVAILABLE"], "it");
    },
  },
  {
    id: "agents.unknown-version",
    section: "1.1 §7.5",
    title: "echo@<a version it lacks> gets AGENT_VERSION_NOT_AVAILABLE",
    feature: "agent_versions",
    async run(ctx) {
      ctx.needAgents("echo");
      const wire = await ctx.session();
      wire.send("job.submit", { agent: "echo@999.999.999-conformance", input: null });
      expectSessionError(
        await wire.refusal("an unknown version"),
        ["AGENT_VERSION_NOT_AVAILABLE"],
        "echo@999.999.999-conformance",
      );
    },
  },
  {
    id: "agents.versions",
    section: "1.1 §7.5",
    title: "name@version runs that version; a bare name runs the advertised default",
    feature: "agent_versions",
    async run(ctx) {
      ctx.needAgents("echo");
      const { versions, default: preferred } = ctx.target.agents.get("echo")!;
      if (versions.length === 0) throw new CheckSkipped("echo advertises no versions");
      const wire = await ctx.session();
      for (const version of versions) {
        const { accepted } = await ctx.submit(wire, `echo@${version}`, null);
        const agent = payloadOf(accepted).agent;
        expect(
          agent === undefined || agent === `echo@${version}`,
          `echo@${version} was accepted as ${agent}`,
        );
      }
      if (preferred !== undefined) {
        const { accepted } = await ctx.submit(wire, "echo", null);
        const agent = payloadOf(accepted).agent;
        expect(
          agent === undefined || agent === `echo@${preferred}`,
          `a bare "echo" resolved to ${agent}, not the default ${preferred}`,
        );
      }
    },
  },
  {
    id: "idempotency.same-key",
    section: "1.1 §7.2",
    title: "a repeated idempotency_key with identical parameters returns the same job",
    async run(ctx) {
      ctx.needAgents("sleep");
      const wire = await ctx.session();
      const key = freshKey();
      const first = await ctx.submit(wire, "sleep", { ms: 60_000 }, { idempotency_key: key });
      const again = await ctx.submit(wire, "sleep", { ms: 60_000 }, { idempotency_key: key });
      expect(again.jobId === first.jobId, `the same key started ${again.jobId} and ${first.jobId}`);
      wire.send("job.cancel", {}, { job_id: first.jobId });
      await ctx.finish(wire, first.jobId);
    },
  },
  {
    id: "idempotency.conflict",
    section: "1.1 §7.2, §12",
    title: "a repeated idempotency_key with other parameters gets DUPLICATE_KEY",
    async run(ctx) {
      ctx.needAgents("echo");
      const wire = await ctx.session();
      const key = freshKey();
      await ctx.run(wire, "echo", "first", { idempotency_key: key });
      wire.send("job.submit", { agent: "echo", input: "different", idempotency_key: key });
      expectSessionError(await wire.refusal("a conflicting key"), ["DUPLICATE_KEY"], "the key");
    },
  },
  {
    id: "idempotency.finished",
    section: "1.0 §7.2",
    title: "another session of the principal reusing a finished job's key gets it and its end",
    async run(ctx) {
      ctx.needAgents("echo");
      const key = freshKey();
      const first = await ctx.run(await ctx.session(), "echo", "once", { idempotency_key: key });
      const wire = await ctx.session();
      const again = await ctx.submit(wire, "echo", "once", { idempotency_key: key });
      expect(again.jobId === first.jobId, `the key started a second job ${again.jobId}`);
      const { terminal } = await ctx.finish(wire, first.jobId);
      expect(terminal.type === "job.result", `the replayed end is ${show(terminal)}`);
    },
  },
  {
    id: "cancel.unknown-job",
    section: "1.1 §12",
    title: "job.cancel of a job that does not exist gets JOB_NOT_FOUND",
    async run(ctx) {
      const wire = await ctx.session();
      wire.send("job.cancel", {}, { job_id: `job_conformance_${randomHex(8)}` });
      expectSessionError(await wire.refusal("the cancel"), ["JOB_NOT_FOUND"], "an unknown job");
    },
  },
];
