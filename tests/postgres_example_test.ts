// examples/postgres.ts against a throwaway PostgreSQL server: it runs to
// completion, its job's events and result arrive over the WebSocket, and a
// second runtime on the same database lists the finished job.

import assert from "node:assert/strict";
import { startPostgres } from "./_postgres.ts";

const server = await startPostgres();

if (typeof server === "string") {
  Deno.test({ name: `examples/postgres.ts: skipped, ${server}`, ignore: true, fn() {} });
} else {
  globalThis.addEventListener("unload", () => server.stop());

  Deno.test("examples/postgres.ts runs a job on a PostgreSQL store and the next runtime lists it", async () => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../examples/postgres.ts", import.meta.url).pathname],
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0", DATABASE_URL: server.url },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const text = new TextDecoder();
    const output = text.decode(stdout);
    assert.equal(code, 0, `examples/postgres.ts failed:\n${output}\n${text.decode(stderr)}`);
    assert.match(output, /^ {2}#3 progress \{"current":3,"total":3/m);
    assert.match(output, /^job ended: success, result \{"counted":3\}$/m);
    assert.match(output, /^the next runtime lists job job_\w+: success$/m);
  });
}
