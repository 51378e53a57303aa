// The CLI as a user meets it: what `submit`, `watch`, `jobs`, `cancel`,
// `agents` and `version` print, with and without --json, against a real
// `cli.ts serve --demo` process over a real WebSocket on 127.0.0.1.

import assert from "node:assert/strict";
import { demoAgents } from "../../cli/demo_agents.ts";
import { serveHttp } from "../_helpers.ts";
import { runCli, spawnCli, startServe } from "../_serve.ts";

function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
}

/** Fails unless `line` has the shape every --json line has: {type, payload, job_id?}. */
function assertEnvelope(line: Record<string, unknown>, where: string): void {
  assert.equal(typeof line.type, "string", where);
  assert.ok(
    typeof line.payload === "object" && line.payload !== null && !Array.isArray(line.payload),
    `${where}: payload is not an object: ${JSON.stringify(line)}`,
  );
  if ("job_id" in line) assert.equal(typeof line.job_id, "string", where);
}

/** The text the demo `report` agent streams for `bytes` bytes. */
function reportText(bytes: number): string {
  let text = "";
  for (let line = 1; text.length < bytes; line++) text += `ARCP demo report, line ${line}\n`;
  return text.slice(0, bytes);
}

/** A port on 127.0.0.1 nothing listens on (it was free a moment ago). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

Deno.test("cli submit and watch print a streamed result assembled, not its chunks", async () => {
  const served = await startServe("t-out1");
  const connection = ["--url", served.url, "--token", "t-out1"];
  try {
    const expected = reportText(300);
    const text = await runCli(["submit", ...connection, "report", '{"bytes":300}']);
    assert.equal(text.code, 0, text.stderr);
    // A newline ends the text, which the report itself does not.
    assert.ok(text.stdout.endsWith(`result (300 bytes):\n${expected}\n`), text.stdout);
    assert.match(text.stdout, /summary: Report of 300 bytes\n/);
    assert.doesNotMatch(text.stdout, /undefined/);
    // Each chunk is one short line; the data is printed once, in the result.
    assert.equal(text.stdout.split("ARCP demo report, line 1\n").length, 2);
    assert.match(text.stdout, /^\[1\] result_chunk chunk 0 of res_\S+( \(last\))?$/m);

    const json = jsonLines(
      (await runCli(["submit", ...connection, "--json", "--detach", "report", '{"bytes":300}']))
        .stdout,
    );
    const jobId = json[0]!.job_id as string;
    const watched = await runCli(["watch", ...connection, "--json", jobId]);
    assert.equal(watched.code, 0, watched.stderr);
    const result = jsonLines(watched.stdout).at(-1)!;
    assert.equal(result.type, "job.result");
    assert.equal(result.job_id, jobId);
    const payload = result.payload as { result: string; result_size: number; summary: string };
    assert.equal(payload.result, expected);
    assert.equal(payload.result_size, 300);
    assert.equal(payload.summary, "Report of 300 bytes");
  } finally {
    assert.equal((await served.stop()).code, 0);
  }
});

Deno.test("cli watch --live of a finished streamed-result job reports its success without the data", async () => {
  const served = await startServe("t-out6");
  const connection = ["--url", served.url, "--token", "t-out6"];
  try {
    const submitted = await runCli(["submit", ...connection, "--json", "report", '{"bytes":300}']);
    assert.equal(submitted.code, 0, submitted.stderr);
    const jobId = jsonLines(submitted.stdout)[0]!.job_id as string;
    const why =
      /Streamed result res_\S+ is not available to this subscriber: all its chunks were emitted before the events it received \(subscribe with history while the runtime still holds the job's events\)/;

    const text = await runCli(["watch", ...connection, "--live", jobId]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stderr, "");
    assert.match(text.stdout, /summary: Report of 300 bytes\n/);
    assert.match(text.stdout, new RegExp(`result \\(300 bytes\\): not shown: ${why.source}\n$`));
    assert.doesNotMatch(text.stdout, /INTERNAL_ERROR|ARCP demo report/);

    const json = await runCli(["watch", ...connection, "--json", "--live", jobId]);
    assert.equal(json.code, 0, json.stderr);
    const result = jsonLines(json.stdout).at(-1)!;
    assertEnvelope(result, "watch --live --json");
    assert.equal(result.type, "job.result");
    const payload = result.payload as { result_unavailable: string; result_size: number };
    assert.equal(payload.result_size, 300);
    assert.match(payload.result_unavailable, why);

    // With the replay, the same job's result is there, whole.
    const replayed = await runCli(["watch", ...connection, jobId]);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.ok(replayed.stdout.endsWith(`result (300 bytes):\n${reportText(300)}\n`));
  } finally {
    assert.equal((await served.stop()).code, 0);
  }
});

Deno.test("cli submit --detach says how the job can be followed and cancelled later", async () => {
  const served = await startServe("t-out2");
  const connection = ["--url", served.url, "--token", "t-out2"];
  const dir = await Deno.makeTempDir({ prefix: "arcp-cli-detach-" });
  try {
    const bare = await runCli(["submit", ...connection, "--detach", "sleep", '{"ms":100}']);
    assert.equal(bare.code, 0, bare.stderr);
    const jobId = /^job (\S+) accepted: sleep$/m.exec(bare.stdout)![1]!;
    assert.match(bare.stderr, new RegExp(`follow it with: cli\\.ts watch ${jobId}`));
    assert.match(bare.stderr, /It cannot be cancelled: only the session that submitted a job/);
    assert.match(
      bare.stderr,
      /submit with --session PATH and cancel with: cli\.ts cancel --session/,
    );

    const session = `${dir}/session.kv`;
    const kept = await runCli([
      "submit",
      ...connection,
      "--detach",
      "--session",
      session,
      "sleep",
      '{"ms":600000}',
    ]);
    const keptId = /^job (\S+) accepted: sleep$/m.exec(kept.stdout)![1]!;
    const hint = new RegExp(`cancel it with: cli\\.ts cancel --session ${session} ${keptId}`);
    assert.match(kept.stderr, hint);
    // The hint is a command that works.
    const cancelled = await runCli(["cancel", ...connection, "--session", session, keptId]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
  } finally {
    assert.equal((await served.stop()).code, 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli numeric options are usage errors (exit 2) naming the flag, in every command", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["submit", "--max-runtime", "abc", "echo"],
      /Invalid --max-runtime "abc": expected a number > 0/,
    ],
    [["submit", "--max-runtime", "0", "echo"], /Invalid --max-runtime "0"/],
    [["submit", "--max-runtime", "", "echo"], /Invalid --max-runtime ""/],
    [["jobs", "--limit", "2.5"], /Invalid --limit "2\.5": expected an integer >= 1/],
    [["jobs", "--limit", "many"], /Invalid --limit "many"/],
    [
      ["watch", "--reconnect-timeout=-1", "job_1"],
      /Invalid --reconnect-timeout "-1": expected a number >= 0/,
    ],
    [["cancel", "--reconnect-timeout", "soon", "job_1"], /Invalid --reconnect-timeout "soon"/],
    [["serve", "--port", "70000"], /Invalid --port "70000": expected an integer >= 0 and <= 65535/],
    [["serve", "--port", "http"], /Invalid --port "http"/],
    [["serve", "--resume-window", "1e400"], /Invalid --resume-window "1e400"/],
    [["serve", "--heartbeat=-1"], /Invalid --heartbeat "-1": expected a number > 0/],
    [
      ["serve", "--jwt-secret", "s", "--jwt-clock-tolerance", "soon"],
      /Invalid --jwt-clock-tolerance "soon": expected a number >= 0/,
    ],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(args);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(" "));
    assert.equal(result.stderr.trim().split("\n").length, 1, args.join(" "));
  }
});

Deno.test("cli version --help and agents --help print their usage", async () => {
  for (const command of ["version", "agents"]) {
    const help = await runCli([command, "--help"]);
    assert.equal(help.code, 0, command);
    assert.match(help.stdout, new RegExp(`^Usage: cli.ts ${command} `), command);
  }
  const top = await runCli(["--help"]);
  assert.match(
    top.stdout,
    /every line on stdout is one JSON object \{"type", "payload", "job_id"\?\}/,
  );
});

Deno.test("cli connection failures print one line saying what happened, and exit 3", async () => {
  const served = await startServe("t-out3");
  await using http = await serveHttp(() => new Response("Not found\n", { status: 404 }));
  try {
    const refused = `ws://127.0.0.1:${freePort()}/arcp`;
    const wrongPath = `ws://127.0.0.1:${http.port}/arcp`;
    const tls = served.url.replace("ws://", "wss://");
    const cases: [string, string, RegExp][] = [
      [refused, "t-out3", /connection refused: nothing listens on 127\.0\.0\.1:\d+$/],
      [wrongPath, "t-out3", /HTTP 404 Not Found: 127\.0\.0\.1:\d+ serves nothing at \/arcp/],
      [tls, "t-out3", /TLS failure with 127\.0\.0\.1:\d+: .+\(is it a TLS server\?/],
      [served.url, "wrong", /UNAUTHENTICATED Invalid bearer token$/],
    ];
    for (const [url, token, message] of cases) {
      const result = await runCli(["jobs", "--url", url, "--token", token]);
      assert.equal(result.code, 3, url);
      const lines = result.stderr.trim().split("\n");
      assert.equal(lines.length, 1, result.stderr);
      assert.ok(lines[0]!.startsWith(`Cannot connect to ${url}: `), lines[0]);
      assert.match(lines[0]!, message);
      assert.doesNotMatch(result.stderr, /code 0/);
      const json = await runCli(["jobs", "--json", "--url", url, "--token", token]);
      assert.equal(json.code, 3);
      const [line] = jsonLines(json.stdout);
      assertEnvelope(line!, url);
      assert.equal(line!.type, "connection.error");
      assert.equal((line!.payload as { message: string }).message, lines[0]);
    }
  } finally {
    assert.equal((await served.stop()).code, 0);
  }
});

Deno.test("cli --json: every line of every command is {type, payload, job_id?}", async () => {
  const served = spawnCli([
    "serve",
    "--demo",
    "--json",
    "--store",
    "memory",
    "--port",
    "0",
    "--token",
    "t-out4=tester",
  ]);
  const listening = jsonLines(await served.waitFor(/"listening"/)).at(-1)!;
  const url = (listening.payload as { url: string }).url;
  const connection = ["--url", url, "--token", "t-out4", "--json"];
  const dir = await Deno.makeTempDir({ prefix: "arcp-cli-json-" });
  const session = ["--session", `${dir}/session.kv`];
  try {
    const outputs: [string, string][] = [];
    const run = async (...args: string[]) => {
      const result = await runCli(args);
      outputs.push([args.join(" "), result.stdout]);
      return result;
    };
    await run("submit", ...connection, "count", '{"n":2}');
    await run("submit", ...connection, "report", '{"bytes":50}');
    await run("submit", ...connection, "fail", '{"message":"no"}');
    await run("submit", ...connection, "echo@9.9.9", "1");
    const detached = await run(
      "submit",
      ...connection,
      ...session,
      "--detach",
      "sleep",
      '{"ms":600000}',
    );
    const jobId = jsonLines(detached.stdout)[0]!.job_id as string;
    await run("jobs", ...connection);
    await run("watch", ...connection, "job_unknown");
    await run("cancel", ...connection, ...session, jobId);
    await run("cancel", ...connection, "job_unknown");
    await run("watch", ...connection, jobId);
    await run("version", "--json");
    await run("agents", "--json");
    for (const [command, stdout] of outputs) {
      const lines = jsonLines(stdout);
      assert.ok(lines.length > 0, command);
      for (const line of lines) assertEnvelope(line, command);
    }
    const types = new Set(outputs.flatMap(([, stdout]) => jsonLines(stdout).map((l) => l.type)));
    for (
      const type of [
        "job.accepted",
        "job.event",
        "job.result",
        "job.error",
        "job.summary",
        "job.subscribed",
        "job.cancelled",
        "session.error",
        "version",
        "agent",
      ]
    ) assert.ok(types.has(type), type);
  } finally {
    served.kill("SIGTERM");
    const { code, stdout } = await served.finished;
    assert.equal(code, 0);
    for (const line of jsonLines(stdout)) assertEnvelope(line, "serve");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli agents lists every demo agent with its input and lease, and each example runs", async () => {
  const listed = await runCli(["agents", "--json"]);
  assert.equal(listed.code, 0);
  const guide = jsonLines(listed.stdout).map((line) =>
    line.payload as { name: string; input: string; example: unknown; lease: unknown }
  );
  assert.deepEqual(guide.map((agent) => agent.name), [
    ...new Set(demoAgents().map((agent) => agent.name)),
  ]);
  const text = await runCli(["agents"]);
  for (const agent of guide) {
    assert.match(
      text.stdout,
      new RegExp(`^${agent.name}: .+\\n  input: .+\\n  lease: .+\\n  try: `, "m"),
    );
  }

  const served = await startServe("t-out5");
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "arcp-cli-agents-" }));
  await Deno.writeTextFile(`${root}/a.txt`, "one two\n");
  await using http = await serveHttp(() => new Response("ok"));
  try {
    for (const agent of guide) {
      // The two examples that name a place are pointed at ones of this test.
      const here = (value: unknown) =>
        JSON.parse(
          JSON.stringify(value).replaceAll("/srv/project", root)
            .replaceAll("127.0.0.1:8000", `127.0.0.1:${http.port}`),
        );
      const args = ["submit", "--url", served.url, "--token", "t-out5", "--json"];
      if (agent.lease !== null) args.push("--lease", JSON.stringify(here(agent.lease)));
      if (agent.name === "sleep") args.push("--max-runtime", "1");
      const input = agent.name === "sleep" ? { ms: 10 } : here(agent.example);
      const result = await runCli([...args, agent.name, JSON.stringify(input)]);
      const last = jsonLines(result.stdout).at(-1)!;
      if (agent.name === "fail") {
        assert.equal((last.payload as { code: string }).code, "INTERNAL_ERROR");
        continue;
      }
      assert.equal(result.code, 0, `${agent.name}: ${result.stderr}`);
      assert.equal(last.type, "job.result", agent.name);
      assert.doesNotMatch(result.stdout, /PERMISSION_DENIED/, agent.name);
    }
  } finally {
    assert.equal((await served.stop()).code, 0);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the dashboard's lease placeholder is one the spend agent runs under", async () => {
  const page = await Deno.readTextFile(
    new URL("../../examples/dashboard/index.html", import.meta.url),
  );
  const placeholder = /id="submit-lease"[^>]*placeholder='([^']+)'/.exec(page)?.[1];
  assert.ok(placeholder, "no lease placeholder");
  const served = await startServe("t-out6");
  try {
    const result = await runCli([
      "submit",
      "--url",
      served.url,
      "--token",
      "t-out6",
      "--json",
      "--lease",
      placeholder,
      "spend",
      '{"costs":[0.25,0.5],"currency":"USD"}',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      (jsonLines(result.stdout).at(-1)!.payload as { result: unknown }).result,
      { spent: 0.75 },
    );
  } finally {
    assert.equal((await served.stop()).code, 0);
  }
});
