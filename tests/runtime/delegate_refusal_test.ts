// A delegation refused after its lease was checked (by the lease policy, a
// credential that cannot be issued, a store that cannot record the child) gives the parent back the budget it
// set aside for the child, over a real WebSocket.

import assert from "node:assert/strict";
import { ArcpError } from "../../protocol/errors.ts";
import type { JobRecord } from "../../store/types.ts";
import type { AgentDefinition } from "../../runtime.ts";
import { bounded, RecordingStore, startHarness } from "../_helpers.ts";
import { payloadOf } from "../scenarios/_shared.ts";
import type { HarnessOptions } from "../_helpers.ts";

/** Delegates to `echo` with half a dollar, and says what its budget was before and after. */
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

async function delegateOnce(options: HarnessOptions): Promise<Record<string, unknown>> {
  await using h = await startHarness("websocket", { ...options, agents: [parent] });
  const raw = await h.raw();
  await raw.hello();
  await raw.submit("parent", null, {
    lease_request: { "agent.delegate": ["echo"], "cost.budget": ["USD:2.00"] },
  });
  const frames = await raw.until((frame) =>
    frame.type === "job.result" || frame.type === "job.error"
  );
  assert.equal(frames.at(-1)!.type, "job.result", JSON.stringify(frames.at(-1)));
  return payloadOf(frames.at(-1)!).result as Record<string, unknown>;
}

Deno.test(
  "a delegation the lease policy refuses fails the agent's call and leaves its budget whole",
  bounded(async () => {
    const result = await delegateOnce({
      runtime: {
        leasePolicy: ({ lease, parentJobId }) => {
          if (parentJobId === null) return lease;
          throw new ArcpError("PERMISSION_DENIED", "No delegation under this policy");
        },
      },
    });
    assert.match(String(result.refusal), /No delegation under this policy/);
    assert.deepEqual(result.before, { USD: "2" });
    assert.deepEqual(result.after, result.before);
  }),
);

/** A store that cannot record delegated jobs. */
class NoChildrenStore extends RecordingStore {
  override putJob(record: JobRecord): Promise<void> {
    if (record.parent_job_id) return Promise.reject(new Error("disk full"));
    return super.putJob(record);
  }
}

Deno.test(
  "a delegation whose child the store cannot record fails the agent's call and leaves its budget whole",
  bounded(async () => {
    const result = await delegateOnce({ store: new NoChildrenStore() });
    assert.match(String(result.refusal), /disk full/);
    assert.deepEqual(result.after, result.before);
  }),
);

Deno.test(
  "a delegation whose credential cannot be issued fails the agent's call and leaves its budget whole",
  bounded(async () => {
    const result = await delegateOnce({
      runtime: {
        provisioner: {
          issue: ({ parentJobId }) =>
            parentJobId === null
              ? Promise.resolve(undefined)
              : Promise.reject(new Error("upstream down")),
          revoke: () => Promise.resolve(),
        },
      },
    });
    assert.match(String(result.refusal), /upstream down|credential/i);
    assert.deepEqual(result.after, result.before);
  }),
);
