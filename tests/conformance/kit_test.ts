// The conformance kit against our own runtime (in-process on 127.0.0.1, the
// memory store): every check passes, none is skipped. And against targets
// that are broken on purpose: the kit fails them, check by check, within
// its deadlines.

import assert from "node:assert/strict";
import { type CheckResult, runConformance } from "../../conformance/mod.ts";
import { demoAgents } from "../../cli/demo_agents.ts";
import { Runtime } from "../../runtime.ts";
import { staticTokens } from "../../runtime/auth.ts";
import { fakeWelcome, serveDroppingProxy, serveFake } from "./_fake_target.ts";
import { serveHttp } from "../_helpers.ts";

/** Our runtime with the demo agents and two principals, served on 127.0.0.1. */
async function serveOurs(): Promise<{ url: string } & AsyncDisposable> {
  const runtime = new Runtime({
    agents: demoAgents(),
    authenticate: staticTokens({ "t-alice": "alice", "t-bob": "bob" }),
    upgradeWebSocket: Deno.upgradeWebSocket,
  });
  const server = await serveHttp(runtime.fetch);
  return {
    url: `ws://127.0.0.1:${server.port}/arcp`,
    async [Symbol.asyncDispose]() {
      await runtime.close();
      await server[Symbol.asyncDispose]();
    },
  };
}

function byId(checks: CheckResult[], id: string): CheckResult {
  const check = checks.find((c) => c.id === id);
  assert.ok(check, `no check ${id}`);
  return check;
}

Deno.test("conformance kit: our runtime on the memory store passes every check, none skipped", async () => {
  await using target = await serveOurs();
  const lines: string[] = [];
  const report = await runConformance(target.url, {
    token: "t-alice",
    token2: "t-bob",
    onCheck: (check) => lines.push(`${check.status} ${check.id} ${check.reason ?? ""}`),
  });
  const notOk = report.checks.filter((c) => c.status !== "ok");
  assert.deepEqual(notOk, [], lines.join("\n"));
  assert.equal(report.ok, true);
  assert.equal(report.connected, true);
  assert.equal(report.failed, 0);
  assert.equal(report.passed, report.checks.length);
  assert.ok(report.checks.length >= 50, `only ${report.checks.length} checks ran`);
  assert.ok(report.features.includes("subscribe") && report.agents.includes("sleep"));
  // docs/conformance.md lists every check, for implementers of other SDKs.
  const docs = await Deno.readTextFile(new URL("../../docs/conformance.md", import.meta.url));
  const rows = new Set(
    docs.split("\n").filter((line) => line.startsWith("| `"))
      .map((line) => line.split("|").slice(1, 3).map((cell) => cell.trim()).join(" ")),
  );
  const undocumented = report.checks.filter((c) => !rows.has(`\`${c.id}\` ${c.section}`));
  assert.deepEqual(undocumented.map((c) => c.id), []);
});

Deno.test("conformance kit: without a second token the checks across principals are skipped, not failed", async () => {
  await using target = await serveOurs();
  const report = await runConformance(target.url, { token: "t-alice", only: ["principals."] });
  assert.deepEqual(
    report.checks.map((c) => [c.id, c.status, c.reason]),
    [
      ["principals.list", "skip", "needs --token2"],
      ["principals.subscribe", "skip", "needs --token2"],
      ["principals.idempotency", "skip", "needs --token2"],
      ["principals.cancel", "skip", "needs --token2"],
    ],
  );
  assert.equal(report.ok, true);
});

Deno.test("conformance kit: its signal stops the run after the current check", async () => {
  await using target = await serveOurs();
  const stop = new AbortController();
  const report = await runConformance(target.url, {
    token: "t-alice",
    signal: stop.signal,
    onCheck: () => stop.abort(),
  });
  assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [["session.welcome", "ok"]]);
});

Deno.test("conformance kit: a target whose welcome lacks resume_token and which never answers a submit fails, within its deadlines", async () => {
  await using target = await serveFake((frame) => {
    if (frame.type !== "session.hello") return undefined;
    const good = fakeWelcome(["heartbeat"]);
    const { resume_token: _, ...payload } = good.payload;
    return [{ ...good, payload }];
  });
  const report = await runConformance(target.url, {
    token: "t",
    checkTimeoutMs: 1_000,
    only: ["session.welcome", "jobs.success", "list.own-jobs", "auth.bad-token"],
  });
  assert.equal(report.ok, false);
  const welcomeCheck = byId(report.checks, "session.welcome");
  assert.equal(welcomeCheck.status, "fail");
  assert.match(welcomeCheck.reason!, /no resume_token/);
  assert.match(welcomeCheck.sent!, /"session\.hello"/);
  assert.match(welcomeCheck.received![0]!, /"session\.welcome"/);
  // The submit is never answered: the check fails at its deadline, naming what it sent.
  const job = byId(report.checks, "jobs.success");
  assert.equal(job.status, "fail");
  assert.equal(job.reason, "no answer within 1000 ms");
  assert.match(job.sent!, /"job\.submit"/);
  assert.deepEqual(job.received, []);
  // A bad token welcomed fails too.
  const auth = byId(report.checks, "auth.bad-token");
  assert.equal(auth.status, "fail");
  assert.equal(auth.reason, "expected the hello to be refused, got session.welcome");
  // A feature it does not advertise is skipped, not failed.
  const list = byId(report.checks, "list.own-jobs");
  assert.equal(list.status, "skip");
  assert.equal(list.reason, 'the target does not advertise "list_jobs"');
  assert.equal(report.failed, 3);
  assert.equal(report.skipped, 1);
});

Deno.test("conformance kit: our runtime behind a proxy that loses one event per connection fails the order and resume checks only", async () => {
  await using ours = await serveOurs();
  await using target = await serveDroppingProxy(ours.url, (count) => count === 2);
  const report = await runConformance(target.url, {
    token: "t-alice",
    only: ["jobs.success", "events.progress-order", "resume.hello-block"],
  });
  assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [
    ["resume.hello-block", "fail"],
    ["jobs.success", "ok"],
    ["events.progress-order", "fail"],
  ]);
  assert.match(byId(report.checks, "resume.hello-block").reason!, /expected event_seq \d+, got/);
  assert.equal(
    byId(report.checks, "events.progress-order").reason,
    "expected progress current 1..5, got [1,3,4,5]",
  );
});

Deno.test("conformance kit: a target that never answers hello fails session.open and skips the rest", async () => {
  await using target = await serveFake(() => undefined);
  const report = await runConformance(target.url, { token: "t", checkTimeoutMs: 500 });
  assert.equal(report.connected, false);
  assert.equal(report.ok, false);
  const [first, ...rest] = report.checks;
  assert.equal(first!.id, "session.open");
  assert.equal(first!.status, "fail");
  assert.equal(first!.reason, "no answer within 500 ms");
  assert.ok(rest.length >= 50 && rest.every((c) => c.status === "skip"));
});

Deno.test("conformance kit: an unreachable target fails session.open without hanging", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const report = await runConformance(`ws://127.0.0.1:${port}/arcp`, {
    token: "t",
    checkTimeoutMs: 5_000,
  });
  assert.equal(report.connected, false);
  assert.match(report.checks[0]!.reason!, /cannot open a WebSocket/);
});
