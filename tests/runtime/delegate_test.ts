// Delegation (spec §10, 1.1 §9.4) through the demo `delegate` agent, over the
// memory transport: the child job, its lease, trace and budget, and refusals.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { demoAgents } from "../../cli/demo_agents.ts";
import type { JobEvent } from "../../protocol/events.ts";
import { Runtime } from "../../runtime.ts";
import { staticTokens } from "../../runtime/auth.ts";
import { memoryTransportPair } from "../../transports/memory.ts";

async function harness() {
  const runtime = new Runtime({ authenticate: staticTokens({ t: "alice" }), agents: demoAgents() });
  const [clientSide, runtimeSide] = memoryTransportPair();
  void runtime.accept(runtimeSide);
  const client = await connect(clientSide, { token: "t" });
  return {
    client,
    async [Symbol.asyncDispose]() {
      await client.close();
      await runtime.close();
    },
  };
}

async function collect(job: AsyncIterable<JobEvent>): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  for await (const event of job) events.push(event);
  return events;
}

const PARENT_LEASE = {
  "agent.delegate": ["echo"],
  "tool.call": ["noop"],
  "cost.budget": ["USD:2.00"],
};

Deno.test("ctx.delegate starts a child in the same session with a subset lease, the parent's trace and a carved budget", async () => {
  await using h = await harness();
  const job = await h.client.submit("delegate", {
    agent: "echo",
    input: { hi: 1 },
    lease_request: { "tool.call": ["noop"], "cost.budget": ["USD:0.50"] },
  }, { leaseRequest: PARENT_LEASE });
  const events = await collect(job);
  assert.deepEqual((await job.result).result, { echoed: { hi: 1 }, version: "2.0.0" });
  const [delegate, outcome] = events.map((event) => event.payload);
  assert.equal(delegate?.kind, "delegate");
  const delegateId = delegate!.body.delegate_id as string;
  assert.match(delegateId, /^del_/);
  assert.deepEqual(delegate!.body.lease_request, {
    "tool.call": ["noop"],
    "cost.budget": ["USD:0.50"],
  });
  assert.equal(outcome?.kind, "tool_result");
  assert.equal(outcome!.body.call_id, delegateId);
  const childId = (outcome!.body.result as { job_id: string }).job_id;

  const listed = [];
  for await (const page of h.client.listJobs()) listed.push(...page.jobs);
  const child = listed.find((j) => j.job_id === childId)!;
  assert.equal(child.parent_job_id, job.jobId);
  assert.equal(child.agent, "echo@2.0.0");
  assert.equal(child.status, "success");
  assert.equal(child.trace_id, job.traceId);
  assert.deepEqual(child.lease, { "tool.call": ["noop"], "cost.budget": ["USD:0.50"] });
});

Deno.test("ctx.delegate refuses a wider lease with LEASE_SUBSET_VIOLATION as a tool_result on the parent", async () => {
  await using h = await harness();
  for (
    const lease_request of [
      { "fs.read": ["/**"] },
      { "tool.call": ["*"] },
      { "cost.budget": ["USD:2.50"] },
      { "cost.budget": ["EUR:1.00"] },
      // Without the parent's budget the child would spend without limit.
      { "tool.call": ["noop"] },
    ]
  ) {
    const job = await h.client.submit("delegate", { agent: "echo", input: 1, lease_request }, {
      leaseRequest: PARENT_LEASE,
    });
    const events = await collect(job);
    const refusal = events.find((event) => event.payload.kind === "tool_result")!;
    assert.equal(
      (refusal.payload.body.error as { code: string }).code,
      "LEASE_SUBSET_VIOLATION",
      JSON.stringify(lease_request),
    );
    await assert.rejects(job.result, { code: "LEASE_SUBSET_VIOLATION" });
  }
});

Deno.test("ctx.delegate to an agent outside agent.delegate is PERMISSION_DENIED and starts nothing", async () => {
  await using h = await harness();
  const job = await h.client.submit("delegate", {
    agent: "count",
    input: { n: 1 },
    lease_request: {},
  }, {
    leaseRequest: PARENT_LEASE,
  });
  await collect(job);
  await assert.rejects(job.result, { code: "PERMISSION_DENIED" });
  const listed = [];
  for await (const page of h.client.listJobs()) listed.push(...page.jobs);
  assert.deepEqual(listed.map((j) => j.agent), ["delegate"]);
});

Deno.test("cancelling the parent cancels its running child", async () => {
  await using h = await harness();
  const job = await h.client.submit("delegate", {
    agent: "sleep",
    input: { ms: 60_000 },
    lease_request: {},
  }, {
    leaseRequest: { "agent.delegate": ["sleep"] },
  });
  let childId: string | undefined;
  for (;;) {
    const listed = [];
    for await (const page of h.client.listJobs({ filter: { agent: "sleep" } })) {
      listed.push(...page.jobs);
    }
    childId = listed[0]?.job_id;
    if (childId !== undefined && listed[0]!.status === "running") break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await job.cancel();
  await assert.rejects(job.result, { code: "CANCELLED" });
  for (;;) {
    const listed = [];
    for await (const page of h.client.listJobs({ filter: { agent: "sleep" } })) {
      listed.push(...page.jobs);
    }
    if (listed[0]!.status !== "running") {
      assert.equal(listed[0]!.status, "cancelled");
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
});
