// The dashboard's job model against a real runtime over the memory
// transport: what it folds from the demo agents' events and results.

import assert from "node:assert/strict";
import { connect, type JobHandle, type SubmitOptions } from "../../../client.ts";
import { demoAgents } from "../../../cli/demo_agents.ts";
import { Runtime, staticTokens } from "../../../runtime.ts";
import { memoryTransportPair } from "../../../transports/memory.ts";
import {
  budgetCaps,
  follow,
  formatCountdown,
  JobState,
} from "../../../examples/dashboard/job_model.ts";

Deno.test("formatCountdown() counts down to the second and says expired at the end", () => {
  const now = Date.UTC(2026, 0, 1);
  assert.equal(formatCountdown(now + 3_723_000, now), "1h 02m 03s");
  assert.equal(formatCountdown(now + 65_000, now), "1m 05s");
  assert.equal(formatCountdown(now + 1_500, now), "2s");
  assert.equal(formatCountdown(now, now), "expired");
  assert.equal(formatCountdown(now - 1, now), "expired");
});

Deno.test("budgetCaps() reads every cost.budget currency of a lease", () => {
  assert.deepEqual(
    budgetCaps({ "cost.budget": ["USD:1.50", "credits:10"], "tool.call": ["*"] }),
    new Map([["USD", 1.5], ["credits", 10]]),
  );
  assert.deepEqual(budgetCaps({}), new Map());
});

/**
 * Submits `agent` on a runtime with the demo agents, follows it to the end,
 * and meanwhile runs `act` once the first event has been folded in.
 */
async function followed(
  agent: string,
  input: unknown,
  options: SubmitOptions = {},
  act?: (handle: JobHandle) => Promise<void>,
): Promise<JobState> {
  await using runtime = new Runtime({
    authenticate: staticTokens({ t: "alice" }),
    agents: demoAgents(),
  });
  const [clientSide, runtimeSide] = memoryTransportPair();
  runtime.accept(runtimeSide);
  await using client = await connect(clientSide, { token: "t" });
  const handle = await client.submit(agent, input, options);
  const state = JobState.submitted(handle);
  const firstEvent = Promise.withResolvers<void>();
  const done = follow(handle, state, () => {
    if (state.eventCount > 0) firstEvent.resolve();
  });
  if (act !== undefined) {
    await firstEvent.promise;
    await act(handle);
  }
  await done;
  return state;
}

Deno.test("JobState folds progress events and an inline result", async () => {
  const state = await followed("count", { n: 3 });
  assert.equal(state.status, "success");
  assert.deepEqual(state.progress, { current: 3, total: 3, units: "steps" });
  assert.deepEqual(state.events.map((line) => line.text), [
    "1 / 3 steps",
    "2 / 3 steps",
    "3 / 3 steps",
  ]);
  assert.deepEqual(state.outcome, {
    kind: "result",
    text: JSON.stringify({ count: 3 }, null, 2),
    streamed: false,
  });
});

Deno.test("JobState's budget gauge starts at the lease's cap and follows cost.budget.remaining", async () => {
  const expiresAt = new Date(Date.now() + 60_000).toISOString();
  const state = await followed("spend", { costs: [0.25, 0.5], currency: "USD" }, {
    leaseRequest: { "tool.call": ["noop"], "cost.budget": ["USD:1.00"] },
    leaseConstraints: { expires_at: expiresAt },
  });
  assert.equal(state.status, "success");
  assert.equal(state.expiresAt, Date.parse(expiresAt));
  assert.deepEqual([...state.budget.values()], [{ currency: "USD", cap: 1, remaining: 0.25 }]);
  assert.ok(state.events.some((line) => line.text === "cost.budget.remaining = 0.75 USD"));
});

Deno.test("JobState reassembles a streamed result", async () => {
  const state = await followed("report", { bytes: 40 });
  assert.deepEqual(state.outcome, {
    kind: "result",
    text: "ARCP demo report, line 1\nARCP demo repor",
    streamed: true,
    bytes: 40,
  });
  assert.match(state.events[0]!.text, /^chunk 0 of res_/);
});

Deno.test("JobState ends cancelled with the job's error when the job is cancelled", async () => {
  const state = await followed("sleep", { ms: 60_000 }, {}, (handle) => {
    return handle.cancel({ reason: "enough" });
  });
  assert.equal(state.status, "cancelled");
  assert.deepEqual(state.outcome, { kind: "error", code: "CANCELLED", message: "enough" });
  assert.deepEqual(state.events.map((line) => `${line.kind}: ${line.text}`), [
    "status: sleeping",
  ]);
});
