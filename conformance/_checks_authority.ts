// This module is browser compatible.
// Checks of what a black box sees of authority and large results: the
// effective lease, lease expiry at submission, budget counters, denials,
// delegation subsets (spec 1.0 §7.1, §9, §10; 1.1 §9) and result chunks
// (1.1 §8.4). Checks that need an optional agent skip without it.

import {
  type Check,
  expectErrorPayload,
  expectSessionError,
  type JobRun,
  payloadOf,
  show,
} from "./_context.ts";
import { CheckFailure, expect } from "./_wire.ts";

/**
 * Expects `code` as the error of a `tool_result` event of the job or as its
 * terminal `job.error` (the spec allows either form for lease failures).
 */
function expectAuthorityError(run: JobRun, code: string): void {
  for (const event of run.events) {
    const payload = payloadOf(event);
    const error = (payload.body as { error?: unknown } | undefined)?.error;
    if (payload.kind !== "tool_result" || error === null || typeof error !== "object") continue;
    if ((error as { code?: unknown }).code !== code) continue;
    expectErrorPayload({ payload: error }, [code], `the tool_result error`);
    return;
  }
  if (run.terminal.type === "job.error" && payloadOf(run.terminal).code === code) {
    expectErrorPayload(run.terminal, [code], "the job.error");
    expect(
      payloadOf(run.terminal).final_status === "error",
      `${code} must end the job with final_status "error": ${show(run.terminal)}`,
    );
    return;
  }
  throw new CheckFailure(
    `expected ${code} as a tool_result error or the job.error, the job ended with ${
      show(run.terminal)
    }`,
  );
}

/** An ISO 8601 UTC time `ms` from now, without milliseconds. */
function isoIn(ms: number): string {
  return new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export const AUTHORITY_CHECKS: Check[] = [
  {
    id: "lease.not-expanded",
    section: "1.0 §7.1, 1.1 §9.1",
    title: "job.accepted's lease is the requested lease or a subset, never more",
    async run(ctx) {
      ctx.needAgents("echo");
      const wire = await ctx.session();
      const requested = { "tool.call": ["conformance.noop"] };
      const { accepted } = await ctx.submit(wire, "echo", null, { lease_request: requested });
      const lease = payloadOf(accepted).lease as Record<string, unknown> | undefined;
      expect(lease !== undefined && typeof lease === "object", `no lease: ${show(accepted)}`);
      for (const [capability, patterns] of Object.entries(lease)) {
        const allowed = (requested as Record<string, string[]>)[capability] ?? [];
        expect(
          Array.isArray(patterns) && patterns.every((p) => allowed.includes(p)),
          `the effective lease grants ${capability} ${JSON.stringify(patterns)} beyond the request`,
        );
      }
    },
  },
  {
    id: "lease.expires-at",
    section: "1.1 §9.5",
    title: "a future expires_at is echoed; a past or non-UTC one gets INVALID_REQUEST",
    feature: "lease_expires_at",
    async run(ctx) {
      ctx.needAgents("echo");
      const wire = await ctx.session();
      const expiresAt = isoIn(3_600_000);
      const { accepted } = await ctx.submit(wire, "echo", null, {
        lease_constraints: { expires_at: expiresAt },
      });
      const echoed = (payloadOf(accepted).lease_constraints as { expires_at?: unknown })
        ?.expires_at;
      expect(
        typeof echoed === "string" && Date.parse(echoed) === Date.parse(expiresAt),
        `job.accepted does not echo expires_at ${expiresAt}: ${show(accepted)}`,
      );
      for (const bad of [isoIn(-3_600_000), expiresAt.replace("Z", "+01:00")]) {
        wire.send("job.submit", {
          agent: "echo",
          input: null,
          lease_constraints: { expires_at: bad },
        });
        expectSessionError(
          await wire.refusal(`expires_at ${bad}`),
          ["INVALID_REQUEST"],
          `expires_at ${bad}`,
        );
      }
    },
  },
  {
    id: "lease.expired",
    section: "1.1 §9.5, §12",
    title: "later's tool call past expires_at ends the job with LEASE_EXPIRED (retryable false)",
    feature: "lease_expires_at",
    async run(ctx) {
      ctx.needAgents("later");
      const wire = await ctx.session();
      // Three seconds ahead on the kit's clock; the call comes two seconds
      // after it, past the one-second grace §14 suggests.
      const run = await ctx.run(wire, "later", { ms: 5_000 }, {
        lease_request: { "tool.call": ["noop"] },
        lease_constraints: { expires_at: isoIn(3_000) },
      });
      expect(run.terminal.type === "job.error", `later ended with ${show(run.terminal)}`);
      expectErrorPayload(run.terminal, ["LEASE_EXPIRED"], "the job.error of an expired lease");
      const status = payloadOf(run.terminal).final_status;
      expect(status === "error", `final_status is not error: ${show(run.terminal)}`);
    },
  },
  {
    id: "budget.counters",
    section: "1.1 §7.1, §9.6",
    title: "a cost.budget lease gets its initial counters in job.accepted.budget",
    feature: "cost.budget",
    async run(ctx) {
      ctx.needAgents("echo");
      const wire = await ctx.session();
      const { accepted } = await ctx.submit(wire, "echo", null, {
        lease_request: { "cost.budget": ["USD:1.50"] },
      });
      const usd = (payloadOf(accepted).budget as { USD?: unknown } | undefined)?.USD;
      expect(Number(usd) === 1.5, `job.accepted.budget.USD is ${usd}, not 1.5: ${show(accepted)}`);
    },
  },
  {
    id: "budget.exhausted",
    section: "1.1 §9.6, §12",
    title: "spend over its budget sees BUDGET_EXHAUSTED (retryable false)",
    feature: "cost.budget",
    async run(ctx) {
      ctx.needAgents("spend");
      const wire = await ctx.session();
      const run = await ctx.run(wire, "spend", { costs: [0.6, 0.6, 0.6], currency: "USD" }, {
        lease_request: { "tool.call": ["noop"], "cost.budget": ["USD:1.00"] },
      });
      expectAuthorityError(run, "BUDGET_EXHAUSTED");
      const metrics = run.events.filter((e) => payloadOf(e).kind === "metric");
      expect(metrics.length > 0, "spend reported no cost metric events");
    },
  },
  {
    id: "lease.denied",
    section: "1.1 §9.3, §12",
    title: "fetch outside its net.fetch lease gets PERMISSION_DENIED",
    async run(ctx) {
      ctx.needAgents("fetch");
      const wire = await ctx.session();
      const run = await ctx.run(wire, "fetch", { url: "http://127.0.0.1:9/denied" }, {
        lease_request: { "net.fetch": ["http://127.0.0.1:9/allowed/**"] },
      });
      expectAuthorityError(run, "PERMISSION_DENIED");
    },
  },
  {
    id: "lease.subset",
    section: "1.0 §10.2, 1.1 §9.4",
    title: "delegate asking its child for more than its lease gets LEASE_SUBSET_VIOLATION",
    async run(ctx) {
      ctx.needAgents("delegate", "echo");
      const wire = await ctx.session();
      const run = await ctx.run(wire, "delegate", {
        agent: "echo",
        input: null,
        lease_request: { "net.fetch": ["http://127.0.0.1:9/**"] },
      }, { lease_request: { "agent.delegate": ["echo"] } });
      expectAuthorityError(run, "LEASE_SUBSET_VIOLATION");
    },
  },
  {
    id: "delegation.child",
    section: "1.0 §10.1, §10.3",
    title: "delegate emits a delegate event; the child's job.accepted names its parent and trace",
    async run(ctx) {
      ctx.needAgents("delegate", "echo");
      const wire = await ctx.session();
      const { jobId } = await ctx.submit(wire, "delegate", { agent: "echo", input: "hi" }, {
        lease_request: { "agent.delegate": ["echo"] },
      });
      const frames = await wire.until(
        (f) => (f.type === "job.result" || f.type === "job.error") && f.job_id === jobId,
        "the end of the delegating job",
      );
      const terminal = frames.at(-1)!;
      expect(terminal.type === "job.result", `delegate did not succeed: ${show(terminal)}`);
      const echoed = (payloadOf(terminal).result as { echoed?: unknown } | undefined)?.echoed;
      expect(echoed === "hi", `delegate's result is not the child's: ${show(terminal)}`);
      const delegated = frames.find((f) =>
        f.type === "job.event" && f.job_id === jobId && payloadOf(f).kind === "delegate"
      );
      expect(delegated !== undefined, "the parent emitted no delegate event");
      const child = frames.find((f) =>
        f.type === "job.accepted" && payloadOf(f).parent_job_id === jobId
      );
      expect(child !== undefined, "no job.accepted with parent_job_id for the child");
      const parentTrace = frames.find((f) => f.job_id === jobId && f.trace_id)?.trace_id;
      const childTrace = payloadOf(child).trace_id ?? child.trace_id;
      expect(
        parentTrace === undefined || childTrace === undefined || childTrace === parentTrace,
        `the child's trace ${childTrace} is not the parent's ${parentTrace}`,
      );
    },
  },
  {
    id: "result.chunks",
    section: "1.1 §8.4",
    title: "report streams ordered result_chunk events; job.result names their result_id",
    feature: "result_chunk",
    async run(ctx) {
      ctx.needAgents("report");
      const wire = await ctx.session();
      const bytes = 70_000;
      const run = await ctx.run(wire, "report", { bytes });
      expect(run.terminal.type === "job.result", `report did not succeed: ${show(run.terminal)}`);
      const chunks = run.events
        .map((e) => payloadOf(e))
        .filter((p) => p.kind === "result_chunk")
        .map((p) => p.body as Record<string, unknown>);
      expect(chunks.length > 0, "report sent no result_chunk events");
      let size = 0;
      chunks.forEach((chunk, index) => {
        expect(chunk.chunk_seq === index, `chunk ${index} has chunk_seq ${chunk.chunk_seq}`);
        expect(chunk.result_id === chunks[0]!.result_id, "the chunks name several result_ids");
        expect(
          chunk.more === (index < chunks.length - 1),
          `chunk ${index} of ${chunks.length} has more: ${chunk.more}`,
        );
        expect(typeof chunk.data === "string", `chunk ${index} has no string data`);
        if (chunk.encoding === "utf8") size += new TextEncoder().encode(chunk.data).length;
        else if (chunk.encoding === "base64") size += atob(chunk.data).length;
        else throw new CheckFailure(`chunk ${index} has encoding ${chunk.encoding}`);
      });
      expect(size === bytes, `the chunks assemble to ${size} bytes, not ${bytes}`);
      const result = payloadOf(run.terminal);
      expect(
        result.result_id === chunks[0]!.result_id,
        `job.result does not name the chunks' result_id: ${show(run.terminal)}`,
      );
      expect(
        result.result === undefined,
        `job.result mixes an inline result with result_chunk (§8.4): ${show(run.terminal)}`,
      );
      expect(
        result.result_size === undefined || result.result_size === bytes,
        `job.result names result_size ${result.result_size}, not ${bytes}`,
      );
    },
  },
];
