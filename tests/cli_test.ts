// End-to-end tests of the CLI contract: a real `cli.ts serve --demo` process,
// real `cli.ts submit` processes, a real WebSocket on 127.0.0.1.

import assert from "node:assert/strict";

import { runCli, startServe } from "./_serve.ts";

const decoder = new TextDecoder();

function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
}

async function writeFixture(root: string): Promise<void> {
  const files: Record<string, string | Uint8Array> = {
    "a.txt": "one two  three\nfour\tfive\n",
    "b.txt": "no trailing newline   here",
    "docs/c.md": "# Title\r\n\r\nCRLF line endings\r\nand\fform\vfeeds\n",
    "docs/deep/d.md": "\n\n\n   \n",
    "src/e.ts": "export const x = 1;\n// comment with    spaces\n\tindented();\n",
    "src/f.ts": "",
    "Makefile": "all:\n\techo hi\n",
    "img.bin": new Uint8Array([0x89, 0x50, 0x00, 0x47, 0x0a]),
    "node_modules/skip.txt": "never counted\n",
  };
  for (const [path, content] of Object.entries(files)) {
    const full = `${root}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(full, content);
    else await Deno.writeFile(full, content);
  }
}

async function wc(paths: string[]): Promise<{ lines: number; words: number; bytes: number }> {
  const totals = { lines: 0, words: 0, bytes: 0 };
  for (const path of paths) {
    const { stdout } = await new Deno.Command("wc", {
      args: ["-l", "-w", "-c", path],
      env: { LC_ALL: "C" },
    }).output();
    const [lines, words, bytes] = decoder.decode(stdout).trim().split(/\s+/).map(Number);
    totals.lines += lines!;
    totals.words += words!;
    totals.bytes += bytes!;
  }
  return totals;
}

Deno.test("cli serve --demo and submit: the files agent counts what `wc` counts, per extension", async () => {
  const root = await Deno.makeTempDir();
  const served = await startServe("cli-token");
  try {
    await writeFixture(root);
    const { code, stdout } = await runCli([
      "submit",
      "--url",
      served.url,
      "--token",
      "cli-token",
      "--json",
      "--lease",
      JSON.stringify({ "fs.read": [`${await Deno.realPath(root)}/**`] }),
      "files",
      JSON.stringify({ root }),
    ]);
    assert.equal(code, 0);
    const lines = jsonLines(stdout);
    const result = lines.at(-1) as { type: string; payload: { result: Record<string, unknown> } };
    assert.equal(result.type, "job.result");
    const report = result.payload.result as {
      files: number;
      by_extension: Record<string, { files: number; lines: number; words: number; bytes: number }>;
      skipped: string[];
    };
    const expected: Record<string, string[]> = {
      ".txt": ["a.txt", "b.txt"],
      ".md": ["docs/c.md", "docs/deep/d.md"],
      ".ts": ["src/e.ts", "src/f.ts"],
      "": ["Makefile"],
    };
    assert.deepEqual(Object.keys(report.by_extension).sort(), Object.keys(expected).sort());
    for (const [extension, paths] of Object.entries(expected)) {
      const counts = await wc(paths.map((p) => `${root}/${p}`));
      assert.deepEqual(
        report.by_extension[extension],
        { files: paths.length, ...counts },
        extension,
      );
    }
    assert.equal(report.files, 7);
    assert.deepEqual(report.skipped, ["img.bin"]);

    const events = lines.filter((line) => line.type === "job.event") as Array<
      { payload: { kind: string; body: Record<string, unknown> } }
    >;
    const progress = events.filter((e) => e.payload.kind === "progress").map((e) => e.payload.body);
    assert.equal(progress.length, 8);
    assert.deepEqual(progress.map((p) => p.current), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.ok(progress.every((p) => p.total === 8 && p.units === "files"));
    const calls = events.filter((e) => e.payload.kind === "tool_call");
    const results = events.filter((e) => e.payload.kind === "tool_result");
    assert.equal(calls.length, 8);
    assert.deepEqual(
      results.map((e) => e.payload.body.call_id),
      calls.map((e) => e.payload.body.call_id),
    );
  } finally {
    const stopped = await served.stop();
    await Deno.remove(root, { recursive: true });
    assert.equal(stopped.code, 0);
    assert.match(stopped.output, /arcp runtime stopped/);
  }
});

Deno.test("cli submit resolves agent versions, prints errors and exits non-zero on failure", async () => {
  const served = await startServe("t2");
  try {
    const submit = (...args: string[]) =>
      runCli(["submit", "--url", served.url, "--token", "t2", "--json", ...args]);
    const pinned = jsonLines((await submit("echo@1.0.0", '"hi"')).stdout);
    assert.deepEqual((pinned.at(-1)!.payload as { result: unknown }).result, {
      echoed: "hi",
      version: "1.0.0",
    });
    const bare = jsonLines((await submit("echo", "[1]")).stdout);
    assert.equal((bare[0]!.payload as { agent: string }).agent, "echo@2.0.0");

    const failed = await submit("fail", '{"message":"boom"}');
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /INTERNAL_ERROR: boom/);

    const missing = await submit("echo@9.9.9", "{}");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /AGENT_VERSION_NOT_AVAILABLE/);

    const counted = jsonLines((await submit("count", '{"n":3}')).stdout);
    const progress = counted.filter((l) => (l.payload as { kind?: string }).kind === "progress");
    assert.deepEqual(
      progress.map((l) => (l.payload as { body: unknown }).body),
      [1, 2, 3].map((current) => ({ current, total: 3, units: "steps" })),
    );
    assert.deepEqual((counted.at(-1)!.payload as { result: unknown }).result, { count: 3 });

    const unauthenticated = await runCli([
      "submit",
      "--url",
      served.url,
      "--token",
      "wrong",
      "echo",
      "1",
    ]);
    assert.equal(unauthenticated.code, 3);
    assert.match(unauthenticated.stderr, /UNAUTHENTICATED/);
  } finally {
    assert.equal((await served.stop()).code, 0);
  }
});

Deno.test("cli version prints the SDK and protocol versions; unknown commands exit 2", async () => {
  const version = await runCli(["version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^@arcp\/arcp \d+\.\d+\.\d+ \(ARCP 1\.1; accepts 1\.0\)/);
  const unknown = await runCli(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command "frobnicate"/);
});
