// Run by Bun (tests/store/postgres_bun_test.ts): the runtime store
// conformance cases of tests/store/conformance.ts, the same list Deno runs in
// postgres_test.ts, against the PostgreSQL server at the URL given as the
// first argument, each case on a fresh schema. Prints one line per case
// (`ok NAME` or `FAIL NAME: ERROR`) and ends with `N passed, N failed`;
// exits 1 when a case failed.
//
// Not a `*.test.ts` file: `bun test tests/bun/` has no server to give it.

import process from "node:process";
import { openPostgresStore } from "../../store/postgres.ts";
import { runtimeStoreCases } from "../store/conformance.ts";

/** How long one case may take before it counts as hung. */
const CASE_TIMEOUT_MS = 60_000;

const url = process.argv[2];
if (url === undefined) throw new TypeError("Usage: bun postgres_store.ts <postgres-url>");

function withTimeout(promise: Promise<void>, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish within ${CASE_TIMEOUT_MS} ms`)),
      CASE_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

let passed = 0;
let failed = 0;
let schemas = 0;
for (const { name, fn } of runtimeStoreCases()) {
  try {
    await withTimeout(
      (async () => {
        const store = await openPostgresStore({ url, schema: `bun_${++schemas}` });
        try {
          await fn(store);
        } finally {
          await store.close();
        }
      })(),
      name,
    );
    passed++;
    console.log(`ok ${name}`);
  } catch (error) {
    failed++;
    const message = error instanceof Error ? error.stack ?? error.message : String(error);
    console.log(`FAIL ${name}: ${message}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
