/**
 * Budgets (spec 1.1 §9.6): a lease's `cost.budget` caps what a job may
 * spend. The agent reports each cost as a `cost.*` metric in the budget's
 * currency; the runtime subtracts it exactly (decimal, no float drift) and
 * emits `cost.budget.remaining`. A cost is known only after the operation,
 * so the last one admitted may overspend; once the budget is spent, every
 * budget-consuming operation (tool calls, fs, net, delegation) is refused
 * with `BUDGET_EXHAUSTED`: a `tool_result` error the agent may handle, or
 * let end the job. Runtime and client share this process over the memory
 * transport.
 *
 * Run with `deno run -A examples/budget.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { ArcpError, isEventKind } from "../protocol/mod.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { memoryTransportPair } from "../transports/memory.ts";

/** Runs paid searches until the budget stops it, reporting each one's cost. */
async function researcher(
  input: { queries: string[]; onExhausted: "return" | "fail" },
  ctx: AgentContext,
): Promise<{ answered: string[] }> {
  const answered: string[] = [];
  for (const query of input.queries) {
    try {
      await ctx.tool("search", () => `results for ${query}`, { args: { query } });
    } catch (error) {
      const exhausted = error instanceof ArcpError && error.code === "BUDGET_EXHAUSTED";
      // Either stop with what it has, or let the refusal end the job.
      if (exhausted && input.onExhausted === "return") break;
      throw error;
    }
    await ctx.metric("cost.search", 0.3, { unit: "USD" });
    answered.push(query);
  }
  return { answered };
}

const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "alice" }),
  agents: [{ name: "researcher", handler: researcher }],
});
const [clientSide, runtimeSide] = memoryTransportPair();
runtime.accept(runtimeSide);
const client = await connect(clientSide, { token: "s3cret" });

const queries = ["arcp", "leases", "budgets", "chunks", "resume", "heartbeat"];
for (const onExhausted of ["return", "fail"] as const) {
  const job = await client.submit("researcher", { queries, onExhausted }, {
    leaseRequest: { "tool.call": ["search"], "cost.budget": ["USD:1.00"] },
  });
  const budget = JSON.stringify(job.accepted.budget);
  console.log(`job ${job.jobId} (${onExhausted} when exhausted), budget ${budget}`);
  for await (const event of job) {
    const { payload } = event;
    if (isEventKind(payload, "metric")) {
      console.log(`  metric ${payload.body.name} ${payload.body.value} ${payload.body.unit}`);
    } else if (isEventKind(payload, "tool_result") && payload.body.error !== undefined) {
      console.log(
        `  tool_result refused: ${payload.body.error.code} (${payload.body.error.message})`,
      );
    }
  }
  try {
    console.log(`  job result ${JSON.stringify((await job.result).result)}`);
  } catch (error) {
    if (!(error instanceof ArcpError)) throw error;
    console.log(`  job error ${error.code}`);
  }
}

await client.close();
await runtime.close();
