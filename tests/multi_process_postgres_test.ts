// Several `cli.ts serve --store postgres` processes on one throwaway
// PostgreSQL database form one runtime: a restart of every instance keeps
// every finished result.

import assert from "node:assert/strict";
import { connect } from "../client.ts";
import { bounded } from "./_helpers.ts";
import { startPostgres } from "./_postgres.ts";
import { type Served, startListening } from "./_serve.ts";

const TOKEN = "multi-pg-token";
const cli = new URL("../cli.ts", import.meta.url).pathname;

/** Generous: three Deno processes start on a loaded machine. */
const TEST_MS = 180_000;

/** Every job the principal has, by id, as listed by a new session on `url`. */
async function listedStatus(url: string): Promise<Record<string, string>> {
  await using client = await connect(url, { token: TOKEN, reconnect: false });
  const listed = [];
  for await (const page of client.listJobs()) listed.push(...page.jobs);
  return Object.fromEntries(listed.map((job) => [job.job_id, job.status]));
}

/** `count` runtime processes on schema `schema` of the database at `databaseUrl`. */
async function startInstances(
  databaseUrl: string,
  count: number,
  schema: string,
): Promise<Served[]> {
  const args = [
    cli,
    "serve",
    "--demo",
    "--port",
    "0",
    "--token",
    `${TOKEN}=tester`,
    "--store",
    "postgres",
    "--postgres-url",
    databaseUrl,
    "--postgres-schema",
    schema,
  ];
  const started = [];
  // One after another: the first creates the schema, the others find it.
  for (let i = 0; i < count; i++) started.push(await startListening(args));
  return started;
}

/** Stops every process with SIGTERM, each expected to exit with 0. */
async function stopAll(instances: Served[]): Promise<void> {
  const stopped = await Promise.all(instances.map((served) => served.stop()));
  for (const { code, output } of stopped) assert.equal(code, 0, output);
}

const server = await startPostgres();

if (typeof server === "string") {
  Deno.test({
    name: `serve --store postgres, several processes: skipped, ${server}`,
    ignore: true,
    fn() {},
  });
} else {
  globalThis.addEventListener("unload", () => server.stop());
  const databaseUrl = server.url;

  Deno.test(
    "serve --store postgres: a restart of every process keeps every finished result",
    bounded(async () => {
      const schema = `restart_${crypto.randomUUID().slice(0, 8)}`;
      let instances = await startInstances(databaseUrl, 3, schema);
      const finished = new Map<string, unknown>();
      try {
        await using client = await connect(instances[0]!.url, { token: TOKEN, reconnect: false });
        for (let i = 1; i <= 3; i++) {
          const job = await client.submit("count", { n: i });
          finished.set(job.jobId, (await job.result).result);
        }
        // And one on each other instance, from sessions of their own.
        for (const served of instances.slice(1)) {
          await using other = await connect(served.url, { token: TOKEN, reconnect: false });
          const job = await other.submit("echo", { on: served.url });
          finished.set(job.jobId, (await job.result).result);
        }
      } finally {
        await stopAll(instances);
      }

      instances = await startInstances(databaseUrl, 2, schema);
      try {
        const status = await listedStatus(instances[0]!.url);
        for (const jobId of finished.keys()) assert.equal(status[jobId], "success", jobId);

        // Each job's record, read on the other new instance, still holds its result.
        await using observer = await connect(instances[1]!.url, { token: TOKEN, reconnect: false });
        for (const [jobId, result] of finished) {
          const watched = await observer.subscribe(jobId, { history: true });
          assert.equal(watched.subscribed.current_status, "success");
          assert.deepEqual((await watched.result).result, result);
        }
      } finally {
        await stopAll(instances);
      }
    }, TEST_MS),
  );
}
