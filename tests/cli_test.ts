// End-to-end tests of the CLI contract: a real `cli.ts serve --demo` process,
// real `cli.ts submit` processes, a real WebSocket on 127.0.0.1.

import assert from "node:assert/strict";

import { SignJWT } from "jose";

import { helloFrame } from "./_raw.ts";
import { rawSession, runCli, spawnCli, startServe } from "./_serve.ts";

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
  // The real path: the agent walks the path it is given, and the lease is checked on real paths.
  const root = await Deno.realPath(await Deno.makeTempDir());
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
      JSON.stringify({ "fs.read": [`${root}/**`] }),
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
    // Through the lease: a listing of each directory walked (the root, docs, docs/deep and src;
    // node_modules is not entered) and a read of each file.
    const calls = events.filter((e) => e.payload.kind === "tool_call");
    const results = events.filter((e) => e.payload.kind === "tool_result");
    const tools = calls.map((e) => e.payload.body.tool);
    assert.equal(tools.filter((tool) => tool === "fs.read_dir").length, 4);
    assert.equal(tools.filter((tool) => tool === "fs.read").length, 8);
    assert.equal(calls.length, 12);
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

Deno.test("cli --help of every command exits 0; usage errors exit 2", async () => {
  for (const command of ["serve", "submit", "jobs", "watch", "cancel"]) {
    const help = await runCli([command, "--help"]);
    assert.equal(help.code, 0, command);
    assert.match(help.stdout, new RegExp(`^Usage: cli.ts ${command} `), command);
  }
  const top = await runCli(["--help"]);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /deno install -g -A --unstable-kv -n arcp jsr:@arcp\/arcp\/cli/);
  assert.match(top.stdout, /Exit codes: 0 success; 1 the job ended in error/);

  const version = await runCli(["version", "--json"]);
  assert.equal(version.code, 0);
  const versionLine = JSON.parse(version.stdout);
  assert.equal(versionLine.type, "version");
  assert.deepEqual(Object.keys(versionLine.payload), ["name", "version", "protocol", "accepts"]);
  assert.equal(versionLine.payload.protocol, "1.1");

  const usageErrors: [string[], RegExp][] = [
    [[], /^Usage: cli.ts <command>/],
    [["watch"], /^Usage: cli.ts watch/],
    [["cancel", "job_a", "job_b"], /^Usage: cli.ts cancel/],
    [["jobs", "--status", "done"], /Invalid --status "done": expected one of pending, running/],
    [["jobs", "--limit", "0"], /Invalid --limit "0"/],
    [["jobs", "--created-after", "yesterday"], /Invalid --created-after "yesterday"/],
    [["submit", "--bogus", "echo"], /bogus/],
    [["submit", "echo", "{not json"], /Invalid JSON/],
    [
      ["serve", "--jwt-issuer", "https://idp.example"],
      /--jwt-issuer needs --jwt-secret or --jwt-jwks/,
    ],
    [["serve", "--jwt-secret", "s", "--jwt-jwks", "https://idp.example/jwks"], /exactly one/],
    [["serve", "--jwt-allow-no-exp"], /--jwt-allow-no-exp needs --jwt-secret or --jwt-jwks/],
    [
      ["serve", "--jwt-secret", "s", "--jwt-max-lifetime", "0"],
      /Invalid --jwt-max-lifetime "0": expected a number > 0/,
    ],
    [["version", "--verbose"], /Unknown option '--verbose'/],
    [["version", "extra"], /version takes only --json/],
  ];
  for (const [args, message] of usageErrors) {
    const result = await runCli(args);
    assert.equal(result.code, 2, args.join(" "));
    assert.match(result.stdout + result.stderr, message, args.join(" "));
  }
});

Deno.test("cli serve --json prints the listening URL, a generated token and the stop as JSON lines", async () => {
  const served = spawnCli(["serve", "--json", "--store", "memory", "--port", "0"]);
  const early = await served.waitFor(/"listening"/);
  const [generated, listening] = jsonLines(early) as [
    { type: string; payload: { token: string } },
    { type: string; payload: { url: string } },
  ];
  assert.equal(generated.type, "generated_token");
  assert.equal(listening.type, "listening");
  const listed = await runCli([
    "jobs",
    "--url",
    listening.payload.url,
    "--token",
    generated.payload.token,
  ]);
  assert.equal(listed.code, 0);
  assert.equal(listed.stdout, "no jobs\n");
  served.kill("SIGTERM");
  const { code, stdout } = await served.finished;
  assert.equal(code, 0);
  assert.deepEqual(jsonLines(stdout).at(-1), { type: "stopped", payload: {} });
});

Deno.test("cli jobs lists the principal's jobs with filters, as a table or JSON lines", async () => {
  const served = await startServe("t3", undefined, ["--token", "other=bob"]);
  const connection = ["--url", served.url, "--token", "t3"];
  try {
    for (
      const [agent, input] of [["echo@1.0.0", "1"], ["echo", "2"], ["fail", "{}"], [
        "count",
        '{"n":1}',
      ]]
    ) {
      await runCli(["submit", ...connection, agent!, input!]);
    }
    const list = async (...args: string[]) => {
      const { code, stdout, stderr } = await runCli(["jobs", ...connection, "--json", ...args]);
      assert.equal(code, 0, stderr);
      const lines = jsonLines(stdout) as unknown as Array<
        {
          type: string;
          job_id: string;
          payload: { job_id: string; agent: string; status: string; created_at: string };
        }
      >;
      for (const line of lines) {
        assert.equal(line.type, "job.summary");
        assert.equal(line.job_id, line.payload.job_id);
      }
      return lines.map((line) => line.payload);
    };
    const all = await list();
    assert.deepEqual(all.map((job) => [job.agent, job.status]), [
      ["echo@1.0.0", "success"],
      ["echo@2.0.0", "success"],
      ["fail", "error"],
      ["count", "success"],
    ]);
    const ids = (jobs: Array<{ job_id: string }>) => jobs.map((job) => job.job_id);
    assert.deepEqual(ids(await list("--status", "error")), [all[2]!.job_id]);
    assert.deepEqual(ids(await list("--status", "error,running")), [all[2]!.job_id]);
    assert.deepEqual(ids(await list("--status", "error", "--status", "success")), ids(all));
    assert.deepEqual(ids(await list("--agent", "echo")), ids(all.slice(0, 2)));
    assert.deepEqual(ids(await list("--agent", "echo@1.0.0")), [all[0]!.job_id]);
    assert.deepEqual(ids(await list("--limit", "3")), ids(all.slice(0, 3)));
    assert.deepEqual(ids(await list("--created-after", all[0]!.created_at)), ids(all.slice(1)));
    assert.deepEqual(ids(await list("--created-before", all[1]!.created_at)), [all[0]!.job_id]);
    assert.deepEqual(await list("--created-after", "2999-01-01T00:00:00Z"), []);

    const table = await runCli(["jobs", ...connection, "--status", "success"]);
    assert.equal(table.code, 0);
    const rows = table.stdout.trimEnd().split("\n").map((line) => line.split(/\s+/));
    assert.deepEqual(rows[0], ["JOB", "STATUS", "CREATED", "AGENT"]);
    assert.deepEqual(
      rows.slice(1),
      all.filter((job) => job.status === "success").map((job) => [
        job.job_id,
        job.status,
        job.created_at,
        job.agent,
      ]),
    );

    const otherPrincipal = await runCli(["jobs", "--url", served.url, "--token", "other"]);
    assert.equal(otherPrincipal.code, 0);
    assert.equal(otherPrincipal.stdout, "no jobs\n");
    const badToken = await runCli(["jobs", "--url", served.url, "--token", "wrong"]);
    assert.equal(badToken.code, 3);
    assert.match(badToken.stderr, /UNAUTHENTICATED/);
  } finally {
    assert.equal((await served.stop()).code, 0);
  }
});

Deno.test("cli watch follows another client's job to its end; cancel needs the submitting session", async () => {
  const served = await startServe("t4", undefined, ["--token", "other=bob"]);
  const connection = ["--url", served.url, "--token", "t4"];
  const dir = await Deno.makeTempDir({ prefix: "arcp-cli-session-" });
  const session = ["--session", `${dir}/session.kv`];
  try {
    const submitted = await runCli([
      "submit",
      ...connection,
      ...session,
      "--detach",
      "--json",
      "sleep",
      '{"ms":600000}',
    ]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const [accepted] = jsonLines(submitted.stdout) as [
      { type: string; payload: { job_id: string } },
    ];
    assert.equal(accepted.type, "job.accepted");
    const jobId = accepted.payload.job_id;

    const watcher = spawnCli(["watch", ...connection, "--json", jobId]);
    const subscribed = jsonLines(await watcher.waitFor(/"job\.subscribed"/))[0] as {
      payload: { job_id: string; current_status: string; agent: string };
    };
    assert.deepEqual(
      [subscribed.payload.job_id, subscribed.payload.current_status, subscribed.payload.agent],
      [jobId, "running", "sleep"],
    );

    const foreign = await runCli(["watch", "--url", served.url, "--token", "other", jobId]);
    assert.equal(foreign.code, 1);
    assert.match(foreign.stderr, /error PERMISSION_DENIED/);
    const otherSession = await runCli(["cancel", ...connection, jobId]);
    assert.equal(otherSession.code, 1);
    assert.match(otherSession.stderr, /error PERMISSION_DENIED: Only the session that submitted/);

    const cancelled = await runCli(["cancel", ...connection, ...session, "--json", jobId]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.deepEqual(jsonLines(cancelled.stdout), [
      { type: "job.cancelled", job_id: jobId, payload: {} },
    ]);

    const watched = await watcher.finished;
    assert.equal(watched.code, 1);
    const last = jsonLines(watched.stdout).at(-1) as { type: string; payload: { code: string } };
    assert.deepEqual([last.type, last.payload.code], ["job.error", "CANCELLED"]);
    assert.match(watched.stderr, /error CANCELLED/);

    const again = await runCli(["cancel", ...connection, ...session, jobId]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /error INVALID_REQUEST: .*already ended as cancelled/);
    const unknown = await runCli(["cancel", ...connection, "--json", "job_unknown"]);
    assert.equal(unknown.code, 1);
    assert.equal((jsonLines(unknown.stdout)[0]!.payload as { code: string }).code, "JOB_NOT_FOUND");
    const listed = await runCli(["jobs", ...connection, "--json", "--status", "cancelled"]);
    assert.deepEqual(jsonLines(listed.stdout).map((line) => line.job_id), [jobId]);

    const counting = await runCli([
      "submit",
      ...connection,
      "--detach",
      "--json",
      "count",
      '{"n":3,"delay_ms":100}',
    ]);
    const countId = (jsonLines(counting.stdout)[0]!.payload as { job_id: string }).job_id;
    const success = await runCli(["watch", ...connection, "--json", countId]);
    assert.equal(success.code, 0, success.stderr);
    assert.deepEqual(jsonLines(success.stdout).at(-1), {
      type: "job.result",
      job_id: countId,
      payload: { final_status: "success", result: { count: 3 } },
    });

    const failing = await runCli([
      "submit",
      ...connection,
      "--detach",
      "fail",
      '{"message":"bad"}',
    ]);
    const failId = /^job (\S+) accepted: fail$/m.exec(failing.stdout)![1]!;
    const failed = await runCli(["watch", ...connection, failId]);
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, new RegExp(`^watching job ${failId}: fail \\(`));
    assert.match(failed.stderr, /error INTERNAL_ERROR: bad/);

    const badToken = await runCli(["watch", "--url", served.url, "--token", "wrong", countId]);
    assert.equal(badToken.code, 3);
  } finally {
    assert.equal((await served.stop()).code, 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli serve accepts static tokens and JWTs together, static tokens first", async () => {
  const secret = "a-long-random-shared-secret-for-tests";
  const jwt = (issuer: string, claims: Record<string, unknown> = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("tester")
      .setIssuer(issuer)
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(secret));
  // A valid JWT of "tester" that is also a static token of "bob": bob wins.
  const shadowed = await jwt("https://idp.example", { shadowed: true });
  const served = await startServe("t5", undefined, [
    "--token",
    `${shadowed}=bob`,
    "--jwt-secret",
    secret,
    "--jwt-issuer",
    "https://idp.example",
    "--jwt-clock-tolerance",
    "0",
  ]);
  const agentsOf = async (token: string) => {
    const listed = await runCli(["jobs", "--url", served.url, "--token", token, "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    return jsonLines(listed.stdout).map((line) => (line.payload as { agent: string }).agent);
  };
  try {
    const viaJwt = await runCli([
      "submit",
      "--url",
      served.url,
      "--token",
      await jwt("https://idp.example"),
      "echo",
      '"signed"',
    ]);
    assert.equal(viaJwt.code, 0, viaJwt.stderr);
    // The JWT's subject is the static token's principal: the same jobs.
    assert.deepEqual(await agentsOf("t5"), ["echo@2.0.0"]);
    assert.deepEqual(await agentsOf(shadowed), []);
    const wrongIssuer = await runCli([
      "jobs",
      "--url",
      served.url,
      "--token",
      await jwt("https://evil.example"),
    ]);
    assert.equal(wrongIssuer.code, 3);
    assert.match(wrongIssuer.stderr, /UNAUTHENTICATED/);
  } finally {
    assert.equal((await served.stop()).code, 0);
  }
});

Deno.test("cli serve refuses JWTs without exp, and beyond --jwt-max-lifetime, saying why", async () => {
  const secret = new TextEncoder().encode("a-long-random-shared-secret-for-tests");
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT({ sub: "tester", ...claims }).setProtectedHeader({ alg: "HS256" }).sign(secret);
  const errorOf = async (url: string, token: string) => {
    const frames = await rawSession(url, helloFrame(token), (read) => read.length > 0);
    return frames.map((frame) => frame.payload as { code?: string; message?: string });
  };
  const issued = Math.floor(Date.now() / 1000);
  const strict = await startServe("t7", undefined, [
    "--jwt-secret",
    new TextDecoder().decode(secret),
    "--jwt-max-lifetime",
    "600",
  ]);
  try {
    const [noExp] = await errorOf(strict.url, await sign({ iat: issued }));
    assert.equal(noExp?.code, "UNAUTHENTICATED");
    assert.match(noExp?.message ?? "", /no "exp" claim, so it never expires/);
    const [long] = await errorOf(strict.url, await sign({ iat: issued, exp: issued + 3600 }));
    assert.equal(long?.code, "UNAUTHENTICATED");
    assert.match(long?.message ?? "", /maxLifetimeSec is 600/);
    const [welcome] = await errorOf(strict.url, await sign({ iat: issued, exp: issued + 300 }));
    assert.ok(welcome !== undefined && welcome.code === undefined);
  } finally {
    assert.equal((await strict.stop()).code, 0);
  }
  const lax = await startServe("t8", undefined, [
    "--jwt-secret",
    new TextDecoder().decode(secret),
    "--jwt-allow-no-exp",
  ]);
  try {
    const listed = await runCli(["jobs", "--url", lax.url, "--token", await sign({})]);
    assert.equal(listed.code, 0, listed.stderr);
  } finally {
    assert.equal((await lax.stop()).code, 0);
  }
});

const hasScript = (() => {
  try {
    return Deno.statSync("/usr/bin/script").isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "cli submit draws a progress bar on a terminal, and not with --json",
  ignore: !hasScript,
  async fn() {
    const served = await startServe("t6");
    const cli = new URL("../cli.ts", import.meta.url).pathname;
    // `script` runs the command on a pseudo-terminal, as a person's shell would.
    const onTerminal = async (...args: string[]) => {
      const command = [Deno.execPath(), "run", "-A", cli, "submit", "--url", served.url]
        .concat("--token", "t6", ...args)
        .map((word) => `'${word.replaceAll("'", "'\\''")}'`)
        .join(" ");
      const { code, stdout } = await new Deno.Command("script", {
        args: ["-qec", command, "/dev/null"],
        env: { NO_COLOR: "1" },
      }).output();
      return { code, stdout: decoder.decode(stdout) };
    };
    try {
      const drawn = await onTerminal("count", '{"n":3}');
      assert.equal(drawn.code, 0);
      assert.match(drawn.stdout, /\r\[#{10}\.{20}\] 1\/3 steps/);
      assert.match(drawn.stdout, /\r\[#{30}\] 3\/3 steps/);
      assert.doesNotMatch(drawn.stdout, /\[\d+\] progress/);
      const json = await onTerminal("--json", "count", '{"n":3}');
      assert.equal(json.code, 0);
      assert.doesNotMatch(json.stdout, /#{30}/);
      assert.equal(jsonLines(json.stdout.replaceAll("\r", "")).length, 5);
    } finally {
      assert.equal((await served.stop()).code, 0);
    }
  },
});

Deno.test("cli.ts installs with deno install and runs as the arcp command", async () => {
  const root = await Deno.makeTempDir({ prefix: "arcp-cli-install-" });
  try {
    const cli = new URL("../cli.ts", import.meta.url).pathname;
    const config = new URL("../deno.json", import.meta.url).pathname;
    const install = await new Deno.Command(Deno.execPath(), {
      args: [
        "install",
        "-g",
        "-A",
        "--unstable-kv",
        "-n",
        "arcp",
        "--root",
        root,
        "--config",
        config,
        cli,
      ],
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(install.code, 0, decoder.decode(install.stderr));
    const denoDir = Deno.execPath().slice(0, Deno.execPath().lastIndexOf("/"));
    const { code, stdout } = await new Deno.Command(`${root}/bin/arcp`, {
      args: ["version"],
      env: { NO_COLOR: "1", PATH: `${denoDir}:${Deno.env.get("PATH") ?? ""}` },
    }).output();
    assert.equal(code, 0);
    assert.match(decoder.decode(stdout), /^@arcp\/arcp \d+\.\d+\.\d+ \(ARCP 1\.1/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
