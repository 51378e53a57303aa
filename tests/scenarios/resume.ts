// Scenarios about durable sessions: resuming a session on a new connection
// in each of the three encodings (DIALECTS.md), the resume token's rotation,
// the resume window, and the client's automatic reconnection.

import assert from "node:assert/strict";
import { MemoryResumeStateStore } from "../../client.ts";
import type { Frame } from "../../transports/types.ts";
import {
  envelope,
  eventually,
  type Harness,
  helloFrame,
  type RawConnection,
  startHarness,
  tap,
  Taps,
  TOKEN,
  type TransportKind,
} from "../_helpers.ts";
import {
  abortableAgent,
  assertSessionWorks,
  gatedAgent,
  isArcpError,
  isTerminal,
  pausingAgent,
  type PausingInput,
  payloadOf,
  progressOf,
  range,
} from "./_shared.ts";

/** What a client presents to resume. */
interface ResumeFields {
  sessionId: string;
  token: string;
  lastEventSeq: number;
}

/** The three resume encodings a runtime must accept (DIALECTS.md). */
export const RESUME_ENCODINGS = {
  /** 1.0 / TypeScript / Go / Python: a `resume` block on `session.hello`. */
  "hello.resume": (r: ResumeFields): Frame =>
    helloFrame(TOKEN, {
      extra: {
        resume: { session_id: r.sessionId, resume_token: r.token, last_event_seq: r.lastEventSeq },
      },
    }),
  /** Java: flat `resume_token` and `last_event_seq` on the hello, no session id anywhere. */
  "hello flat": (r: ResumeFields): Frame =>
    helloFrame(TOKEN, { extra: { resume_token: r.token, last_event_seq: r.lastEventSeq } }),
  /** 1.1 text: a `session.resume` first frame, with no bearer token: the resume token authenticates. */
  "session.resume": (r: ResumeFields): Frame =>
    envelope("session.resume", {
      session_id: r.sessionId,
      resume_token: r.token,
      last_event_seq: r.lastEventSeq,
    }),
} as const;

/** One of {@linkcode RESUME_ENCODINGS}. */
export type ResumeEncoding = keyof typeof RESUME_ENCODINGS;

function resumeFrame(raw: RawConnection, lastEventSeq: number, encoding: ResumeEncoding): Frame {
  return RESUME_ENCODINGS[encoding]({
    sessionId: raw.sessionId!,
    token: raw.resumeToken!,
    lastEventSeq,
  });
}

/** Sends a resume that must be refused with `code`, after which the runtime closes the transport. */
async function assertResumeRefused(
  raw: RawConnection,
  frame: Frame,
  code: string,
): Promise<Record<string, unknown>> {
  await raw.send(frame);
  const error = await raw.expectError(code);
  assert.equal(error.request_id, frame.id);
  assert.equal(error.retryable, false);
  assert.deepEqual(await raw.ended(), [], `the runtime closes the transport after ${code}`);
  return error;
}

/**
 * Resolves once `sessionId` has expired, probing with a wrong token, which
 * changes nothing: UNAUTHENTICATED while the session exists,
 * RESUME_WINDOW_EXPIRED once its window has passed.
 */
function expiry(h: Harness, sessionId: string): Promise<void> {
  return eventually(async () => {
    const probe = await h.raw();
    await probe.send(
      RESUME_ENCODINGS["hello.resume"]({
        sessionId,
        token: `rt_${"2".repeat(64)}`,
        lastEventSeq: 0,
      }),
    );
    const code = payloadOf(await probe.expect("session.error")).code;
    assert.ok(code === "UNAUTHENTICATED" || code === "RESUME_WINDOW_EXPIRED", String(code));
    assert.deepEqual(await probe.ended(), []);
    return code === "RESUME_WINDOW_EXPIRED";
  }, `session ${sessionId} to expire`);
}

const EVENTS = 5_000;
const PAUSE_AT = 2_500;
const DROP_AFTER = 1_000;

/**
 * Drops a connection in the middle of a 5,000-event job, resumes with
 * `encoding` after the last event read, and checks the replay continues the
 * stream exactly, while the job goes on emitting during the replay.
 */
async function resumeMidStream(kind: TransportKind, encoding: ResumeEncoding): Promise<void> {
  const agent = pausingAgent();
  await using h = await startHarness(kind, { agents: [agent.definition] });
  const first = await h.raw();
  const welcome = await first.hello();
  await first.submit("stream", { n: EVENTS, pauses: [PAUSE_AT] } satisfies PausingInput);
  const jobId = (await first.expect("job.accepted")).job_id;
  const before = await first.until((f) => f.event_seq === DROP_AFTER);
  assert.deepEqual(progressOf(before), range(1, DROP_AFTER));
  await agent.paused(0);
  await first.close();

  const second = await h.raw();
  const frame = resumeFrame(first, DROP_AFTER, encoding);
  await second.send(frame);
  // The job emits its second half while the first half is being replayed.
  agent.release(0);
  const resumed = await second.expect("session.welcome");
  assert.equal(resumed.session_id, welcome.session_id, "the same session goes on");
  const token = payloadOf(resumed).resume_token as string;
  assert.match(token, /^rt_[0-9a-f]{64}$/);
  assert.notEqual(token, first.resumeToken, "the resume token rotates");

  const after = await second.until(isTerminal);
  const sequenced = after.filter((f) => f.event_seq !== undefined);
  assert.equal(sequenced.length, after.length, "nothing but the job's events follows the welcome");
  assert.deepEqual(
    sequenced.map((f) => f.event_seq),
    range(DROP_AFTER + 1, sequenced.at(-1)!.event_seq as number),
    "event_seq continues after last_event_seq with neither gap nor duplicate",
  );
  assert.deepEqual(progressOf(after), range(DROP_AFTER + 1, EVENTS), "every event exactly once");
  for (const f of after) {
    assert.equal(f.job_id, jobId);
    assert.equal(f.session_id, welcome.session_id);
    if (f.type === "job.event" && payloadOf(f).kind !== "progress") {
      // Only a flow-control notice may come in between (spec 1.1 §6.5).
      assert.equal((payloadOf(f).body as { phase: string }).phase, "back_pressure");
    }
  }
  assert.equal(after.at(-1)!.type, "job.result");
  assert.deepEqual(payloadOf(after.at(-1)!).result, { n: EVENTS });
  assert.equal(agent.state.runs, 1);
}

export function resumeByHelloBlockReplaysTheRest(kind: TransportKind): Promise<void> {
  return resumeMidStream(kind, "hello.resume");
}

export function resumeByFlatHelloFieldsReplaysTheRest(kind: TransportKind): Promise<void> {
  return resumeMidStream(kind, "hello flat");
}

export function resumeBySessionResumeReplaysTheRest(kind: TransportKind): Promise<void> {
  return resumeMidStream(kind, "session.resume");
}

export async function resumingWhenCaughtUpReplaysNothing(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind);
  for (const encoding of Object.keys(RESUME_ENCODINGS) as ResumeEncoding[]) {
    const first = await h.raw();
    await first.hello();
    await first.run("echo", 1);
    const newest = first.lastEventSeq;
    assert.equal(newest, 1);
    await first.close();

    const second = await h.raw();
    const welcome = await second.handshake(resumeFrame(first, newest, encoding));
    assert.equal(welcome.session_id, first.sessionId, encoding);
    // Nothing is replayed: the next frame answers the next request.
    await second.submit("echo", 2);
    assert.equal((await second.next())?.type, "job.accepted", encoding);
    const result = await second.expect("job.result");
    assert.equal(result.event_seq, newest + 1, "the session's sequence carries on");
  }
}

export async function resumeTokensRotateAndAreChecked(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind);
  const first = await h.raw();
  await first.hello();
  await first.close();

  const second = await h.raw();
  await second.handshake(resumeFrame(first, 0, "hello.resume"));
  assert.notEqual(second.resumeToken, first.resumeToken);
  // Speaking on the new connection shows the client holds the new token.
  await assertSessionWorks(second);

  // The superseded token is refused from then on in every encoding, and the transport closed.
  for (const encoding of Object.keys(RESUME_ENCODINGS) as ResumeEncoding[]) {
    const stale = await h.raw();
    const frame = resumeFrame(first, 0, encoding);
    if (encoding === "hello flat") {
      // Without a session id, an unknown token finds no session at all.
      await assertResumeRefused(stale, frame, "RESUME_WINDOW_EXPIRED");
    } else {
      const error = await assertResumeRefused(stale, frame, "UNAUTHENTICATED");
      assert.match(error.message as string, /resume token/i);
    }
  }
  const wrong = await h.raw();
  await assertResumeRefused(
    wrong,
    RESUME_ENCODINGS["session.resume"]({
      sessionId: second.sessionId!,
      token: `rt_${"0".repeat(64)}`,
      lastEventSeq: 0,
    }),
    "UNAUTHENTICATED",
  );
  // The right token with another principal's bearer token is refused too.
  const bob = await h.raw();
  await assertResumeRefused(
    bob,
    helloFrame("t-bob", {
      extra: {
        resume: {
          session_id: second.sessionId,
          resume_token: second.resumeToken,
          last_event_seq: 0,
        },
      },
    }),
    "UNAUTHENTICATED",
  );
  // None of that disturbed the resumed connection.
  await assertSessionWorks(second);

  // A hello carrying a resume block and no bearer token is authenticated by the resume token.
  await second.close();
  const third = await h.raw();
  const tokenless = helloFrame(null, {
    extra: {
      resume: {
        session_id: second.sessionId,
        resume_token: second.resumeToken,
        last_event_seq: second.lastEventSeq,
      },
    },
  });
  assert.equal((await third.handshake(tokenless)).session_id, first.sessionId);
  await assertSessionWorks(third);
}

export async function unknownOrExpiredSessionsCannotBeResumed(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind, { runtime: { resumeWindowSec: 0.05 } });
  const unknown = { sessionId: "sess_01J00000000000000000000000", token: `rt_${"1".repeat(64)}` };
  for (const encoding of Object.keys(RESUME_ENCODINGS) as ResumeEncoding[]) {
    const raw = await h.raw();
    await assertResumeRefused(
      raw,
      RESUME_ENCODINGS[encoding]({ ...unknown, lastEventSeq: 0 }),
      "RESUME_WINDOW_EXPIRED",
    );
  }

  const first = await h.raw();
  await first.hello();
  await first.run("echo", 1);
  await first.close();
  await expiry(h, first.sessionId!);
  for (const encoding of Object.keys(RESUME_ENCODINGS) as ResumeEncoding[]) {
    const late = await h.raw();
    await assertResumeRefused(late, resumeFrame(first, 1, encoding), "RESUME_WINDOW_EXPIRED");
  }
}

export async function cancelAuthoritySurvivesResume(kind: TransportKind): Promise<void> {
  const cancellable = abortableAgent("cancellable");
  await using h = await startHarness(kind, { agents: [cancellable.definition] });
  const first = await h.raw();
  await first.hello();
  await first.submit("cancellable");
  const jobId = (await first.expect("job.accepted")).job_id;
  await cancellable.started.promise;
  await first.close();

  const second = await h.raw();
  await second.handshake(resumeFrame(first, 0, "session.resume"));
  await second.request("job.cancel", { reason: "from the resumed connection" }, {
    job_id: jobId,
  });
  const frames = await second.until(isTerminal);
  assert.deepEqual(frames.map((f) => f.type), ["job.cancelled", "job.error"]);
  assert.equal(frames[1]!.job_id, jobId);
  assert.equal(payloadOf(frames[1]!).code, "CANCELLED");
  assert.equal(payloadOf(frames[1]!).message, "from the resumed connection");
}

// Client reconnection --------------------------------------------------------------

export async function reconnectingClientsDeliverEveryEventOnce(kind: TransportKind): Promise<void> {
  const agent = pausingAgent();
  await using h = await startHarness(kind, { agents: [agent.definition] });
  const reconnecting = await h.reconnecting();
  const { client, drop } = reconnecting;
  const sessionId = client.sessionId;
  const n = 2_000;
  const job = await client.submit("stream", { n, pauses: [700, 1_400] } satisfies PausingInput);
  const currents: number[] = [];
  for await (const event of job) {
    currents.push(event.payload.body.current as number);
    // Each drop happens while the job is paused, and it carries on while the client is away.
    if (currents.length === 500 || currents.length === 1_200) {
      await drop();
      agent.release(currents.length === 500 ? 0 : 1);
    }
  }
  assert.deepEqual(currents, range(1, n), "every event exactly once, in order");
  assert.deepEqual((await job.result).result, { n });
  assert.equal(client.sessionId, sessionId, "the session was resumed, not replaced");
  assert.equal(reconnecting.connections, 3);
  assert.equal(agent.state.runs, 1);
}

/**
 * A client whose first connection drops when the runtime's message `drop`
 * selects arrives: that message and the ones after it never reach the client.
 * With `swallow`, messages of that type are withheld too.
 */
function droppingAt(h: Harness, drop: (frame: Frame) => boolean, swallow: string) {
  const taps = new Taps();
  return {
    taps,
    connecting: h.reconnecting({
      wrap(attached, connection) {
        if (connection > 1) return attached.transport;
        let dropped = false;
        taps.deliver = (frame) => {
          if (dropped) return false;
          if (drop(frame)) {
            dropped = true;
            void attached.drop();
            return false;
          }
          return frame.type !== swallow;
        };
        return tap(attached.transport, taps);
      },
    }),
  };
}

export async function aSubmitPendingAtADropStartsOneJob(kind: TransportKind): Promise<void> {
  const agent = pausingAgent();
  await using h = await startHarness(kind, { agents: [agent.definition] });
  // The first connection drops as the job.accepted arrives: the client never sees it.
  const { taps, connecting } = droppingAt(h, (f) => f.type === "job.accepted", "job.accepted");
  const reconnecting = await connecting;
  const job = await reconnecting.client.submit(
    "stream",
    {
      n: 5,
      pauses: [2],
    } satisfies PausingInput,
  );
  const withheld = await taps.received.waitFor((f) => f.type === "job.accepted", "job.accepted");
  assert.equal(job.jobId, withheld.job_id, "the resent submit is answered with the first job");
  agent.release(0);
  const currents: number[] = [];
  for await (const event of job) currents.push(event.payload.body.current as number);
  assert.deepEqual(currents, range(1, 5));
  assert.deepEqual((await job.result).result, { n: 5 });
  assert.equal(agent.state.runs, 1, "the agent ran once");
  assert.equal(reconnecting.connections, 2);
}

/** The handle gets the events that arrived before its job.accepted. */
export async function aSubmitResentAfterItsJobEndedStillStreamsItsEvents(
  kind: TransportKind,
): Promise<void> {
  const agent = pausingAgent();
  await using h = await startHarness(kind, { agents: [agent.definition] });
  // The client sees the job's events and its result, but not its job.accepted,
  // then the connection drops: the resent submit is answered after the job ended.
  const { taps, connecting } = droppingAt(h, () => false, "job.accepted");
  const reconnecting = await connecting;
  const submitted = reconnecting.client.submit("stream", { n: 5 } satisfies PausingInput);
  await taps.received.waitFor(isTerminal, "the job to end");
  await reconnecting.drop();
  const job = await submitted;
  assert.deepEqual((await job.result).result, { n: 5 });
  const currents: number[] = [];
  for await (const event of job) currents.push(event.payload.body.current as number);
  assert.deepEqual(currents, range(1, 5), "the handle streams the job's events");
  assert.equal(agent.state.runs, 1);
}

export async function savedResumeStateResumesTheSessionInANewClient(
  kind: TransportKind,
): Promise<void> {
  const gated = gatedAgent("gated");
  await using h = await startHarness(kind, { agents: [gated.definition] });
  const resumeStore = new MemoryResumeStateStore();
  const first = await h.reconnecting({ resumeStore, resumeKey: "k" });
  const job = await first.client.submit("gated");
  const reader = job.events.getReader();
  assert.equal((await reader.read()).value?.payload.kind, "log");
  reader.releaseLock();
  await first.client.close();
  assert.deepEqual(await resumeStore.load("k"), {
    session_id: first.client.sessionId,
    resume_token: first.client.welcome.resume_token,
    last_event_seq: 1,
  });

  // The job finishes while no client is connected.
  gated.release.resolve();
  const terminal = await h.store.terminalOf(job.jobId);

  const taps = new Taps();
  const second = await h.reconnecting({
    resumeStore,
    resumeKey: "k",
    wrap: (attached) => tap(attached.transport, taps),
  });
  assert.equal(second.client.sessionId, first.client.sessionId);
  assert.notEqual(second.client.welcome.resume_token, first.client.welcome.resume_token);
  // A round trip: the replay came before its answer.
  for await (const _ of second.client.listJobs()) { /* one page */ }
  assert.equal(second.client.lastEventSeq, terminal.event_seq);
  const replayed = taps.received.frames.filter((f) => f.job_id === job.jobId);
  assert.deepEqual(replayed.map((f) => f.event_seq), range(2, terminal.event_seq));
  assert.deepEqual(progressOf(replayed), [1, 2, 3]);
  assert.deepEqual(payloadOf(replayed.at(-1)!).result, { finished: true });
  assert.equal((await resumeStore.load("k"))?.resume_token, second.client.welcome.resume_token);
}

/** `client.cancel(jobId)` works from the submitting session, resumed by a new client, and only there. */
export async function cancelByIdFromANewClientThatResumedTheSession(
  kind: TransportKind,
): Promise<void> {
  const cancellable = abortableAgent("cancellable");
  await using h = await startHarness(kind, { agents: [cancellable.definition] });
  const resumeStore = new MemoryResumeStateStore();
  const first = await h.reconnecting({ resumeStore, resumeKey: "k" });
  const { jobId } = await first.client.submit("cancellable");
  await cancellable.started.promise;
  await first.client.close();

  const stranger = await h.connect();
  await assert.rejects(stranger.cancel(jobId), isArcpError("PERMISSION_DENIED"));
  await assert.rejects(stranger.cancel("job_unknown"), isArcpError("JOB_NOT_FOUND"));

  const second = await h.reconnecting({ resumeStore, resumeKey: "k" });
  assert.equal(second.client.sessionId, first.client.sessionId);
  await second.client.cancel(jobId, { reason: "from a new client" });
  const terminal = await h.store.terminalOf(jobId);
  assert.deepEqual(
    [terminal.type, (terminal.payload as { code: string }).code],
    ["job.error", "CANCELLED"],
  );
  assert.equal((await cancellable.reason.promise as Error).message, "from a new client");
  await assert.rejects(second.client.cancel(jobId), isArcpError("INVALID_REQUEST"));
}

function featuresOf(welcome: Frame): string[] {
  return [...(payloadOf(welcome).capabilities as { features: string[] }).features].sort();
}

/** `session.resume` keeps the features the session negotiated, rather than turning every one on. */
export async function sessionResumeKeepsTheNegotiatedFeatures(kind: TransportKind): Promise<void> {
  const agent = pausingAgent();
  await using h = await startHarness(kind, {
    agents: [agent.definition],
    runtime: { ackWindow: 50 },
  });
  const first = await h.raw();
  const welcome = await first.hello(TOKEN, { features: ["agent_versions"] });
  await first.submit("stream", { n: 200, pauses: [1] } satisfies PausingInput);
  await first.expect("job.accepted");
  await first.expect("job.event");
  await first.close();

  const second = await h.raw();
  const resumed = await second.handshake(resumeFrame(first, 1, "session.resume"));
  agent.release(0);
  assert.deepEqual(featuresOf(resumed), featuresOf(welcome), "the session's features stay");
  // A client that never asked for `ack` gets every event without acknowledging any.
  assert.deepEqual(progressOf(await second.until(isTerminal)), range(2, 200));
}

/** A session whose job still runs stays resumable after its window. */
export async function aSessionWithARunningJobStaysResumablePastItsWindow(
  kind: TransportKind,
): Promise<void> {
  const agent = pausingAgent();
  await using h = await startHarness(kind, {
    agents: [agent.definition],
    runtime: { resumeWindowSec: 0.05 },
  });
  const busy = await h.raw();
  await busy.hello();
  await busy.submit("stream", { n: 3, pauses: [1] } satisfies PausingInput);
  await busy.expect("job.accepted");
  await busy.expect("job.event");
  await busy.close();
  // An idle session detached after the busy one shows when the window has passed.
  const idle = await h.raw();
  await idle.hello();
  await idle.close();
  await expiry(h, idle.sessionId!);

  // The runtime keeps a session while its jobs run (Runtime#expire): it is still resumable.
  const resumed = await h.raw();
  const welcome = await resumed.handshake(resumeFrame(busy, 1, "session.resume"));
  assert.equal(welcome.session_id, busy.sessionId);
  agent.release(0);
  const rest = await resumed.until(isTerminal);
  assert.deepEqual(progressOf(rest), [2, 3]);
  assert.deepEqual(rest.map((f) => f.event_seq), [2, 3, 4]);
}
