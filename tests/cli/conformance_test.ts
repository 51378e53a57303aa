// `cli.ts conformance` end to end: against `cli.ts serve --demo` on its
// Deno KV store every check passes and it exits 0; against a broken target
// it prints FAIL lines (or JSON lines) and exits 1; usage and unreachable
// targets exit 2 and 3.

import assert from "node:assert/strict";
import { runCli, startServe } from "../_serve.ts";
import { fakeWelcome, serveFake } from "../conformance/_fake_target.ts";

Deno.test("cli conformance: serve --demo on Deno KV passes every check, one ok line each, exit 0", async () => {
  const served = await startServe("t-conf", undefined, ["--token", "t-conf2=other"]);
  try {
    const { code, stdout, stderr } = await runCli([
      "conformance",
      "--url",
      served.url,
      "--token",
      "t-conf",
      "--token2",
      "t-conf2",
    ]);
    const lines = stdout.trimEnd().split("\n");
    const summary = lines.pop()!;
    assert.equal(code, 0, stdout + stderr);
    assert.match(summary, /^\d+ passed, 0 failed, 0 skipped$/);
    assert.equal(Number(summary.split(" ")[0]), lines.length);
    assert.ok(lines.length >= 50, stdout);
    for (const line of lines) assert.match(line, /^ok {3}(\d\.\d §|docs\/conformance\.md)/);
    assert.ok(lines.some((line) => line.includes("resume.session-resume")));
  } finally {
    await served.stop();
  }
});

Deno.test("cli conformance --json: a broken target gets conformance.check lines, a failed report, exit 1", async () => {
  await using target = await serveFake((frame) =>
    frame.type === "session.hello" ? [fakeWelcome([], { resume_token: 42 })] : undefined
  );
  const { code, stdout } = await runCli([
    "conformance",
    "--url",
    target.url,
    "--token",
    "t",
    "--json",
    "--only",
    "session.welcome",
    "--only",
    "heartbeat.",
  ]);
  assert.equal(code, 1, stdout);
  const lines = stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(lines.map((l) => [l.type, l.payload.id, l.payload.status]), [
    ["conformance.check", "session.welcome", "fail"],
    ["conformance.check", "heartbeat.ping", "skip"],
    ["conformance.report", undefined, undefined],
  ]);
  assert.match(lines[0].payload.reason, /no resume_token/);
  assert.match(lines[0].payload.sent, /session\.hello/);
  const report = lines[2].payload;
  assert.equal(report.ok, false);
  assert.equal(report.failed, 1);
  assert.equal(report.skipped, 1);
  assert.equal(report.connected, true);
});

Deno.test("cli conformance: no token is a usage error (2); an unreachable target exits 3", async () => {
  const usage = await runCli(["conformance", "--url", "ws://127.0.0.1:9/arcp"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /conformance needs --url and --token/);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const unreachable = await runCli([
    "conformance",
    "--url",
    `ws://127.0.0.1:${port}/arcp`,
    "--token",
    "t",
  ]);
  assert.equal(unreachable.code, 3, unreachable.stdout);
  assert.match(unreachable.stdout, /^FAIL 1\.1 §6\.2 +session\.open: .*cannot open a WebSocket/m);
  assert.match(unreachable.stdout, /\n0 passed, 1 failed, \d+ skipped\n$/);
});
