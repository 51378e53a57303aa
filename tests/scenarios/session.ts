// Scenarios about sessions: handshake, authentication, close and dropped connections.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { ConnectionClosedError } from "../../protocol/errors.ts";
import {
  envelope,
  helloFrame,
  startHarness,
  TOKEN,
  type TransportKind,
  within,
} from "../_helpers.ts";
import { assertSessionWorks, gatedAgent, isArcpError, payloadOf } from "./_shared.ts";

// 1. Handshake ----------------------------------------------------------------

export async function welcomeDescribesTheSession(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind, {
    runtime: {
      name: "test-runtime",
      version: "9.8.7",
      resumeWindowSec: 120,
      heartbeatIntervalSec: 15,
    },
  });
  const raw = await h.raw();
  const welcome = await raw.hello(TOKEN, {
    features: ["heartbeat", "agent_versions", "x-acme.unknown", "progress"],
  });
  assert.equal(welcome.arcp, "1.1");
  assert.match(welcome.id as string, /^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.match(welcome.session_id as string, /^sess_[0-9A-HJKMNP-TV-Z]{26}$/);
  const payload = payloadOf(welcome) as {
    runtime: unknown;
    resume_token: string;
    resume_window_sec: number;
    heartbeat_interval_sec: number;
    capabilities: { encodings: string[]; features: string[]; agents: unknown[] };
  };
  assert.deepEqual(payload.runtime, { name: "test-runtime", version: "9.8.7" });
  assert.match(payload.resume_token, /^rt_[0-9a-f]{64}$/);
  assert.equal(payload.resume_window_sec, 120);
  assert.equal(payload.heartbeat_interval_sec, 15);
  assert.deepEqual(payload.capabilities.encodings, ["json"]);
  // Offered: agent_versions and progress; heartbeat and the unknown flag are not.
  assert.deepEqual([...payload.capabilities.features].sort(), [
    "agent_versions",
    "heartbeat",
    "progress",
  ]);
  assert.deepEqual(
    payload.capabilities.agents.find((a) => (a as { name: string }).name === "echo"),
    {
      name: "echo",
      versions: ["1.0.0", "2.0.0"],
      default: "2.0.0",
    },
  );
  const plain = payload.capabilities.agents.find((a) => (a as { name: string }).name === "plain");
  assert.deepEqual((plain as { versions: unknown }).versions, []);

  // The intersection follows what each hello asked for.
  const other = await h.raw();
  const narrow = payloadOf(await other.hello(TOKEN, { features: ["progress"] }));
  assert.deepEqual((narrow.capabilities as { features: string[] }).features, ["progress"]);
  const none = await h.raw();
  const empty = payloadOf(await none.hello(TOKEN, { features: [] }));
  assert.deepEqual((empty.capabilities as { features: string[] }).features, []);
  // Every session has its own id and resume token.
  assert.notEqual(other.sessionId, raw.sessionId);
  assert.notEqual(narrow.resume_token, payload.resume_token);

  const client = await h.connect();
  assert.match(client.sessionId, /^sess_/);
  assert.deepEqual([...client.features].sort(), [
    "ack",
    "agent_versions",
    "cost.budget",
    "heartbeat",
    "lease_expires_at",
    "list_jobs",
    "model.use",
    "progress",
    "result_chunk",
    "subscribe",
  ]);
  assert.deepEqual(client.agents.find((a) => a.name === "echo"), {
    name: "echo",
    versions: ["1.0.0", "2.0.0"],
    default: "2.0.0",
  });
}

// 2. Authentication -----------------------------------------------------------

export async function helloWithoutAValidTokenIsRefusedAndClosed(
  kind: TransportKind,
): Promise<void> {
  await using h = await startHarness(kind);
  for (const token of [null, "t-wrong"]) {
    const raw = await h.raw();
    const hello = helloFrame(token);
    await raw.send(hello);
    const error = await raw.expectError("UNAUTHENTICATED");
    assert.equal(error.retryable, false);
    assert.equal(error.request_id, hello.id);
    assert.match(error.message as string, token === null ? /missing/i : /invalid/i);
    // The runtime closes the transport and sends nothing more.
    assert.deepEqual(await raw.ended(), []);
  }
}

export async function connectRejectsWithUnauthenticated(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind);
  await assert.rejects(h.connect({ token: null }), isArcpError("UNAUTHENTICATED"));
  await assert.rejects(h.connect({ token: "t-wrong" }), isArcpError("UNAUTHENTICATED"));
  // A good token still gets in, and is mapped to its principal.
  const seen = Promise.withResolvers<string>();
  h.runtime.register({
    name: "whoami",
    handler: (_input: unknown, ctx) => {
      seen.resolve(ctx.principal.id);
      return Promise.resolve(ctx.principal.id);
    },
  });
  const client = await h.connect({ token: "t-bob" });
  assert.equal((await (await client.submit("whoami")).result).result, "bob");
  assert.equal(await seen.promise, "bob");
}

// 3. Frames before hello ------------------------------------------------------

export async function framesBeforeHelloAreRefusedThenHelloWorks(
  kind: TransportKind,
): Promise<void> {
  let started = 0;
  await using h = await startHarness(kind, {
    agents: [{ name: "counted", handler: () => Promise.resolve(++started) }],
  });
  const raw = await h.raw();
  const submit = envelope("job.submit", { agent: "counted" });
  await raw.send(submit);
  const error = await raw.expectError("INVALID_REQUEST");
  assert.equal(error.request_id, submit.id);
  assert.match(error.message as string, /session\.hello/);
  const ping = envelope("session.ping", { nonce: "n1", sent_at: new Date().toISOString() });
  await raw.send(ping);
  assert.equal((await raw.expectError("INVALID_REQUEST")).request_id, ping.id);

  await raw.hello();
  await assertSessionWorks(raw);
  assert.equal(started, 0, "the submit sent before hello must not start a job");
}

// 9. Close ----------------------------------------------------------------------

export async function clientCloseIsAcknowledgedAndJobsKeepRunning(
  kind: TransportKind,
): Promise<void> {
  const gated = gatedAgent("gated");
  await using h = await startHarness(kind, { agents: [gated.definition] });
  const client = await h.connect();
  const job = await client.submit("gated");
  await gated.started.promise;
  await client.close();
  await assert.rejects(job.result, ConnectionClosedError);

  gated.release.resolve();
  const outcome = await within(gated.finished.promise, "the agent to finish");
  assert.deepEqual(outcome, { aborted: false, emitErrors: [] });
  const terminal = await h.store.terminalOf(job.jobId);
  assert.equal(terminal.type, "job.result");
  assert.deepEqual((terminal.payload as { result: unknown }).result, { finished: true });
  assert.equal(h.store.events.filter((e) => e.job_id === job.jobId).length, 5);
}

export async function sessionCloseAndByeEndTheConnectionNotTheJobs(
  kind: TransportKind,
): Promise<void> {
  const viaClose = gatedAgent("via-close");
  const viaBye = gatedAgent("via-bye");
  await using h = await startHarness(kind, { agents: [viaClose.definition, viaBye.definition] });

  const closing = await h.raw();
  await closing.hello();
  await closing.submit("via-close");
  const closeJob = (await closing.expect("job.accepted")).job_id as string;
  await viaClose.started.promise;
  await closing.expect("job.event");
  await closing.request("session.close", { reason: "done for today" });
  const closed = await closing.expect("session.closed");
  assert.equal(closed.session_id, closing.sessionId);
  assert.deepEqual(
    await closing.ended(),
    [],
    "the runtime closes the transport after session.closed",
  );

  const leaving = await h.raw();
  await leaving.hello();
  await leaving.submit("via-bye");
  const byeJob = (await leaving.expect("job.accepted")).job_id as string;
  await viaBye.started.promise;
  await leaving.expect("job.event");
  await leaving.request("session.bye", { reason: "bye" });
  assert.deepEqual(await leaving.ended(), [], "session.bye is not answered");

  viaClose.release.resolve();
  viaBye.release.resolve();
  for (const [agent, jobId] of [[viaClose, closeJob], [viaBye, byeJob]] as const) {
    assert.deepEqual(await within(agent.finished.promise, "the agent to finish"), {
      aborted: false,
      emitErrors: [],
    });
    assert.equal((await h.store.terminalOf(jobId)).type, "job.result");
  }
}

// 10. Dropped connections -------------------------------------------------------

export async function jobsSurviveADroppedClient(kind: TransportKind): Promise<void> {
  const gated = gatedAgent("gated");
  await using h = await startHarness(kind, { agents: [gated.definition] });
  const attached = await h.attach();
  const client = await connect(attached.transport, { token: TOKEN });
  try {
    const job = await client.submit("gated");
    const ctx = await gated.started.promise;
    const first = await job.events.getReader().read();
    assert.equal(first.value?.payload.kind, "log");

    await attached.drop();
    await within(attached.runtimeEnded, "the runtime to notice the drop");
    await assert.rejects(job.result, ConnectionClosedError);
    assert.equal(ctx.signal.aborted, false);

    gated.release.resolve();
    const outcome = await within(gated.finished.promise, "the agent to finish");
    assert.deepEqual(outcome, { aborted: false, emitErrors: [] });
    const terminal = await h.store.terminalOf(job.jobId);
    assert.equal(terminal.type, "job.result");
    const stored = h.store.events.filter((e) => e.job_id === job.jobId);
    assert.deepEqual(
      stored.map((e) => e.type === "job.event" ? (e.payload as { kind: string }).kind : e.type),
      ["log", "progress", "progress", "progress", "job.result"],
    );
    const seqs = stored.map((e) => e.event_seq);
    assert.deepEqual(seqs, seqs.map((_, i) => seqs[0]! + i), "no gap while detached");
  } finally {
    await client.close();
  }
}
