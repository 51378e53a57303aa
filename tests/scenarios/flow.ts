// Scenarios about flow and liveness: event acknowledgement and back-pressure
// (spec 1.1 §6.5), per-session buffer caps (spec 1.0 §14) and heartbeats
// (spec 1.1 §6.4).

import assert from "node:assert/strict";
import type { AgentDefinition } from "../../runtime.ts";
import type { Frame } from "../../transports/types.ts";
import {
  type RawConnection,
  startHarness,
  tap,
  Taps,
  TOKEN,
  type TransportKind,
} from "../_helpers.ts";
import {
  assertSessionWorks,
  gatedAgent,
  isTerminal,
  pausingAgent,
  type PausingInput,
  payloadOf,
  progressOf,
  range,
  resumeOf,
} from "./_shared.ts";

/** Sends `session.ping` and reads up to its `session.pong`: the runtime has handled everything sent before. */
async function roundTrip(raw: RawConnection): Promise<Frame[]> {
  const nonce = `n-${crypto.randomUUID()}`;
  await raw.request("session.ping", { nonce, sent_at: new Date().toISOString() });
  const frames = await raw.until((f) =>
    f.type === "session.pong" && payloadOf(f).ping_nonce === nonce
  );
  return frames.slice(0, -1);
}

// Acknowledgement -------------------------------------------------------------------

export async function acknowledgedEventsAreFreedAndCannotBeReplayed(
  kind: TransportKind,
): Promise<void> {
  const agent = pausingAgent();
  await using h = await startHarness(kind, { agents: [agent.definition] });
  const first = await h.raw();
  await first.hello(TOKEN, { features: ["ack"] });
  const acked = await first.run("stream", { n: 300 } satisfies PausingInput);
  assert.deepEqual(progressOf(acked), range(1, 300));
  assert.equal(first.lastEventSeq, 301);
  await first.request("session.ack", { last_processed_seq: 301 });
  await h.store.trimmedThrough(first.sessionId!, 301);
  const unacked = await first.run("stream", { n: 5 } satisfies PausingInput);
  assert.equal(first.lastEventSeq, 307);
  await first.close();

  // Below the acknowledged sequence the log no longer covers the request.
  for (const after of [0, 280, 300]) {
    const early = await h.raw();
    const resume = resumeOf(first, after);
    await early.send(resume);
    const error = await early.expectError("RESUME_WINDOW_EXPIRED");
    assert.equal(error.request_id, resume.id);
    assert.deepEqual(error.details, { first_available_seq: 302 });
    assert.deepEqual(await early.ended(), [], "the runtime closes the transport");
  }

  // From the acknowledged sequence on, it does.
  const late = await h.raw();
  await late.handshake(resumeOf(first, 301));
  const replayed = await late.until(isTerminal);
  assert.deepEqual(replayed.map((f) => f.event_seq), range(302, 307));
  assert.deepEqual(replayed.map((f) => f.payload), unacked.slice(1).map((f) => f.payload));
}

export async function unacknowledgedEventsHoldTheAgentUntilAcked(
  kind: TransportKind,
): Promise<void> {
  const agent = pausingAgent();
  const ackWindow = 50;
  await using h = await startHarness(kind, {
    agents: [agent.definition],
    runtime: { ackWindow, backPressureLag: 20 },
  });
  const raw = await h.raw();
  await raw.hello(TOKEN, { features: ["ack"] });
  const n = 200;
  await raw.submit("stream", { n } satisfies PausingInput);
  const jobId = (await raw.expect("job.accepted")).job_id;
  const seen = await raw.until((f) => f.event_seq === ackWindow);
  const notice = seen.find((f) => payloadOf(f).kind === "status");
  assert.ok(notice !== undefined, "a back_pressure status was emitted");
  assert.equal(notice.job_id, jobId);
  assert.equal((payloadOf(notice).body as { phase: string }).phase, "back_pressure");
  assert.match((payloadOf(notice).body as { message: string }).message, /lag \d+ events/);

  // Nothing acknowledged: the agent waits on its emitter (only the window,
  // the emit that waits and the notice were sent).
  seen.push(...await roundTrip(raw));
  assert.equal(seen.filter(isTerminal).length, 0);
  assert.equal(agent.state.finished, 0, "the agent is held");
  assert.ok(raw.lastEventSeq <= ackWindow + 2, `sent ${raw.lastEventSeq} unacknowledged events`);

  // Acknowledging as it reads lets it run to the end.
  await raw.request("session.ack", { last_processed_seq: raw.lastEventSeq });
  for (;;) {
    const frame = await raw.next();
    assert.ok(frame !== undefined);
    seen.push(frame);
    if (isTerminal(frame)) break;
    const seq = frame.event_seq;
    if (typeof seq === "number" && seq % 10 === 0) {
      await raw.request("session.ack", { last_processed_seq: seq });
    }
  }
  assert.equal(seen.at(-1)!.type, "job.result");
  assert.deepEqual(progressOf(seen), range(1, n));
  assert.equal(agent.state.finished, 1);
  assert.deepEqual(agent.state.emitErrors, []);
}

export async function theClientAcknowledgesAsItsConsumerReads(kind: TransportKind): Promise<void> {
  const agent = pausingAgent();
  await using h = await startHarness(kind, {
    agents: [agent.definition],
    runtime: { ackWindow: 50, backPressureLag: 40 },
  });
  const client = await h.connect();
  const n = 500;
  const job = await client.submit("stream", { n } satisfies PausingInput);
  const currents: number[] = [];
  for await (const event of job) {
    if (event.payload.kind === "progress") currents.push(event.payload.body.current as number);
  }
  assert.deepEqual(currents, range(1, n));
  assert.deepEqual((await job.result).result, { n });
}

export async function aConsumerThatStopsReadingHoldsTheAgent(kind: TransportKind): Promise<void> {
  const agent = pausingAgent();
  const ackWindow = 50;
  const eventBufferSize = 10;
  await using h = await startHarness(kind, {
    agents: [agent.definition],
    runtime: { ackWindow, backPressureLag: 1_000 },
  });
  const client = await h.connect({ eventBufferSize });
  const n = 200;
  const job = await client.submit("stream", { n } satisfies PausingInput);
  // Unread, the client acknowledges only the first eventBufferSize events,
  // and the runtime sends at most ackWindow more.
  const held = eventBufferSize + ackWindow + 1;
  await h.store.waitFor((e) => e.job_id === job.jobId && e.event_seq >= held, "the agent to run");
  let listed;
  for await (const page of client.listJobs()) {
    listed = page.jobs.find((j) => j.job_id === job.jobId);
  }
  assert.equal(listed?.status, "running");
  assert.ok(listed.last_event_seq <= held, `emitted ${listed.last_event_seq} events unread`);
  assert.equal(agent.state.finished, 0, "the agent is held while its events go unread");

  const currents: number[] = [];
  for await (const event of job) currents.push(event.payload.body.current as number);
  assert.deepEqual(currents, range(1, n));
  assert.deepEqual((await job.result).result, { n });
  assert.equal(agent.state.finished, 1);
}

export async function overflowingTheBufferEndsTheJobWithInternalError(
  kind: TransportKind,
): Promise<void> {
  // Emitting without awaiting, nothing is delivered before the buffer is full.
  const burst: AgentDefinition = {
    name: "burst",
    handler: (_input: unknown, ctx) => {
      for (let i = 1; i <= 100; i++) ctx.progress(i).catch(() => {});
      return Promise.resolve("unreachable");
    },
  };
  await using h = await startHarness(kind, {
    agents: [burst],
    runtime: { maxBufferedEvents: 20 },
  });
  const raw = await h.raw();
  await raw.hello(TOKEN, { features: [] });
  const frames = await raw.run("burst");
  assert.deepEqual(progressOf(frames), range(1, 20));
  const terminal = frames.at(-1)!;
  assert.equal(terminal.type, "job.error");
  assert.equal(payloadOf(terminal).code, "INTERNAL_ERROR");
  assert.equal(payloadOf(terminal).final_status, "error");
  assert.match(
    payloadOf(terminal).message as string,
    /buffer is full: 20 events not yet delivered/,
  );
  assert.match(payloadOf(terminal).message as string, /maxBufferedEvents is 20/);
  await assertSessionWorks(raw);
}

// Heartbeats ----------------------------------------------------------------------------

export async function aSilentPeerIsClosedWithHeartbeatLost(kind: TransportKind): Promise<void> {
  const gated = gatedAgent("gated");
  await using h = await startHarness(kind, {
    agents: [gated.definition],
    runtime: { heartbeatIntervalSec: 0.05 },
  });
  const silent = await h.raw();
  const welcome = await silent.hello(TOKEN, { features: ["heartbeat"] });
  assert.equal(payloadOf(welcome).heartbeat_interval_sec, 0.05);
  await silent.submit("gated");
  const jobId = (await silent.expect("job.accepted")).job_id as string;
  await silent.expect("job.event");
  // Nothing answered: pings, then HEARTBEAT_LOST, then the runtime closes the transport.
  const last = await silent.ended();
  const lost = last.at(-1);
  assert.equal(lost?.type, "session.error", JSON.stringify(last));
  assert.equal(payloadOf(lost!).code, "HEARTBEAT_LOST");
  assert.ok(last.slice(0, -1).every((f) => f.type === "session.ping"), JSON.stringify(last));

  // The job runs on, and the session can be resumed for the rest of it.
  const ctx = await gated.started.promise;
  assert.equal(ctx.signal.aborted, false);
  gated.release.resolve();
  await h.store.terminalOf(jobId);
  const resumed = await h.raw();
  await resumed.handshake(resumeOf(silent, silent.lastEventSeq));
  const rest = await resumed.until(isTerminal);
  assert.deepEqual(progressOf(rest), [1, 2, 3]);
  assert.deepEqual(payloadOf(rest.at(-1)!).result, { finished: true });
}

export async function aTalkingPeerIsNeverClosed(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind, { runtime: { heartbeatIntervalSec: 0.05 } });
  const raw = await h.raw();
  await raw.hello(TOKEN, { features: ["heartbeat"] });
  // Answer five of the runtime's pings: well over two intervals.
  for (let pings = 0; pings < 5;) {
    const ping = await raw.expect("session.ping");
    assert.equal(ping.session_id, raw.sessionId);
    assert.equal(ping.event_seq, undefined, "heartbeats are not sequenced");
    await raw.request("session.pong", {
      ping_nonce: payloadOf(ping).nonce,
      received_at: new Date().toISOString(),
    });
    pings++;
  }
  const frames = await raw.run("echo", 1);
  assert.equal(frames.at(-1)!.type, "job.result");
  assert.equal(frames.at(-1)!.event_seq, 1, "pings took no event_seq");
}

export async function clientAndRuntimeExchangePingsAndPongs(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind, { runtime: { heartbeatIntervalSec: 0.1 } });
  const taps = new Taps();
  const { client } = await h.reconnecting({ wrap: (attached) => tap(attached.transport, taps) });
  assert.ok(client.features.has("heartbeat"));

  // The runtime pings an idle client, which answers.
  const ping = await taps.received.waitFor((f) => f.type === "session.ping", "a runtime ping");
  const pong = await taps.sent.waitFor(
    (f) => f.type === "session.pong" && payloadOf(f).ping_nonce === payloadOf(ping).nonce,
    "the client's pong",
  );
  assert.equal(pong.session_id, client.sessionId);

  // With the runtime's pings withheld from it, the client pings, and the runtime answers.
  taps.deliver = (frame) => frame.type !== "session.ping";
  const after = taps.sent.frames.length;
  const clientPing = await taps.sent.waitFor(
    (f) => f.type === "session.ping" && taps.sent.frames.indexOf(f) >= after,
    "a client ping",
  );
  assert.match(payloadOf(clientPing).sent_at as string, /Z$/);
  await taps.received.waitFor(
    (f) => f.type === "session.pong" && payloadOf(f).ping_nonce === payloadOf(clientPing).nonce,
    "the runtime's pong",
  );
  // The client stayed connected throughout.
  assert.equal((await (await client.submit("plain", 7)).result).result, 7);
}
