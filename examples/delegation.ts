/**
 * Delegation (spec §10, 1.1 §9.4): an agent hands part of its work to
 * another agent with `ctx.delegate`. The child is a job of its own in the
 * same session, announced by a `job.accepted` with `parent_job_id`; its
 * lease must be a subset of the parent's (else `LEASE_SUBSET_VIOLATION`),
 * its budget is carved from the parent's, and it shares the parent's trace.
 * The parent sees a `delegate` event and the outcome as a `tool_result`.
 * Runtime and client share this process over the memory transport.
 *
 * Run with `deno run -A examples/delegation.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { ArcpError, isEventKind } from "../protocol/mod.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { memoryTransportPair } from "../transports/memory.ts";

/** The child: "summarises" a text, at a cost. */
async function summarise(input: { text: string }, ctx: AgentContext): Promise<string> {
  await ctx.metric("cost.llm", 0.25, { unit: "USD" });
  return input.text.split(" ").slice(0, 4).join(" ") + "…";
}

/** The parent: delegates the summary, then tries to grant a child more than it has. */
async function research(input: { text: string }, ctx: AgentContext): Promise<unknown> {
  const child = await ctx.delegate("summarise", input, {
    leaseRequest: { "cost.budget": ["USD:0.40"] },
  });
  let wider = "granted";
  try {
    await ctx.delegate("summarise", input, { leaseRequest: { "fs.read": ["/**"] } });
  } catch (error) {
    if (!(error instanceof ArcpError)) throw error;
    wider = error.code;
  }
  return { summary: child.result, wider_lease: wider, budget_left: ctx.budget };
}

const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "alice" }),
  agents: [
    { name: "research", handler: research },
    { name: "summarise", handler: summarise },
  ],
});
const [clientSide, runtimeSide] = memoryTransportPair();
runtime.accept(runtimeSide);
const client = await connect(clientSide, { token: "s3cret" });

const job = await client.submit("research", {
  text: "Delegation lets one agent hand a bounded part of its work to another",
}, {
  leaseRequest: { "agent.delegate": ["summarise"], "cost.budget": ["USD:1.00"] },
});
console.log(`parent job ${job.jobId}, lease ${JSON.stringify(job.lease)}`);
for await (const event of job) {
  const { payload } = event;
  if (isEventKind(payload, "delegate")) {
    console.log(
      `  delegate ${payload.body.delegate_id} -> ${payload.body.agent}, lease ${
        JSON.stringify(payload.body.lease_request)
      }`,
    );
  } else if (isEventKind(payload, "tool_result")) {
    const outcome = payload.body.error?.code ?? JSON.stringify(payload.body.result);
    console.log(`  tool_result ${payload.body.call_id}: ${outcome}`);
  }
}
console.log(`parent result ${JSON.stringify((await job.result).result)}`);

// The children are jobs of their own: list them.
for await (const page of client.listJobs({ filter: { agent: "summarise" } })) {
  for (const child of page.jobs) {
    console.log(
      `child ${child.job_id}: parent ${child.parent_job_id}, ${child.status}, ` +
        `lease ${JSON.stringify(child.lease)}, same trace: ${child.trace_id === job.traceId}`,
    );
  }
}

await client.close();
await runtime.close();
