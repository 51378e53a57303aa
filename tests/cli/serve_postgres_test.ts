// `cli.ts serve --store postgres` against a throwaway PostgreSQL server: a
// job's result is kept in the database and listed by the next serve process.

import assert from "node:assert/strict";
import { startPostgres } from "../_postgres.ts";
import { runCli, startServe } from "../_serve.ts";

const server = await startPostgres();

if (typeof server === "string") {
  Deno.test({ name: `cli serve --store postgres: skipped, ${server}`, ignore: true, fn() {} });
} else {
  globalThis.addEventListener("unload", () => server.stop());
  const postgresArgs = ["--store", "postgres", "--postgres-url", server.url];

  Deno.test("cli serve --store postgres: a finished job is still listed by the next serve process", async () => {
    const args = [...postgresArgs, "--postgres-schema", "cli_restart"];
    const first = await startServe("t", undefined, args);
    let jobId: string;
    try {
      const submitted = await runCli([
        "submit",
        "--url",
        first.url,
        "--token",
        "t",
        "--json",
        "echo",
        JSON.stringify({ text: "kept" }),
      ]);
      assert.equal(submitted.code, 0, submitted.stderr);
      const lines = submitted.stdout.trim().split("\n").map((line) => JSON.parse(line));
      const result = lines.at(-1) as { type: string; job_id: string };
      assert.equal(result.type, "job.result");
      jobId = result.job_id;
    } finally {
      assert.equal((await first.stop()).code, 0);
    }
    const second = await startServe("t", undefined, args);
    try {
      const listed = await runCli(["jobs", "--url", second.url, "--token", "t", "--json"]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(jobId));
      assert.match(listed.stdout, /success/);
    } finally {
      assert.equal((await second.stop()).code, 0);
    }
  });
}
