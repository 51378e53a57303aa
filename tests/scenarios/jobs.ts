// Scenarios about jobs: outcomes, cancellation, versions, ordering and event kinds.

import assert from "node:assert/strict";
import { ArcpError } from "../../protocol/errors.ts";
import type { JobEvent } from "../../protocol/events.ts";
import type { AgentDefinition } from "../../runtime.ts";
import type { Frame } from "../../transports/types.ts";
import { aborted, ISO_UTC, startHarness, type TransportKind } from "../_helpers.ts";
import { abortableAgent, isArcpError, isTerminal, payloadOf } from "./_shared.ts";

// 4. Job outcomes ---------------------------------------------------------------

export async function jobOutcomesReachTheClient(kind: TransportKind): Promise<void> {
  const cancellable = abortableAgent("cancellable");
  const timed = abortableAgent("timed");
  await using h = await startHarness(kind, {
    agents: [
      { name: "fail", handler: () => Promise.reject(new Error("boom")) },
      {
        name: "deny",
        handler: () =>
          Promise.reject(
            new ArcpError("PERMISSION_DENIED", "Cannot write /etc", { details: { path: "/etc" } }),
          ),
      },
      cancellable.definition,
      timed.definition,
    ],
  });
  const client = await h.connect();

  const ok = await client.submit("echo", { n: 1 });
  assert.match(ok.jobId, /^job_/);
  assert.match(ok.traceId ?? "", /^[0-9a-f]{32}$/);
  assert.deepEqual(ok.lease, {});
  assert.deepEqual(await ok.result, {
    final_status: "success",
    result: { echoed: { n: 1 }, version: "2.0.0" },
  });
  assert.equal(ok.done, true);

  const failed = await client.submit("fail");
  await assert.rejects(failed.result, (error: unknown) => {
    isArcpError("INTERNAL_ERROR")(error);
    assert.equal((error as ArcpError).message, "boom");
    assert.equal((error as ArcpError).retryable, true);
    return true;
  });

  const denied = await client.submit("deny");
  await assert.rejects(denied.result, (error: unknown) => {
    isArcpError("PERMISSION_DENIED")(error);
    assert.equal((error as ArcpError).retryable, false);
    assert.deepEqual((error as ArcpError).details, { path: "/etc" });
    return true;
  });

  const cancelled = await client.submit("cancellable");
  await cancellable.started.promise;
  await cancelled.cancel({ reason: "enough" });
  await assert.rejects(cancelled.result, isArcpError("CANCELLED"));
  const reason = await cancellable.reason.promise;
  assert.ok(reason instanceof ArcpError && reason.code === "CANCELLED", "ctx.signal fired");
  assert.equal(reason.message, "enough");
  // Cancelling a job that already ended is a no-op.
  await cancelled.cancel();

  const timedOut = await client.submit("timed", null, { maxRuntimeSec: 0.05 });
  await assert.rejects(timedOut.result, isArcpError("TIMEOUT"));
  const timeoutReason = await timed.reason.promise;
  assert.ok(timeoutReason instanceof ArcpError && timeoutReason.code === "TIMEOUT");
}

export async function jobOutcomesOnTheWire(kind: TransportKind): Promise<void> {
  const cancellable = abortableAgent("cancellable");
  await using h = await startHarness(kind, {
    agents: [
      { name: "fail", handler: () => Promise.reject(new Error("boom")) },
      { name: "deny", handler: () => Promise.reject(new ArcpError("PERMISSION_DENIED", "no")) },
      {
        name: "waits",
        handler: (_i: unknown, ctx) => aborted(ctx.signal).then((r) => Promise.reject(r)),
      },
      cancellable.definition,
    ],
  });
  const raw = await h.raw();
  await raw.hello();

  const success = await raw.run("echo", 7);
  assert.deepEqual(success.map((f) => f.type), ["job.accepted", "job.result"]);
  assert.deepEqual(payloadOf(success[1]!), {
    final_status: "success",
    result: { echoed: 7, version: "2.0.0" },
  });
  assert.equal(typeof success[1]!.event_seq, "number");
  assert.equal(success[1]!.session_id, raw.sessionId);

  const expectations: [string, string, string, boolean][] = [
    ["fail", "INTERNAL_ERROR", "error", true],
    ["deny", "PERMISSION_DENIED", "error", false],
  ];
  for (const [agent, code, finalStatus, retryable] of expectations) {
    const frames = await raw.run(agent);
    const error = payloadOf(frames.at(-1)!);
    assert.equal(frames.at(-1)!.type, "job.error");
    assert.equal(error.code, code);
    assert.equal(error.final_status, finalStatus);
    assert.equal(error.retryable, retryable);
    assert.equal(typeof error.message, "string");
  }

  const timedId = await raw.submit("waits", null, { max_runtime_sec: 0.05 });
  const timed = await raw.until((f) => isTerminal(f));
  assert.equal((payloadOf(timed[0]!)).request_id, timedId);
  assert.equal(payloadOf(timed.at(-1)!).code, "TIMEOUT");
  assert.equal(payloadOf(timed.at(-1)!).final_status, "timed_out");

  await raw.submit("cancellable");
  const [accepted] = await raw.until((f) => f.type === "job.accepted");
  const jobId = accepted!.job_id;
  await cancellable.started.promise;
  await raw.request("job.cancel", { reason: "stop" }, { job_id: jobId });
  const cancelFrames = await raw.until(isTerminal);
  assert.deepEqual(cancelFrames.map((f) => f.type), ["job.cancelled", "job.error"]);
  assert.equal(cancelFrames[0]!.job_id, jobId);
  assert.equal(cancelFrames[0]!.event_seq, undefined, "job.cancelled is not sequenced");
  assert.deepEqual(
    [payloadOf(cancelFrames[1]!).code, payloadOf(cancelFrames[1]!).final_status],
    ["CANCELLED", "cancelled"],
  );

  // Cancelling an unknown job, or one that has ended, is refused with the request id.
  const unknown = await raw.request("job.cancel", {}, { job_id: "job_nope" });
  const notFound = await raw.expectError("JOB_NOT_FOUND");
  assert.equal(notFound.request_id, unknown);
  assert.equal(notFound.job_id, "job_nope");
  const again = await raw.request("job.cancel", {}, { job_id: jobId });
  assert.equal((await raw.expectError("INVALID_REQUEST")).request_id, again);
}

export async function agentIgnoringCancellationIsEndedAfterGrace(
  kind: TransportKind,
): Promise<void> {
  const started = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const returned = Promise.withResolvers<boolean>();
  await using h = await startHarness(kind, {
    runtime: { cancelGraceMs: 50 },
    agents: [{
      name: "stubborn",
      async handler(_input: unknown, ctx) {
        started.resolve();
        await release.promise;
        await ctx.log("info", "too late");
        returned.resolve(ctx.signal.aborted);
        return "late";
      },
    }],
  });
  const client = await h.connect();
  const job = await client.submit("stubborn");
  await started.promise;
  await job.cancel();
  await assert.rejects(job.result, isArcpError("CANCELLED"));

  // When the agent finally returns, nothing more is recorded for its job.
  release.resolve();
  assert.equal(await returned.promise, true, "the agent's signal was aborted");
  await (await client.submit("echo")).result;
  const recorded = h.store.events.filter((e) => e.job_id === job.jobId);
  assert.deepEqual(recorded.map((e) => e.type), ["job.error"]);
  assert.equal((recorded[0]!.payload as { code: string }).code, "CANCELLED");
}

// 5. Agent versions -------------------------------------------------------------

export async function agentReferencesResolveByVersion(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind);
  const client = await h.connect();
  const bare = await client.submit("echo", "x");
  assert.equal(bare.agent, "echo@2.0.0");
  assert.equal(((await bare.result).result as { version: string }).version, "2.0.0");
  const pinned = await client.submit("echo@1.0.0", "x");
  assert.equal(pinned.agent, "echo@1.0.0");
  assert.equal(((await pinned.result).result as { version: string }).version, "1.0.0");
  const unversioned = await client.submit("plain", 3);
  assert.equal(unversioned.agent, "plain");
  assert.equal((await unversioned.result).result, 3);

  await assert.rejects(client.submit("echo@9.9.9"), isArcpError("AGENT_VERSION_NOT_AVAILABLE"));
  await assert.rejects(client.submit("nope"), isArcpError("AGENT_NOT_AVAILABLE"));
  await assert.rejects(client.submit("Bad Name"), isArcpError("INVALID_REQUEST"));
}

export async function refusedSubmitsAreSessionErrorsNotJobErrors(
  kind: TransportKind,
): Promise<void> {
  await using h = await startHarness(kind);
  const raw = await h.raw();
  await raw.hello();
  const cases: [string, string][] = [
    ["echo@9.9.9", "AGENT_VERSION_NOT_AVAILABLE"],
    ["nope", "AGENT_NOT_AVAILABLE"],
    ["Bad Name", "INVALID_REQUEST"],
  ];
  for (const [agent, code] of cases) {
    const id = await raw.submit(agent);
    const frame = await raw.expect("session.error");
    assert.equal(payloadOf(frame).code, code);
    assert.equal(payloadOf(frame).request_id, id);
    assert.equal(frame.session_id, raw.sessionId);
    assert.equal(frame.job_id, undefined);
    assert.equal(frame.event_seq, undefined);
  }
  // The next job's frames are the next frames: no job.error or job.accepted was owed.
  const frames = await raw.run("echo", 1);
  assert.deepEqual(frames.map((f) => f.type), ["job.accepted", "job.result"]);
  assert.equal(frames[1]!.event_seq, 1, "no refused submit consumed an event_seq");
}

// 6. Concurrency and ordering ---------------------------------------------------

const JOBS = 5;
const EVENTS_PER_JOB = 8;

/** `chatty` jobs: all of them start, then each logs `EVENTS_PER_JOB` lines. */
function chattyAgent(): AgentDefinition {
  let running = 0;
  const allRunning = Promise.withResolvers<void>();
  return {
    name: "chatty",
    async handler(input: unknown, ctx) {
      if (++running === JOBS) allRunning.resolve();
      await allRunning.promise;
      const tag = (input as { tag: string }).tag;
      for (let i = 1; i <= EVENTS_PER_JOB; i++) await ctx.log("info", `${tag}:${i}`);
      return tag;
    },
  };
}

export async function concurrentJobsShareOneGapFreeSequence(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind, { agents: [chattyAgent()] });
  const raw = await h.raw();
  await raw.hello();
  for (let j = 0; j < JOBS; j++) await raw.submit("chatty", { tag: `j${j}` });
  const frames: Frame[] = [];
  let terminals = 0;
  while (terminals < JOBS) {
    const frame = await raw.next();
    assert.ok(frame !== undefined, "the connection closed mid-run");
    frames.push(frame);
    if (isTerminal(frame)) terminals++;
  }
  assert.equal(frames.filter((f) => f.type === "job.accepted").length, JOBS);
  assert.equal(frames.filter((f) => f.type === "job.result").length, JOBS);
  const sequenced = frames.filter((f) => f.event_seq !== undefined);
  assert.deepEqual(
    sequenced.map((f) => f.event_seq),
    Array.from({ length: JOBS * (EVENTS_PER_JOB + 1) }, (_, i) => i + 1),
    "event_seq is 1, 2, 3, … across the session in arrival order",
  );
  assert.ok(
    sequenced.every((f) => ["job.event", "job.result", "job.error"].includes(f.type as string)),
  );
  const byJob = new Map<unknown, string[]>();
  for (const frame of sequenced) {
    const payload = payloadOf(frame);
    assert.equal(frame.session_id, raw.sessionId);
    if (frame.type !== "job.event") continue;
    assert.match(payload.ts as string, ISO_UTC);
    assert.ok(!Number.isNaN(Date.parse(payload.ts as string)));
    const lines = byJob.get(frame.job_id) ?? [];
    lines.push((payload.body as { message: string }).message);
    byJob.set(frame.job_id, lines);
  }
  assert.equal(byJob.size, JOBS);
  for (const lines of byJob.values()) {
    const tag = lines[0]!.split(":")[0];
    assert.deepEqual(lines, Array.from({ length: EVENTS_PER_JOB }, (_, i) => `${tag}:${i + 1}`));
  }
}

export async function concurrentJobsStreamInOrderToTheirHandles(
  kind: TransportKind,
): Promise<void> {
  await using h = await startHarness(kind, { agents: [chattyAgent()] });
  const client = await h.connect();
  const handles = await Promise.all(
    Array.from({ length: JOBS }, (_, j) => client.submit("chatty", { tag: `j${j}` })),
  );
  const perJob = await Promise.all(handles.map(async (handle) => {
    const events: JobEvent[] = [];
    for await (const event of handle) events.push(event);
    assert.equal(
      (await handle.result).result,
      (events[0]!.payload.body.message as string).split(":")[0],
    );
    return events;
  }));
  const allSeqs = perJob.flat().map((e) => e.event_seq);
  assert.equal(new Set(allSeqs).size, allSeqs.length, "event_seq values are unique in the session");
  for (const [j, events] of perJob.entries()) {
    assert.deepEqual(
      events.map((e) => e.payload.body.message),
      Array.from({ length: EVENTS_PER_JOB }, (_, i) => `j${j}:${i + 1}`),
    );
    const seqs = events.map((e) => e.event_seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "a job's events arrive in seq order");
    assert.ok(events.every((e) => e.job_id === handles[j]!.jobId));
  }
}

// 7. Event kinds ----------------------------------------------------------------

export async function everyEventKindReachesTheClient(kind: TransportKind): Promise<void> {
  const agentFailures: unknown[] = [];
  await using h = await startHarness(kind, {
    agents: [{
      name: "kinds",
      async handler(_input: unknown, ctx) {
        await ctx.log("warn", "careful", { file: "a.ts" });
        await ctx.log("debug", "plain");
        await ctx.thought("thinking");
        await ctx.status("planning", "making a plan");
        await ctx.status("done");
        await ctx.metric("tokens", 42, { unit: "tok", dimensions: { model: "m1" } });
        await ctx.progress(3, { total: 10, units: "files", message: "going" });
        await ctx.progress(0);
        await ctx.progress(-1).then(
          () => agentFailures.push("progress(-1) was accepted"),
          (error) => error instanceof RangeError || agentFailures.push(error),
        );
        await ctx.artifactRef({
          uri: "file:///tmp/a.txt",
          content_type: "text/plain",
          byte_size: 5,
          sha256: "ab".repeat(32),
        });
        const callId = await ctx.toolCall("search", { q: "arcp" });
        await ctx.toolResult(callId, { result: { hits: 2 } });
        const custom = await ctx.toolCall("fetch", ["a", 1], "call_custom");
        await ctx.toolResult(custom, {
          error: { code: "PERMISSION_DENIED", message: "no", retryable: false },
        });
        await ctx.emit("x-acme.custom", { anything: [1, { nested: true }] });
        return callId;
      },
    }],
  });
  const client = await h.connect();
  const job = await client.submit("kinds");
  const events: JobEvent[] = [];
  for await (const event of job) events.push(event);
  const callId = (await job.result).result as string;
  assert.deepEqual(agentFailures, []);
  assert.match(callId, /^call_/);
  assert.deepEqual(events.map((e) => [e.payload.kind, e.payload.body]), [
    ["log", { level: "warn", message: "careful", attributes: { file: "a.ts" } }],
    ["log", { level: "debug", message: "plain" }],
    ["thought", { text: "thinking" }],
    ["status", { phase: "planning", message: "making a plan" }],
    ["status", { phase: "done" }],
    ["metric", { name: "tokens", value: 42, unit: "tok", dimensions: { model: "m1" } }],
    ["progress", { current: 3, total: 10, units: "files", message: "going" }],
    ["progress", { current: 0 }],
    ["artifact_ref", {
      uri: "file:///tmp/a.txt",
      content_type: "text/plain",
      byte_size: 5,
      sha256: "ab".repeat(32),
    }],
    ["tool_call", { tool: "search", args: { q: "arcp" }, call_id: callId }],
    ["tool_result", { call_id: callId, result: { hits: 2 } }],
    ["tool_call", { tool: "fetch", args: ["a", 1], call_id: "call_custom" }],
    ["tool_result", {
      call_id: "call_custom",
      error: { code: "PERMISSION_DENIED", message: "no", retryable: false },
    }],
    ["x-acme.custom", { anything: [1, { nested: true }] }],
  ]);
  for (const event of events) {
    assert.equal(event.type, "job.event");
    assert.equal(event.job_id, job.jobId);
    assert.equal(event.session_id, client.sessionId);
    assert.equal(event.trace_id, job.traceId);
    assert.match(event.payload.ts, ISO_UTC);
  }
}
