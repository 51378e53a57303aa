/**
 * A runtime whose sessions, jobs and event logs live in PostgreSQL: the
 * store opens on `DATABASE_URL` (else the `PG*` variables), creates and
 * migrates its schema, and a client connected over a real WebSocket on
 * 127.0.0.1 submits a job and reads its events and result. A second runtime
 * on the same database then lists the job: what one process stored, any
 * other process on the database sees, across restarts too.
 *
 * Run with `DATABASE_URL=postgres://user@127.0.0.1:5432/db deno run -A examples/postgres.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { openPostgresStore } from "../store/postgres.ts";

/** Counts to `input.to`, one progress event per step. */
async function count(input: { to: number }, ctx: AgentContext): Promise<{ counted: number }> {
  for (let step = 1; step <= input.to; step++) {
    await ctx.progress(step, { total: input.to, units: "steps" });
  }
  return { counted: input.to };
}

const url = Deno.env.get("DATABASE_URL") ?? "";
if (url === "") {
  console.error(
    "Set DATABASE_URL to a PostgreSQL database, e.g. postgres://user@127.0.0.1:5432/db",
  );
  Deno.exit(1);
}

/** A runtime on its own connection to the database, served on a free port of 127.0.0.1. */
async function serve() {
  const store = await openPostgresStore({ url, schema: "arcp_example" });
  const runtime = new Runtime({
    authenticate: staticTokens({ "s3cret": "alice" }),
    agents: [{ name: "count", handler: count }],
    upgradeWebSocket: Deno.upgradeWebSocket,
    store,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, runtime.fetch);
  return {
    url: `ws://127.0.0.1:${server.addr.port}/arcp`,
    async close() {
      await runtime.close();
      await server.shutdown();
      await store.close();
    },
  };
}

const first = await serve();
const client = await connect(first.url, { token: "s3cret" });
const job = await client.submit("count", { to: 3 });
console.log(`job ${job.jobId} accepted`);
// Each event is in PostgreSQL before the client is sent it.
for await (const event of job) {
  console.log(`  #${event.event_seq} ${event.payload.kind} ${JSON.stringify(event.payload.body)}`);
}
const { final_status, result } = await job.result;
console.log(`job ended: ${final_status}, result ${JSON.stringify(result)}`);
await client.close();
await first.close();

// Another runtime process would do the same: its store opens the same schema.
const second = await serve();
const again = await connect(second.url, { token: "s3cret" });
let found = false;
for await (const { jobs } of again.listJobs({ filter: { agent: "count" } })) {
  found ||= jobs.some((listed) => listed.job_id === job.jobId && listed.status === "success");
}
console.log(`the next runtime lists job ${job.jobId}: ${found ? "success" : "MISSING"}`);
await again.close();
await second.close();
if (!found) Deno.exit(1);
