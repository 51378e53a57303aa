// The runtime's lease policy (spec 1.1 §9.2: it may narrow a requested
// lease, never widen it) and proactive expiry (spec 1.1 §9.5).

import assert from "node:assert/strict";
import { ArcpError } from "../../protocol/errors.ts";
import type { JobEvent } from "../../protocol/events.ts";
import type { AgentContext } from "../../runtime.ts";
import { startHarness } from "../_helpers.ts";
import { TestClock } from "../_clock.ts";

const tryTool = {
  name: "try",
  handler: async (input: { tools: string[] }, ctx: AgentContext) => {
    const outcomes: Record<string, string> = {};
    for (const tool of input.tools) {
      outcomes[tool] = await ctx.tool(tool, () => "ok", { args: null }).catch((error) =>
        error.code
      );
    }
    return outcomes;
  },
};

Deno.test("a lease policy narrows the lease: job.accepted echoes the effective lease, and it is enforced", async () => {
  const asked: unknown[] = [];
  await using h = await startHarness("websocket", {
    agents: [tryTool],
    runtime: {
      leasePolicy: ({ lease, principal, agent }) => {
        asked.push({ principal: principal.id, agent });
        return { ...lease, "tool.call": (lease["tool.call"] ?? []).filter((t) => t !== "shell") };
      },
    },
  });
  const client = await h.connect();
  const job = await client.submit("try", { tools: ["search", "shell"] }, {
    leaseRequest: { "tool.call": ["search", "shell"] },
  });
  assert.deepEqual(job.lease, { "tool.call": ["search"] });
  assert.deepEqual((await job.result).result, { search: "ok", shell: "PERMISSION_DENIED" });
  assert.deepEqual(asked, [{ principal: "alice", agent: "try" }]);
  const [page] = await Array.fromAsync(client.listJobs());
  assert.deepEqual(page!.jobs[0]!.lease, { "tool.call": ["search"] });
});

Deno.test("a lease policy that widens the lease is refused with INTERNAL_ERROR; one that refuses is PERMISSION_DENIED", async () => {
  await using h = await startHarness("websocket", {
    agents: [tryTool],
    runtime: {
      leasePolicy: ({ lease }) => {
        if (lease["tool.call"]?.includes("forbidden")) {
          throw new ArcpError("PERMISSION_DENIED", 'tool "forbidden" is never leased here');
        }
        return { ...lease, "net.fetch": ["https://**"] };
      },
    },
  });
  const client = await h.connect();
  await assert.rejects(
    client.submit("try", { tools: [] }, { leaseRequest: { "tool.call": ["search"] } }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "INTERNAL_ERROR");
      assert.match(error.message, /widened/);
      return true;
    },
  );
  await assert.rejects(
    client.submit("try", { tools: [] }, { leaseRequest: { "tool.call": ["forbidden"] } }),
    { code: "PERMISSION_DENIED" },
  );
  const pages = await Array.fromAsync(client.listJobs());
  assert.deepEqual(pages.flatMap((page) => page.jobs), [], "neither job was accepted");
});

Deno.test("with terminateOnLeaseExpiry a job that makes no further operation still ends with LEASE_EXPIRED at expiry", async () => {
  const clock = new TestClock();
  await using h = await startHarness("websocket", {
    agents: [{
      name: "idle",
      handler: (_input: unknown, ctx: AgentContext) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true })
        ),
    }],
    runtime: { terminateOnLeaseExpiry: true, leaseExpiryGraceMs: 0, clock },
  });
  const client = await h.connect();
  const expiresAt = new Date(clock.now() + 60_000).toISOString();
  const job = await client.submit("idle", null, { leaseConstraints: { expires_at: expiresAt } });
  // The clock moves past expiry; the runtime's watch notices at its next check.
  await clock.advance(61_000);
  const events: JobEvent[] = [];
  const reading = (async () => {
    for await (const event of job) events.push(event);
  })();
  await assert.rejects(job.result, (error: Error & { code?: string; retryable?: boolean }) => {
    assert.equal(error.code, "LEASE_EXPIRED");
    assert.equal(error.retryable, false);
    return true;
  });
  await reading;
});
