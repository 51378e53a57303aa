// The runtime's one clock (option `clock`), over real WebSockets on
// 127.0.0.1: every deadline comes due when the test moves the clock, and no
// test here sleeps.

import assert from "node:assert/strict";
import type { AgentContext } from "../../runtime.ts";
import { bounded, startHarness } from "../_helpers.ts";
import { TestClock } from "../_clock.ts";
import { payloadOf } from "../scenarios/_shared.ts";
import { RESUME_ENCODINGS } from "../scenarios/resume.ts";

/** An agent that runs until it is aborted. */
const waiting = {
  name: "waiting",
  handler: (_input: unknown, ctx: AgentContext) =>
    new Promise((_, reject) =>
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true })
    ),
};

Deno.test(
  "a detached session past its resume window is RESUME_WINDOW_EXPIRED once the clock passes it",
  bounded(async () => {
    const clock = new TestClock();
    await using h = await startHarness("websocket", { runtime: { clock, resumeWindowSec: 60 } });
    const first = await h.raw();
    const welcome = await first.hello();
    await first.close();
    const resume = () =>
      RESUME_ENCODINGS["session.resume"]({
        sessionId: welcome.session_id as string,
        token: first.resumeToken!,
        lastEventSeq: 0,
      });
    // Within the window the session comes back; it detaches again at the close.
    await clock.advance(59_000);
    const within = await h.raw();
    await within.handshake(resume());
    await within.close();
    await clock.advance(61_000);
    const late = await h.raw();
    await late.send(resume());
    await late.expectError("RESUME_WINDOW_EXPIRED");
  }),
);

Deno.test(
  "an idempotency key is forgotten once idempotencyTtlSec has passed on the clock",
  bounded(async () => {
    const clock = new TestClock();
    await using h = await startHarness("websocket", { runtime: { clock, idempotencyTtlSec: 60 } });
    const raw = await h.raw();
    await raw.hello();
    const jobIdOf = async (input: number) => {
      await raw.submit("echo", input, { idempotency_key: "k1" });
      const frames = await raw.until((frame) => frame.type === "job.accepted");
      return frames.at(-1)!.job_id;
    };
    const original = await jobIdOf(1);
    await clock.advance(59_000);
    assert.equal(await jobIdOf(1), original);
    await clock.advance(2_000);
    assert.notEqual(await jobIdOf(1), original);
  }),
);

Deno.test(
  "a connection without a handshake is closed once helloTimeoutMs has passed on the clock",
  bounded(async () => {
    const clock = new TestClock();
    await using h = await startHarness("websocket", { runtime: { clock, helloTimeoutMs: 5_000 } });
    const raw = await h.raw();
    const error = await clock.advanceUntil(raw.expectError("UNAUTHENTICATED"), 1_000);
    assert.match(String(error.message), /helloTimeoutMs is 5000/);
    assert.deepEqual(await raw.ended(), []);
  }),
);

Deno.test(
  "a client silent for two heartbeat intervals on the clock is HEARTBEAT_LOST",
  bounded(async () => {
    const clock = new TestClock();
    await using h = await startHarness("websocket", {
      runtime: { clock, heartbeatIntervalSec: 30 },
    });
    const raw = await h.raw();
    await raw.hello(undefined, { features: ["heartbeat"] });
    const started = clock.now();
    const ping = await clock.advanceUntil(raw.expect("session.ping"), 1_000);
    assert.ok(clock.now() - started >= 30_000, `pinged after ${clock.now() - started} ms`);
    assert.equal(ping.type, "session.ping");
    await clock.advanceUntil(raw.expectError("HEARTBEAT_LOST"), 1_000);
    assert.ok(clock.now() - started >= 60_000, `lost after ${clock.now() - started} ms`);
  }),
);

Deno.test(
  "this instance's heartbeat record expires instanceTtlMs after the clock's now and is renewed as it moves",
  bounded(async () => {
    const clock = new TestClock(Date.parse("2031-06-01T12:00:00Z"));
    await using h = await startHarness("websocket", { runtime: { clock, instanceTtlMs: 4_000 } });
    await (await h.raw()).hello();
    const expiries = async () => {
      const found: string[] = [];
      for await (const record of h.store.listInstances()) found.push(record.expires_at);
      return found;
    };
    assert.deepEqual(await expiries(), ["2031-06-01T12:00:04.000Z"]);
    await clock.advance(1_000);
    assert.deepEqual(await expiries(), ["2031-06-01T12:00:05.000Z"]);
  }),
);

Deno.test(
  "with terminateOnLeaseExpiry a quiet job ends with LEASE_EXPIRED when the clock passes expires_at",
  bounded(async () => {
    const clock = new TestClock();
    await using h = await startHarness("websocket", {
      agents: [waiting],
      runtime: { clock, terminateOnLeaseExpiry: true, leaseExpiryGraceMs: 0 },
    });
    const raw = await h.raw();
    await raw.hello();
    const expiresAt = new Date(clock.now() + 60_000).toISOString();
    await raw.submit("waiting", null, { lease_constraints: { expires_at: expiresAt } });
    await raw.expect("job.accepted");
    await clock.advance(59_000);
    const frames = await clock.advanceUntil(
      raw.until((frame) => frame.type === "job.error"),
      1_000,
    );
    assert.ok(clock.now() >= Date.parse(expiresAt), "ended before expires_at");
    assert.equal(payloadOf(frames.at(-1)!).code, "LEASE_EXPIRED");
  }),
);

Deno.test(
  "a job past max_runtime_sec on the clock ends with TIMEOUT",
  bounded(async () => {
    const clock = new TestClock();
    await using h = await startHarness("websocket", {
      agents: [waiting],
      runtime: { clock, cancelGraceMs: 0 },
    });
    const raw = await h.raw();
    await raw.hello();
    await raw.submit("waiting", null, { max_runtime_sec: 30 });
    await raw.expect("job.accepted");
    const started = clock.now();
    const frames = await clock.advanceUntil(
      raw.until((frame) => frame.type === "job.error"),
      1_000,
    );
    assert.ok(clock.now() - started >= 30_000, `ended after ${clock.now() - started} ms`);
    assert.equal(payloadOf(frames.at(-1)!).code, "TIMEOUT");
  }),
);

/**
 * Runtime modules that may use the platform's time: store retries pause for
 * real (a store call fails in real time, and no test clock moves meanwhile),
 * and the JWT authenticator is built by the user, outside the runtime.
 */
const OWN_TIME = new Set(["runtime/_retry.ts", "runtime/jwt.ts"]);

/** Reads of the time and timers that bypass a `Clock`: `Date.now()`, `new Date()`, bare timer calls. */
const PLATFORM_TIME = /\bDate\.now\(|\bnew Date\(\)|(?<![.\w])(?:set|clear)(?:Timeout|Interval)\(/g;

Deno.test("runtime code reads time only through its clock", async () => {
  const root = new URL("../../", import.meta.url);
  const files = ["runtime.ts"];
  for await (const entry of Deno.readDir(new URL("runtime/", root))) {
    if (entry.isFile && entry.name.endsWith(".ts")) files.push(`runtime/${entry.name}`);
  }
  const found: string[] = [];
  for (const file of files.filter((file) => !OWN_TIME.has(file)).sort()) {
    // Comments may speak of Date.now; only code counts.
    const code = (await Deno.readTextFile(new URL(file, root)))
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "");
    for (const [match] of code.matchAll(PLATFORM_TIME)) found.push(`${file}: ${match}`);
  }
  assert.deepEqual(found, []);
  assert.ok(files.length > 30, "the scan reads the runtime's modules");
});
