// The PostgreSQL store under Bun: Deno starts a throwaway server
// (tests/_postgres.ts), then Bun runs the runtime store conformance cases
// against it (tests/bun/postgres_store.ts). Skipped, with a message, where
// Bun or the PostgreSQL server binaries cannot be found.

import assert from "node:assert/strict";
import { BUN, bunWorkspace } from "../_bun.ts";
import { startPostgres } from "../_postgres.ts";
import { runtimeStoreCases } from "./conformance.ts";

const NAME = "PostgresStore under Bun passes every runtime store conformance case";

const server = BUN === undefined
  ? "Bun is not installed (see tests/_bun.ts)"
  : await startPostgres();

if (typeof server === "string") {
  Deno.test({ name: `${NAME}: skipped, ${server}`, ignore: true, fn() {} });
} else {
  globalThis.addEventListener("unload", () => server.stop());
  Deno.test(NAME, async () => {
    await using workspace = await bunWorkspace();
    const { code, stdout, stderr } = await workspace.run([
      "tests/bun/postgres_store.ts",
      server.url,
    ]);
    const output = `${stdout}${stderr}`;
    const cases = runtimeStoreCases().length;
    assert.match(output, new RegExp(`^${cases} passed, 0 failed$`, "m"), output);
    assert.equal(code, 0, output);
  });
}
