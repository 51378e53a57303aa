// The CLI when the runtime goes away for good: a command waiting on a job
// tries to resume for --reconnect-timeout seconds, then exits 3 with one line
// saying so. Against a real `cli.ts serve --demo` process killed by SIGKILL.

import assert from "node:assert/strict";
import { within } from "../_helpers.ts";
import { spawnCli, startServe } from "../_serve.ts";

Deno.test("cli submit of a long job exits 3 within --reconnect-timeout once the runtime is killed", async () => {
  const served = await startServe("t-lost1");
  const connection = ["--url", served.url, "--token", "t-lost1"];
  const submit = spawnCli([
    "submit",
    ...connection,
    "--reconnect-timeout",
    "2",
    "sleep",
    '{"ms":600000}',
  ]);
  try {
    await submit.waitFor(/accepted: sleep/);
  } finally {
    await served.kill();
  }
  // Two seconds of attempts, plus the time to start and stop on a loaded machine.
  const { code, stderr } = await within(submit.finished, "submit to give up", 30_000);
  assert.equal(code, 3, stderr);
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(
    lines[0]!,
    /^Session failed: Cannot resume session sess_\S+: no connection within 2 s \(\d+ attempts?\); the last failed: Cannot connect to ws:\/\/127\.0\.0\.1:\d+\/arcp: connection refused: nothing listens on 127\.0\.0\.1:\d+$/,
  );
});
