// Scenarios about seeing jobs beyond the submitting handle: idempotent
// submits from other sessions (spec §7.2), session.list_jobs (spec 1.1 §6.6)
// and job.subscribe (spec 1.1 §7.6).

import assert from "node:assert/strict";
import type { SubscribeAudit } from "../../runtime.ts";
import type { JobRecord } from "../../store/types.ts";
import type { Frame } from "../../transports/types.ts";
import {
  type RawConnection,
  RecordingStore,
  startHarness,
  TOKEN,
  type TransportKind,
  within,
} from "../_helpers.ts";
import {
  gatedAgent,
  isArcpError,
  isTerminal,
  pausingAgent,
  type PausingInput,
  payloadOf,
  progressOf,
  range,
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

// Idempotency ---------------------------------------------------------------------------

export async function aRepeatedKeyFromAnotherSessionStreamsTheSameJob(
  kind: TransportKind,
): Promise<void> {
  const gated = gatedAgent("gated");
  await using h = await startHarness(kind, { agents: [gated.definition] });
  let runs = 0;
  h.runtime.register({ name: "counted", handler: () => Promise.resolve(++runs) });
  const first = await h.connect();
  const original = await first.submit("gated", { x: 1 }, { idempotencyKey: "nightly" });
  await gated.started.promise;

  // Another session of the same principal, while the job runs: same job, streamed live.
  const second = await h.connect();
  const live = await second.submit("gated", { x: 1 }, { idempotencyKey: "nightly" });
  assert.equal(live.jobId, original.jobId);
  assert.equal(live.agent, "gated");
  assert.equal(live.traceId, original.traceId);
  gated.release.resolve();
  const events = [];
  for await (const event of live) events.push(event);
  assert.deepEqual(events.map((e) => e.payload.body.current), [1, 2, 3]);
  assert.ok(events.every((e) => e.job_id === original.jobId && e.session_id === second.sessionId));
  assert.deepEqual((await live.result).result, { finished: true });
  assert.deepEqual((await original.result).result, { finished: true });

  // And once it has ended: the same job again, and its outcome.
  const third = await h.connect();
  const ended = await third.submit("gated", { x: 1 }, { idempotencyKey: "nightly" });
  assert.equal(ended.jobId, original.jobId);
  assert.deepEqual((await ended.result).result, { finished: true });
  const late = [];
  for await (const event of ended) late.push(event);
  assert.deepEqual(late, [], "a finished job's events are not replayed as new");

  // Keys belong to a principal: bob's "nightly" is his own job.
  const bob = await h.connect({ token: "t-bob" });
  const bobs = await bob.submit("counted", null, { idempotencyKey: "nightly" });
  assert.notEqual(bobs.jobId, original.jobId);
  assert.equal((await bobs.result).result, 1);
  const bobsAgain = await bob.submit("counted", null, { idempotencyKey: "nightly" });
  assert.equal(bobsAgain.jobId, bobs.jobId);
  assert.equal(runs, 1);
}

export async function aConflictingKeyIsADuplicateKeySessionError(
  kind: TransportKind,
): Promise<void> {
  await using h = await startHarness(kind);
  const raw = await h.raw();
  await raw.hello();
  await raw.submit("echo", 1, { idempotency_key: "k1" });
  const jobId = (await raw.expect("job.accepted")).job_id;
  await raw.expect("job.result");

  for (const session of [raw, await h.raw()]) {
    if (session.sessionId === undefined) await session.hello();
    const conflicting = await session.submit("echo", 2, { idempotency_key: "k1" });
    const error = await session.expectError("DUPLICATE_KEY");
    assert.equal(error.request_id, conflicting);
    assert.equal(error.retryable, false);
    assert.deepEqual(error.details, { job_id: jobId });
    const frames = await roundTrip(session);
    assert.deepEqual(frames, [], "no job.accepted or job.error for a refused submit");
  }
  // The agent differs: a conflict as well.
  await raw.submit("echo@1.0.0", 1, { idempotency_key: "k1" });
  await raw.expectError("DUPLICATE_KEY");
}

// session.list_jobs --------------------------------------------------------------------

/** Resolves once the clock has moved past `iso`, so later jobs are created strictly after it. */
async function clockPast(iso: string): Promise<void> {
  while (Date.now() <= Date.parse(iso)) await new Promise((resolve) => setTimeout(resolve, 1));
}

interface Summary {
  job_id: string;
  agent: string;
  status: string;
  created_at: string;
  last_event_seq: number;
  lease: unknown;
  parent_job_id: unknown;
  trace_id: string;
}

async function listJobs(
  raw: RawConnection,
  payload: Record<string, unknown>,
): Promise<{ request_id: unknown; jobs: Summary[]; next_cursor: unknown }> {
  const id = await raw.request("session.list_jobs", payload);
  const page = payloadOf(await raw.expect("session.jobs"));
  assert.equal(page.request_id, id);
  assert.ok("next_cursor" in page, "next_cursor is always present");
  return page as { request_id: unknown; jobs: Summary[]; next_cursor: unknown };
}

const ids = (jobs: readonly { job_id: string }[]) => jobs.map((j) => j.job_id);

export async function listJobsFiltersThePrincipalsJobs(kind: TransportKind): Promise<void> {
  const gated = gatedAgent("gated");
  await using h = await startHarness(kind, {
    agents: [gated.definition, { name: "fail", handler: () => Promise.reject(new Error("no")) }],
  });
  const raw = await h.raw();
  await raw.hello(TOKEN, { features: ["list_jobs"] });
  const finished: Frame[][] = [];
  for (const agent of ["echo@1.0.0", "echo", "fail"]) finished.push(await raw.run(agent, 1));
  // Created strictly later than every job above.
  await clockPast(payloadOf(finished.at(-1)![0]!).accepted_at as string);
  await raw.submit("gated");
  const running = (await raw.expect("job.accepted")).job_id as string;
  const log = await raw.expect("job.event");
  // The same principal's other session counts; another principal's never does.
  const other = await h.connect();
  const plain = await other.submit("plain", 1);
  await plain.result;
  const bob = await h.connect({ token: "t-bob" });
  await (await bob.submit("echo", 1)).result;

  const everything = await listJobs(raw, {});
  assert.equal(everything.next_cursor, null);
  const [v1, v2, failed] = finished.map((frames) => frames[0]!.job_id as string);
  assert.deepEqual(ids(everything.jobs), [v1, v2, failed, running, plain.jobId]);
  const byId = new Map(everything.jobs.map((j) => [j.job_id, j]));
  assert.deepEqual(
    everything.jobs.map((j) => [j.agent, j.status]),
    [
      ["echo@1.0.0", "success"],
      ["echo@2.0.0", "success"],
      ["fail", "error"],
      ["gated", "running"],
      ["plain", "success"],
    ],
  );
  const live = byId.get(running)!;
  assert.equal(live.last_event_seq, log.event_seq, "a running job's live last_event_seq");
  assert.deepEqual(live.lease, {});
  assert.equal(live.parent_job_id, null);
  assert.match(live.trace_id, /^[0-9a-f]{32}$/);

  const cases: [Record<string, unknown>, string[]][] = [
    [{ status: ["success"] }, [v1!, v2!, plain.jobId]],
    [{ status: ["error", "running"] }, [failed!, running]],
    [{ status: ["cancelled"] }, []],
    [{ agent: "echo" }, [v1!, v2!]],
    [{ agent: "echo@1.0.0" }, [v1!]],
    [{ agent: "echo@2.0.0", status: ["success"] }, [v2!]],
    [{ agent: "ech" }, []],
    [{ created_after: byId.get(failed!)!.created_at }, [running, plain.jobId]],
    [{ created_before: live.created_at }, [v1!, v2!, failed!]],
    [{ created_after: "2000-01-01T00:00:00Z", created_before: "2000-01-02T00:00:00Z" }, []],
  ];
  for (const [filter, expected] of cases) {
    const page = await listJobs(raw, { filter });
    assert.deepEqual(ids(page.jobs), expected, JSON.stringify(filter));
    assert.equal(page.next_cursor, null);
  }

  // Bob sees his job only.
  const bobs = [];
  for await (const page of bob.listJobs()) bobs.push(...page.jobs);
  assert.deepEqual(bobs.map((j) => [j.agent, j.status]), [["echo@2.0.0", "success"]]);

  for (const filter of [{ created_after: "yesterday" }, { created_before: "2026-13-45" }]) {
    const id = await raw.request("session.list_jobs", { filter });
    const error = await raw.expectError("INVALID_REQUEST");
    assert.equal(error.request_id, id);
  }
  await assert.rejects(
    (async () => {
      for await (const _ of other.listJobs({ filter: { created_after: "soon" } })) { /* no page */ }
    })(),
    isArcpError("INVALID_REQUEST"),
  );
  gated.release.resolve();
  await raw.until(isTerminal);
}

export async function listJobsPagesWithAKeysetCursor(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind);
  const raw = await h.raw();
  await raw.hello(TOKEN, { features: ["list_jobs"] });
  const jobs: string[] = [];
  for (let i = 0; i < 7; i++) jobs.push((await raw.run("plain", i))[0]!.job_id as string);

  const pages = [];
  let cursor: unknown = null;
  do {
    const page = await listJobs(raw, { limit: 3, cursor });
    pages.push(page);
    cursor = page.next_cursor;
  } while (cursor !== null);
  assert.deepEqual(pages.map((p) => p.jobs.length), [3, 3, 1]);
  assert.deepEqual(pages.flatMap((p) => ids(p.jobs)), jobs, "every job once, in id order");
  assert.deepEqual(pages.map((p) => p.next_cursor), [jobs[2], jobs[5], null]);

  // A filter that leaves exactly a full page ends with next_cursor null.
  const six = await listJobs(raw, { limit: 6, filter: { created_after: "2000-01-01T00:00:00Z" } });
  assert.equal(six.jobs.length, 6);
  assert.equal(six.next_cursor, jobs[5]);
  const rest = await listJobs(raw, { limit: 6, cursor: six.next_cursor });
  assert.deepEqual(ids(rest.jobs), [jobs[6]]);
  assert.equal(rest.next_cursor, null);
  assert.deepEqual(ids((await listJobs(raw, { limit: 7 })).jobs), jobs);
  assert.equal((await listJobs(raw, { limit: 7 })).next_cursor, null);

  // The client iterates the same pages.
  const client = await h.connect();
  const sizes = [];
  const seen = [];
  for await (const page of client.listJobs({ limit: 3 })) {
    sizes.push(page.jobs.length);
    seen.push(...ids(page.jobs));
  }
  assert.deepEqual(sizes, [3, 3, 1]);
  assert.deepEqual(seen, jobs);

  // Without the feature negotiated, listing is refused.
  const plain = await h.raw();
  await plain.hello(TOKEN, { features: [] });
  const id = await plain.request("session.list_jobs", {});
  assert.equal((await plain.expectError("INVALID_REQUEST")).request_id, id);
}

// job.subscribe ------------------------------------------------------------------------

/** A runtime whose subscribePolicy lets anyone observe `shared` jobs, and that records every audit. */
async function observedHarness(kind: TransportKind, agents = [pausingAgent()]) {
  const audits: SubscribeAudit[] = [];
  const h = await startHarness(kind, {
    agents: [...agents.map((a) => a.definition), {
      name: "shared",
      handler: (input: unknown) => Promise.resolve(input),
    }],
    runtime: {
      subscribePolicy: (_subscriber, job: JobRecord) => job.agent === "shared",
      onSubscribe: (audit) => audits.push(audit),
    },
  });
  return { h, audits, agent: agents[0]! };
}

export async function subscribersReplayHistoryThenFollowLive(kind: TransportKind): Promise<void> {
  const { h, audits, agent } = await observedHarness(kind);
  await using _ = h;
  const owner = await h.raw();
  await owner.hello();
  await owner.submit("stream", { n: 8, pauses: [5] } satisfies PausingInput);
  const accepted = await owner.expect("job.accepted");
  const jobId = accepted.job_id as string;
  const original = await owner.until((f) => f.event_seq === 5);
  await agent.paused(0);

  const watcher = await h.raw();
  await watcher.hello(TOKEN, { features: ["subscribe"] });
  const request = await watcher.request("job.subscribe", {
    job_id: jobId,
    history: true,
    from_event_seq: 2,
  });
  const subscribed = await watcher.expect("job.subscribed");
  assert.equal(subscribed.session_id, watcher.sessionId);
  assert.equal(subscribed.job_id, jobId);
  assert.deepEqual(payloadOf(subscribed), {
    job_id: jobId,
    current_status: "running",
    agent: "stream",
    lease: {},
    parent_job_id: null,
    trace_id: payloadOf(accepted).trace_id,
    subscribed_from: 5,
    replayed: true,
    request_id: request,
  });
  const history = [await watcher.next(), await watcher.next(), await watcher.next()] as Frame[];

  // A resent subscribe is answered again, and replays nothing twice.
  const resent = await watcher.request("job.subscribe", {
    job_id: jobId,
    history: true,
    from_event_seq: 2,
  });
  const again = await watcher.expect("job.subscribed");
  assert.equal(payloadOf(again).request_id, resent);
  assert.equal(payloadOf(again).replayed, false);

  // Observing grants no authority: the job is not cancelled.
  const cancel = await watcher.request("job.cancel", {}, { job_id: jobId });
  const denied = await watcher.expectError("PERMISSION_DENIED");
  assert.equal(denied.request_id, cancel);
  assert.equal(denied.job_id, jobId);

  agent.release(0);
  const ownerRest = await owner.until(isTerminal);
  const liveFrames = await watcher.until(isTerminal);
  assert.deepEqual(ownerRest.map((f) => f.type), [
    "job.event",
    "job.event",
    "job.event",
    "job.result",
  ], "the owner saw no cancellation");
  const watched = [...history, ...liveFrames];
  assert.deepEqual(
    watched.map((f) => f.event_seq),
    [1, 2, 3, 4, 5, 6, 7],
    "the subscriber's own contiguous sequence",
  );
  const expected = [...original.slice(2), ...ownerRest];
  assert.deepEqual(watched.map((f) => f.payload), expected.map((f) => f.payload), "same payloads");
  for (const frame of watched) {
    assert.equal(frame.session_id, watcher.sessionId);
    assert.equal(frame.job_id, jobId);
    assert.equal(frame.trace_id, accepted.trace_id);
  }
  assert.deepEqual(progressOf(watched), range(3, 8));
  assert.deepEqual(audits, [
    {
      subscriber: "alice",
      session_id: watcher.sessionId,
      job_id: jobId,
      owner: "alice",
      allowed: true,
    },
    {
      subscriber: "alice",
      session_id: watcher.sessionId,
      job_id: jobId,
      owner: "alice",
      allowed: true,
    },
  ]);
  assert.equal(agent.state.runs, 1);
}

export async function subscribingToAFinishedJobReplaysItAndEnds(
  kind: TransportKind,
): Promise<void> {
  const { h } = await observedHarness(kind);
  await using _ = h;
  const owner = await h.raw();
  await owner.hello();
  const frames = await owner.run("stream", { n: 3 } satisfies PausingInput);
  const jobId = frames[0]!.job_id as string;

  const watcher = await h.raw();
  await watcher.hello(TOKEN, { features: ["subscribe"] });
  await watcher.request("job.subscribe", { job_id: jobId, history: true });
  const subscribed = await watcher.expect("job.subscribed");
  assert.equal(payloadOf(subscribed).current_status, "success");
  assert.equal(payloadOf(subscribed).subscribed_from, 4);
  const replay = await watcher.until(isTerminal);
  assert.deepEqual(replay.map((f) => f.event_seq), [1, 2, 3, 4]);
  assert.deepEqual(replay.map((f) => f.payload), frames.slice(1).map((f) => f.payload));

  // Without history: the outcome only.
  await watcher.request("job.subscribe", { job_id: jobId });
  assert.equal(payloadOf(await watcher.expect("job.subscribed")).replayed, false);
  const outcome = await watcher.expect("job.result");
  assert.equal(outcome.event_seq, 5);
  assert.deepEqual(outcome.payload, frames.at(-1)!.payload);

  // The client's handle settles, with the history as its events.
  const client = await h.connect();
  const watched = await client.subscribe(jobId, { history: true });
  assert.equal(watched.jobId, jobId);
  assert.equal(watched.subscribed.current_status, "success");
  const currents = [];
  for await (const event of watched) currents.push(event.payload.body.current);
  assert.deepEqual(currents, [1, 2, 3]);
  assert.deepEqual((await watched.result).result, { n: 3 });
}

export async function subscribePermissionsFollowThePolicy(kind: TransportKind): Promise<void> {
  const { h, audits } = await observedHarness(kind);
  await using _ = h;
  const alice = await h.raw();
  await alice.hello();
  const privateJob = (await alice.run("echo", 1))[0]!.job_id as string;
  const sharedJob = (await alice.run("shared", "for all"))[0]!.job_id as string;

  const bob = await h.raw();
  await bob.hello("t-bob", { features: ["subscribe"] });
  const denied = await bob.request("job.subscribe", { job_id: privateJob, history: true });
  const error = await bob.expectError("PERMISSION_DENIED");
  assert.equal(error.request_id, denied);
  const allowed = await bob.request("job.subscribe", { job_id: sharedJob, history: true });
  const subscribed = await bob.expect("job.subscribed");
  assert.equal(payloadOf(subscribed).request_id, allowed);
  assert.deepEqual(payloadOf(await bob.expect("job.result")).result, "for all");

  const missing = await bob.request("job.subscribe", { job_id: "job_01J00000000000000000000000" });
  assert.equal((await bob.expectError("JOB_NOT_FOUND")).request_id, missing);
  const watching = await h.raw();
  await watching.hello(TOKEN, { features: [] });
  const unnegotiated = await watching.request("job.subscribe", { job_id: sharedJob });
  assert.equal((await watching.expectError("INVALID_REQUEST")).request_id, unnegotiated);

  const audit = (job_id: string, allowed: boolean) => ({
    subscriber: "bob",
    session_id: bob.sessionId,
    job_id,
    owner: "alice",
    allowed,
  });
  assert.deepEqual(audits, [audit(privateJob, false), audit(sharedJob, true)]);

  // The client surfaces the refusals as ArcpErrors.
  const client = await h.connect({ token: "t-bob" });
  await assert.rejects(client.subscribe(privateJob), isArcpError("PERMISSION_DENIED"));
  await assert.rejects(
    client.subscribe("job_01J00000000000000000000000"),
    isArcpError("JOB_NOT_FOUND"),
  );
  const watched = await client.subscribe(sharedJob, { history: true });
  assert.equal((await watched.result).result, "for all");
}

export async function unsubscribingStopsTheEvents(kind: TransportKind): Promise<void> {
  const { h, agent } = await observedHarness(kind);
  await using _ = h;
  const owner = await h.raw();
  await owner.hello();
  await owner.submit("stream", { n: 6, pauses: [2, 4] } satisfies PausingInput);
  const jobId = (await owner.expect("job.accepted")).job_id as string;
  await agent.paused(0);

  const watcher = await h.raw();
  await watcher.hello(TOKEN, { features: ["subscribe"] });
  await watcher.request("job.subscribe", { job_id: jobId });
  assert.equal(payloadOf(await watcher.expect("job.subscribed")).replayed, false);
  agent.release(0);
  await agent.paused(1);
  const live = [await watcher.next(), await watcher.next()] as Frame[];
  assert.deepEqual(progressOf(live), [3, 4], "live events only, without history");

  await watcher.request("job.unsubscribe", { job_id: jobId });
  assert.deepEqual(await roundTrip(watcher), [], "job.unsubscribe is not answered");
  agent.release(1);
  await h.store.terminalOf(jobId);
  assert.deepEqual(await roundTrip(watcher), [], "no event after job.unsubscribe");
  assert.deepEqual(progressOf(await owner.until(isTerminal)), range(1, 6));
}

export async function clientSubscriptionsStreamEventsAndResult(kind: TransportKind): Promise<void> {
  const { h, agent } = await observedHarness(kind);
  await using _ = h;
  // Unacknowledged, the submitter's events stay in the log for the history replay.
  const submitter = await h.connect({ autoAck: false });
  const job = await submitter.submit("stream", { n: 4, pauses: [2] } satisfies PausingInput);
  await agent.paused(0);

  const observer = await h.connect();
  const watched = await observer.subscribe(job.jobId, { history: true, fromEventSeq: 0 });
  assert.equal(watched.jobId, job.jobId);
  assert.equal(watched.agent, "stream");
  assert.equal(watched.traceId, job.traceId);
  assert.equal(watched.subscribed.current_status, "running");
  assert.equal(watched.subscribed.replayed, true);
  agent.release(0);
  const events = [];
  for await (const event of watched) events.push(event);
  assert.deepEqual(events.map((e) => e.payload.body.current), [1, 2, 3, 4]);
  assert.deepEqual(events.map((e) => e.event_seq), [1, 2, 3, 4]);
  assert.ok(events.every((e) => e.session_id === observer.sessionId));
  assert.deepEqual((await watched.result).result, { n: 4 });
  assert.deepEqual((await job.result).result, { n: 4 });

  // unsubscribe() ends the handle; the job goes on.
  const second = await submitter.submit("stream", { n: 6, pauses: [3] } satisfies PausingInput);
  await agent.paused(1);
  const leaving = await observer.subscribe(second.jobId);
  await leaving.unsubscribe();
  await assert.rejects(leaving.result);
  agent.release(1);
  assert.deepEqual((await second.result).result, { n: 6 });
}

// Cancel authority and just-ended jobs ---------------------------------------------------

/** A policy-allowed subscriber from another principal gets PERMISSION_DENIED on cancel, not JOB_NOT_FOUND. */
export async function aSubscriberOfAnotherPrincipalCannotCancel(
  kind: TransportKind,
): Promise<void> {
  const gated = gatedAgent("shared-gated");
  await using h = await startHarness(kind, {
    agents: [gated.definition],
    runtime: { subscribePolicy: () => true },
  });
  const alice = await h.raw();
  await alice.hello();
  await alice.submit("shared-gated");
  const jobId = (await alice.expect("job.accepted")).job_id;
  await gated.started.promise;
  const bob = await h.raw();
  await bob.hello("t-bob", { features: ["subscribe"] });
  await bob.request("job.subscribe", { job_id: jobId });
  await bob.expect("job.subscribed");
  const cancel = await bob.request("job.cancel", {}, { job_id: jobId });
  const error = await bob.expect("session.error");
  assert.equal(payloadOf(error).request_id, cancel);
  assert.equal(payloadOf(error).code, "PERMISSION_DENIED", "the subscriber knows the job exists");
  gated.release.resolve();
  assert.equal((await alice.until(isTerminal)).at(-1)!.type, "job.result");
}

/** A store whose writes of finished job records wait for the test. */
class SlowSettlingStore extends RecordingStore {
  readonly settling = Promise.withResolvers<void>();
  /** Resolves when a finished job's record starts being written. */
  readonly writing = Promise.withResolvers<void>();
  override async putJob(record: JobRecord): Promise<void> {
    if (record.terminal !== undefined) {
      this.writing.resolve();
      await this.settling.promise;
    }
    return super.putJob(record);
  }
}

/**
 * A job whose end is still being stored is shown to no one, neither its
 * submitter nor a subscriber nor a repeated key; once stored, to all of them.
 */
export async function aJobEndingWhileItsRecordIsWrittenStillSettlesObservers(
  kind: TransportKind,
): Promise<void> {
  const store = new SlowSettlingStore();
  await using h = await startHarness(kind, { store });
  try {
    const submitter = await h.connect();
    const job = await submitter.submit("echo", 1, { idempotencyKey: "slow" });
    await store.writing.promise;
    const observer = await h.connect();
    const watching = observer.subscribe(job.jobId, { history: true });
    const resubmitting = observer.submit("echo", 1, { idempotencyKey: "slow" });
    assert.equal(job.done, false);
    store.settling.resolve();
    const [watched, again] = await Promise.all([watching, resubmitting]);
    assert.equal(again.jobId, job.jobId);
    const settled = (handle: { result: Promise<{ result?: unknown }> }) =>
      within(handle.result, "the handle to settle", 1_000).then((r) => r.result, String);
    const expected = { echoed: 1, version: "2.0.0" };
    assert.deepEqual(
      {
        submitted: await settled(job),
        subscribed: await settled(watched),
        resubmitted: await settled(again),
      },
      { submitted: expected, subscribed: expected, resubmitted: expected },
    );
  } finally {
    store.settling.resolve();
  }
}
