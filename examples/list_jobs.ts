/**
 * List a principal's jobs (spec 1.1 §6.6): every job it submitted, from any
 * of its sessions, finished ones included, page by page with an opaque
 * cursor, filtered by status, agent and creation time. Runtime and client
 * share this process over the memory transport.
 *
 * Run with `deno run -A examples/list_jobs.ts`.
 *
 * @module
 */

import { connect, type ListJobsOptions } from "../client.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { memoryTransportPair } from "../transports/memory.ts";

const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "alice" }),
  agents: [
    { name: "echo", version: "1.0.0", handler: (input: unknown) => Promise.resolve(input) },
    { name: "fail", handler: () => Promise.reject(new Error("failed on purpose")) },
    {
      // Runs until cancelled.
      name: "wait",
      handler: (_input: unknown, ctx: AgentContext) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
        }),
    },
  ],
});
const [clientSide, runtimeSide] = memoryTransportPair();
runtime.accept(runtimeSide);
const client = await connect(clientSide, { token: "s3cret" });

// Five echo jobs and two failing ones, all finished...
for (let i = 1; i <= 5; i++) await (await client.submit("echo", { i })).result;
for (let i = 1; i <= 2; i++) await (await client.submit("fail")).result.catch(() => {});
// ... then, after this instant, one job still running.
const checkpoint = new Date().toISOString();
await new Promise((resolve) => setTimeout(resolve, 5)); // creation times have millisecond precision
const waiting = await client.submit("wait");

/** Prints every page of a listing. */
async function list(title: string, options: ListJobsOptions): Promise<void> {
  console.log(`${title}:`);
  let page = 0;
  for await (const { jobs, next_cursor } of client.listJobs(options)) {
    page++;
    console.log(`  page ${page}${next_cursor === null ? " (last)" : ""}`);
    for (const job of jobs) console.log(`    ${job.job_id} ${job.agent.padEnd(10)} ${job.status}`);
  }
}

await list("all jobs, three per page", { limit: 3 });
await list("failed jobs", { filter: { status: ["error"] } });
await list('jobs of agent "echo" (any version)', { filter: { agent: "echo" }, limit: 10 });
await list("jobs created after the checkpoint", { filter: { created_after: checkpoint } });
await list("jobs still running", { filter: { status: ["pending", "running"] } });

await waiting.cancel();
await client.close();
await runtime.close();
