// `cli.ts serve` as an operator meets its storage and port failures, with
// real processes: each is one line on stderr and exit code 1, no stack trace.

import assert from "node:assert/strict";
import { runCli, spawnCli, startServe } from "../_serve.ts";

async function withDir(test: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "arcp-serve-failures-" });
  try {
    await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts a one-line failure matching `pattern` and exit code 1. */
function assertOneLine(result: { code: number; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /Uncaught|^\s+at /m);
}

const serveArgs = ["serve", "--port", "0", "--token", "t=tester"];

Deno.test("cli serve: a --kv-path that is a directory, a corrupt file, in a missing directory or not permitted is one line and exit 1", () =>
  withDir(async (dir) => {
    const garbage = `${dir}/garbage.kv`;
    await Deno.writeFile(garbage, crypto.getRandomValues(new Uint8Array(8192)));
    const cases: [string, RegExp][] = [
      [dir, /^Cannot open the Deno KV file ".*": it is a directory$/],
      [garbage, /^Cannot open the Deno KV file ".*garbage\.kv": it is not a Deno KV database/],
      [
        `${dir}/missing/runtime.kv`,
        /^Cannot open the Deno KV file ".*": its directory ".*missing" does not exist$/,
      ],
    ];
    // Refused even to root: a file the OS will not let anyone create.
    if (Deno.build.os === "linux") {
      cases.push(["/sys/arcp-test.kv", /^Cannot open the Deno KV file ".*": Permission denied$/]);
    }
    for (const [path, pattern] of cases) {
      assertOneLine(await runCli([...serveArgs, "--kv-path", path]), pattern);
    }
  }));

Deno.test("cli serve: a port already in use is one line and exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const { port } = listener.addr as Deno.NetAddr;
    const result = await runCli(["serve", "--store", "memory", "--port", `${port}`]);
    assertOneLine(result, new RegExp(`^Cannot listen on 127\\.0\\.0\\.1:${port}: .*in use$`));
  } finally {
    listener.close();
  }
});

Deno.test("cli serve: the KV file deleted while serving stops serve with one clear error and exit 1", () =>
  withDir(async (dir) => {
    const path = `${dir}/runtime.kv`;
    const served = spawnCli([...serveArgs, "--kv-path", path]);
    await served.waitFor(/listening on/);
    await Deno.remove(path);
    const { code, stderr } = await served.finished;
    assert.equal(code, 1);
    assert.match(stderr, /The Deno KV file ".*runtime\.kv" was deleted while serving: stopping/);
    assert.doesNotMatch(stderr, /Uncaught/);
  }));

Deno.test("cli serve: a KV file left in place is served until stopped, exit 0", () =>
  withDir(async (dir) => {
    const served = await startServe("t", `${dir}/runtime.kv`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal((await served.stop()).code, 0);
  }));

Deno.test("cli serve: a PostgreSQL database that cannot be reached is one line and exit 1, no password shown", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const url = `postgres://arcp:secret@127.0.0.1:${port}/arcp`;
  const result = await runCli([...serveArgs, "--store", "postgres", "--postgres-url", url]);
  assertOneLine(
    result,
    new RegExp(
      `^Cannot open the PostgreSQL store at postgres://arcp:\\*\\*\\*@127\\.0\\.0\\.1:${port}/arcp: .*ECONNREFUSED`,
    ),
  );
  assert.doesNotMatch(result.stderr, /secret/);
  const named = await runCli([
    ...serveArgs,
    "--store",
    "postgres",
    "--postgres-url",
    url,
    "--postgres-schema",
    "no-dashes",
  ]);
  assertOneLine(
    named,
    /^Cannot open the PostgreSQL store at .*: Invalid PostgreSQL schema name "no-dashes"/,
  );
});
