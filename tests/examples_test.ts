// Every example under examples/ runs to completion as a real process: exit
// code 0 and the lines that show its feature worked, so a broken example
// fails here. The Bun example runs under Bun (skipped where Bun is missing),
// the browser example in Chromium (skipped where Chromium is missing).
// Examples exercised by a test of their own are listed with that test, and
// a last test checks that no example is left out.

import assert from "node:assert/strict";
import { BUN, bunWorkspace } from "./_bun.ts";
import { launchChromium, skipWithoutChromium } from "./browser/_chromium.ts";

const ROOT = new URL("../", import.meta.url);
const EXAMPLES = new URL("examples/", ROOT);
/** Generous: each example finishes in a second or two. */
const TIMEOUT_MS = 60_000;

/** An example run with `deno run -A`, and what its output must show. */
interface Example {
  file: string;
  shows: RegExp[];
}

const RUN_HERE: Example[] = [
  { file: "demo.ts", shows: [/^total\s+\d+/m, /^Runtime stopped \(exit code 0\)\.$/m] },
  {
    file: "submit_and_stream.ts",
    shows: [
      /^ {2}#4 tool_call \{"tool":"split"/m,
      /^ {2}#6 metric \{"name":"words","value":9/m,
      /^job ended: success, result \{"words":9\}$/m,
    ],
  },
  {
    file: "cancel.ts",
    shows: [
      /^cancel acknowledged$/m,
      /^job ended with CANCELLED: the user pressed stop$/m,
      /with max_runtime_sec 1 ended with TIMEOUT$/m,
    ],
  },
  {
    file: "resume.ts",
    shows: [
      /^ {2}client: arcp client: resumed sess_\w+ after event_seq \d+$/m,
      /^10 events over 2 connections, same session sess_\w+: no gap, no duplicate$/m,
    ],
  },
  {
    file: "subscribe.ts",
    shows: [
      /^carol's subscribe refused: PERMISSION_DENIED$/m,
      /^auditor subscribed: job running, history replayed: true$/m,
      /^auditor's cancel refused: PERMISSION_DENIED$/m,
      /^ {2}auditor sees #1: step 1$/m,
      /^ {2}auditor sees #6: step 6$/m,
      /^auditor sees the result \{"built":true\}$/m,
    ],
  },
  {
    file: "list_jobs.ts",
    shows: [
      /^all jobs, three per page:\n {2}page 1\n(?: {4}job_.*\n){3} {2}page 2\n(?: {4}job_.*\n){3} {2}page 3 \(last\)\n(?: {4}job_.*\n){2}/m,
      /^failed jobs:\n {2}page 1 \(last\)\n(?: {4}job_\w+ fail\s+error\n){2}(?! )/m,
      /^jobs created after the checkpoint:\n {2}page 1 \(last\)\n {4}job_\w+ wait\s+running\n(?! )/m,
    ],
  },
  {
    file: "idempotent_retry.ts",
    shows: [
      /^ {2}same job: true$/m,
      /the agent ran 1 time\(s\)$/m,
      /^same key, other amount: DUPLICATE_KEY$/m,
    ],
  },
  {
    file: "agent_versions.ts",
    shows: [
      /^agent greet: versions 1\.0\.0, 1\.1\.0, 2\.0\.0-beta\.1; default 1\.1\.0$/m,
      /^submit greet +-> runs greet@1\.1\.0 +"Hi, Ada"$/m,
      /^submit greet@1\.0\.0 +-> runs greet@1\.0\.0 +"Hello, Ada"$/m,
      /^submit greet@3\.0\.0 +-> refused: AGENT_VERSION_NOT_AVAILABLE$/m,
    ],
  },
  {
    file: "progress.ts",
    shows: [/^ {2}\[\?+\] 1 pages so far \(discovering\)$/m, /^ {2}\[#{20}\] 12\/12 pages 100%$/m],
  },
  {
    file: "result_chunks.ts",
    shows: [
      /^ {2}chunk 0 of res_\w+: 256 bytes, more: true$/m,
      /^ {2}chunk 2 of res_\w+: 247 bytes, more: false$/m,
      /^job\.result: result_id res_\w+, result_size 759, summary "100 rows"$/m,
      /^assembled 759 bytes, 101 lines; last line: 100,10000$/m,
    ],
  },
  {
    file: "leases.ts",
    shows: [
      /^ {2}allowed +fs\.read \{"path":"\$DIR\/data\/notes\.txt"\}$/m,
      /^ {2}PERMISSION_DENIED fs\.read \{"path":"\$DIR\/data\/shortcut\.txt"\}$/m,
      /^ {2}PERMISSION_DENIED fs\.write \{"path":"\$DIR\/data\/notes\.txt"\}$/m,
      /^ {2}PERMISSION_DENIED net\.fetch \{"url":"http:\/\/127\.0\.0\.1:\d+\/private\/admin"/m,
      /^ {2}PERMISSION_DENIED shell /m,
      /^result \{"refused":6\}$/m,
      /^data\/notes\.txt unchanged: true$/m,
    ],
  },
  {
    file: "budget.ts",
    shows: [
      /^ {2}metric cost\.budget\.remaining 0\.7 USD$/m,
      /^ {2}tool_result refused: BUDGET_EXHAUSTED/m,
      /^ {2}job result \{"answered":\["arcp","leases","budgets","chunks"\]\}$/m,
      /^ {2}job error BUDGET_EXHAUSTED$/m,
    ],
  },
  {
    file: "credentials.ts",
    shows: [
      /^runtime offers provisioned_credentials: true$/m,
      /^job\.accepted carries credential cred_\w+:$/m,
      /^status credential_rotated: new value sk-/m,
      /\{"before_rotation":200,"old_value_after_rotation":401,"new_value_after_rotation":200\}$/m,
      /^job ended; credentials left on the handle: 0$/m,
      /^revoked at the gateway: the last value now gets HTTP 401$/m,
    ],
  },
  {
    file: "delegation.ts",
    shows: [
      /^ {2}delegate del_\w+ -> summarise, lease \{"cost\.budget":\["USD:0\.40"\]\}$/m,
      /^ {2}tool_result del_\w+: LEASE_SUBSET_VIOLATION$/m,
      /^child job_\w+: parent job_\w+, success, .*same trace: true$/m,
    ],
  },
  {
    file: "mcp_bridge.ts",
    shows: [
      /^MCP tools: count, glossary, guarded$/m,
      /^ {2}progress 3\/3 step 3$/m,
      /^count -> \{"count":3\}$/m,
      /^guarded -> isError true: PERMISSION_DENIED: not now$/m,
      /"translated":"translate refused: PERMISSION_DENIED"\}$/m,
      /^ {2}tool_call mcp:dictionary\/translate\n {2}tool_result PERMISSION_DENIED$/m,
    ],
  },
  {
    file: "heartbeat.ts",
    shows: [
      // Either side may ping first; the client always notices the silence
      // itself, since the dead link hides the runtime's close.
      /link 1: (?:runtime -> client|client -> runtime) session\.ping$/m,
      /link 1: (?:runtime -> client|client -> runtime) session\.pong$/m,
      /arcp client: heartbeat lost; reconnecting$/m,
      /arcp client: resumed sess_\w+ after event_seq \d+$/m,
      /result \{"steps":5\} over \d+ links, one session sess_\w+$/m,
    ],
  },
  {
    file: "hono.ts",
    shows: [
      /^GET \/health -> 200 ok$/m,
      /^POST \/arcp without a bearer -> 401$/m,
      /^http: 3 events, result \{"count":3\}$/m,
      /^websocket: 3 events, result \{"count":3\}$/m,
      /^stopped$/m,
    ],
  },
];

/** Examples whose own tests run them, with the test file that does. */
const TESTED_ELSEWHERE: Record<string, string> = {
  "stdio_client.ts": "tests/transports/stdio_test.ts",
  "stdio_runtime.ts": "tests/transports/stdio_test.ts", // the child of stdio_client.ts
  "dashboard/": "tests/cli/dashboard_test.ts", // and tests/browser/dashboard_chromium_test.ts
  "deploy/": "tests/deploy_example_test.ts",
  "postgres.ts": "tests/postgres_example_test.ts", // against a throwaway PostgreSQL server
};

/** Run below, under Bun and in Chromium. */
const RUN_BELOW = ["bun_server.ts", "browser/"];

const decoder = new TextDecoder();

function assertShows(output: string, shows: RegExp[], what: string): void {
  for (const line of shows) assert.match(output, line, `${what} printed:\n${output}`);
}

for (const { file, shows } of RUN_HERE) {
  Deno.test(`examples/${file} runs to completion and shows its feature working`, async () => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(file, EXAMPLES).pathname],
      cwd: ROOT,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    }).output();
    const output = decoder.decode(stdout);
    assert.equal(code, 0, `examples/${file} failed:\n${output}\n${decoder.decode(stderr)}`);
    assertShows(output, shows, `examples/${file}`);
  });
}

Deno.test({
  name: "examples/bun_server.ts runs to completion under Bun",
  ignore: BUN === undefined,
  async fn() {
    await using workspace = await bunWorkspace();
    const { code, stdout, stderr } = await workspace.run(["examples/bun_server.ts"]);
    assert.equal(code, 0, `bun examples/bun_server.ts failed:\n${stdout}\n${stderr}`);
    assertShows(stdout, [
      /^Bun is serving the runtime on ws:\/\/127\.0\.0\.1:\d+\/arcp$/m,
      /^ {2}#3 progress \{"current":3,"total":3,"units":"steps"\}$/m,
      /^result \{"count":3\}$/m,
    ], "bun examples/bun_server.ts");
  },
});

Deno.test({
  name: "examples/browser/serve.ts serves a page whose client runs a job in Chromium",
  ignore: skipWithoutChromium("the browser example"),
  async fn() {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("browser/serve.ts", EXAMPLES).pathname],
      cwd: ROOT,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let exited = false;
    const status = child.status.finally(() => exited = true);
    const stderr = new Response(child.stderr).text();
    let stdout = "";
    let changed = Promise.withResolvers<boolean>();
    const read = (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        stdout += chunk;
        changed.resolve(true);
        changed = Promise.withResolvers<boolean>();
      }
      changed.resolve(false);
    })();
    const waitFor = async (pattern: RegExp) => {
      while (!pattern.test(stdout)) {
        if (!await changed.promise) throw new Error(`serve.ts ended before ${pattern}:\n${stdout}`);
      }
      return pattern.exec(stdout)!;
    };
    try {
      const [, url] = await waitFor(/^open (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)$/m);
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(url!);
        await page.waitForSelector("body[data-state]", { timeout: TIMEOUT_MS });
        const log = await page.textContent("#log") ?? "";
        assert.equal(await page.getAttribute("body", "data-state"), "done", log);
        assertShows(log, [/^#5 progress 5\/5$/m, /^result \{"count":5\}$/m], "the page");
      } finally {
        await browser.close();
      }
      child.kill("SIGTERM");
      const { code } = await status;
      await read;
      assert.equal(code, 0, `serve.ts failed:\n${stdout}\n${await stderr}`);
      assert.match(stdout, /^stopped$/m);
    } finally {
      if (!exited) child.kill("SIGKILL");
      await Promise.all([status, read, stderr]);
    }
  },
});

Deno.test("every example is run by a test", async () => {
  const covered = new Set([...RUN_HERE.map((e) => e.file), ...RUN_BELOW]);
  for (const [example, test] of Object.entries(TESTED_ELSEWHERE)) {
    const source = await Deno.readTextFile(new URL(test, ROOT));
    const name = `examples/${example.replace(/\.ts$/, "")}`;
    assert.ok(source.includes(name), `${test} does not mention ${name}`);
    covered.add(example);
  }
  for await (const entry of Deno.readDir(EXAMPLES)) {
    const name = entry.isDirectory ? `${entry.name}/` : entry.name;
    if (entry.isFile && !name.endsWith(".ts")) continue;
    assert.ok(covered.has(name), `examples/${name} is not run by any test`);
  }
});
