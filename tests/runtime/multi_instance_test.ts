// Several runtime instances on one store, in one process (as Deno Deploy
// isolates share one KV): a session resumed on another instance, jobs of one
// session on two instances, a subscriber following a job run elsewhere,
// recovery that spares live instances, and a lost job's terminal event
// stopping the job where it still runs.

import assert from "node:assert/strict";
import { type AgentDefinition, Runtime, type RuntimeOptions, staticTokens } from "../../runtime.ts";
import { MemoryStore } from "../../store/memory.ts";
import { openDenoKvStore } from "../../store/deno_kv.ts";
import type { JobRecord, LogBounds, RuntimeStore, StoredEvent } from "../../store/types.ts";
import { memoryTransportPair } from "../../transports/memory.ts";
import type { Frame } from "../../transports/types.ts";
import {
  aborted,
  bounded,
  envelope,
  eventually,
  type RawConnection,
  rawOver,
  TOKEN,
  TOKENS,
} from "../_helpers.ts";
import {
  abortableAgent,
  gatedAgent,
  isTerminal,
  payloadOf,
  progressOf,
  range,
  seqsOf,
} from "../scenarios/_shared.ts";
import { jobRecord, sessionRecord } from "../store/conformance.ts";

/** Runtimes on one store, and raw connections to any of them, disposed together. */
class Instances implements AsyncDisposable {
  readonly store: RuntimeStore;
  readonly runtimes: Runtime[] = [];
  readonly #raws: RawConnection[] = [];
  readonly #accepted: Promise<void>[] = [];

  constructor(store: RuntimeStore) {
    this.store = store;
  }

  start(agents: AgentDefinition[], options: Partial<RuntimeOptions> = {}): Runtime {
    const runtime = new Runtime({
      storePollMs: 20,
      ...options,
      store: this.store,
      authenticate: staticTokens({ ...TOKENS }),
      agents,
    });
    this.runtimes.push(runtime);
    return runtime;
  }

  raw(runtime: Runtime): RawConnection {
    const [clientSide, runtimeSide] = memoryTransportPair();
    this.#accepted.push(runtime.accept(runtimeSide));
    const raw = rawOver(clientSide);
    this.#raws.push(raw);
    return raw;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#raws.map((raw) => raw.close()));
    for (const runtime of this.runtimes) await runtime.close();
    await Promise.all(this.#accepted);
    await this.store.close?.();
  }
}

function resumeFrame(raw: RawConnection, lastEventSeq: number): Frame {
  return envelope("session.resume", {
    session_id: raw.sessionId,
    resume_token: raw.resumeToken,
    last_event_seq: lastEventSeq,
  });
}

/** Submits `agent` and returns the job id from its `job.accepted`. */
async function submitted(raw: RawConnection, agent: string, input?: unknown): Promise<string> {
  await raw.submit(agent, input);
  return (await raw.expect("job.accepted")).job_id as string;
}

async function logOf(store: RuntimeStore, sessionId: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const event of store.read(sessionId, { after: 0 })) events.push(event);
  return events;
}

/** Emits `progress` 1 to `n` once released, yielding to the event loop between events. */
function tickingAgent(name: string, release: Promise<void>): AgentDefinition {
  return {
    name,
    async handler(input: unknown, ctx) {
      const { n } = input as { n: number };
      await release;
      for (let i = 1; i <= n; i++) {
        await ctx.progress(i, { total: n });
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      return { n };
    },
  };
}

Deno.test(
  "a session resumed on another instance replays its log, then follows its job on the first live",
  bounded(async () => {
    await using instances = new Instances(new MemoryStore());
    const gated = gatedAgent("gated");
    const a = instances.start([gated.definition]);
    const b = instances.start([gated.definition]);
    const first = instances.raw(a);
    await first.hello();
    const jobId = await submitted(first, "gated");
    await first.expect("job.event");
    await first.close();

    const second = instances.raw(b);
    await second.handshake(resumeFrame(first, 0));
    assert.equal(second.sessionId, first.sessionId);
    const replayed = await second.expect("job.event");
    assert.equal(replayed.event_seq, 1);
    gated.release.resolve();
    const rest = await second.until(isTerminal);
    assert.deepEqual(progressOf(rest), [1, 2, 3]);
    assert.deepEqual(seqsOf(rest), range(2, 5));
    assert.equal(rest.at(-1)!.job_id, jobId);
    assert.deepEqual(payloadOf(rest.at(-1)!).result, { finished: true });
    const record = await instances.store.getSession(first.sessionId!);
    assert.equal(record?.detached_at, null);
    assert.notEqual(record?.instance_id, (await instances.store.getJob(jobId))?.instance_id);
  }),
);

Deno.test(
  "jobs of one session running on two instances share its log without gap or duplicate",
  bounded(async () => {
    await using instances = new Instances(new MemoryStore());
    const go = Promise.withResolvers<void>();
    const agents = [tickingAgent("ticks", go.promise)];
    const a = instances.start(agents);
    const b = instances.start(agents);
    const first = instances.raw(a);
    await first.hello();
    const onA = await submitted(first, "ticks", { n: 200 });
    await first.close();
    const second = instances.raw(b);
    await second.handshake(resumeFrame(first, 0));
    const onB = await submitted(second, "ticks", { n: 200 });
    go.resolve();

    const frames: Frame[] = [];
    const ended = new Set<string>();
    while (ended.size < 2) {
      const frame = await second.next();
      assert.ok(frame !== undefined, "the connection closed");
      frames.push(frame);
      if (isTerminal(frame)) ended.add(frame.job_id as string);
    }
    const sequenced = frames.filter((f) => typeof f.event_seq === "number");
    assert.deepEqual(seqsOf(sequenced), range(1, sequenced.length), "contiguous, from 1");
    for (const jobId of [onA, onB]) {
      const ofJob = sequenced.filter((f) => f.job_id === jobId);
      assert.deepEqual(progressOf(ofJob), range(1, 200));
      assert.equal(ofJob.filter(isTerminal).length, 1);
      assert.ok(isTerminal(ofJob.at(-1)!));
    }
    const log = await logOf(instances.store, second.sessionId!);
    assert.deepEqual(log.map((e) => e.id), sequenced.map((f) => f.id), "the log is what was sent");
  }),
);

Deno.test(
  "a subscriber on another instance follows a job from its history, live, to its end",
  bounded(async () => {
    await using instances = new Instances(new MemoryStore());
    const gated = gatedAgent("gated");
    const a = instances.start([gated.definition]);
    const b = instances.start([gated.definition]);
    const submitter = instances.raw(a);
    await submitter.hello();
    const jobId = await submitted(submitter, "gated");
    await submitter.expect("job.event");

    const observer = instances.raw(b);
    await observer.hello(TOKEN, { features: ["subscribe"] });
    await observer.request("job.subscribe", { job_id: jobId, history: true });
    const subscribed = await observer.expect("job.subscribed");
    assert.equal(payloadOf(subscribed).current_status, "running");
    assert.equal(payloadOf(subscribed).subscribed_from, 1);
    const history = await observer.expect("job.event");
    assert.equal(payloadOf(history).kind, "log");
    gated.release.resolve();
    const live = await observer.until(isTerminal);
    assert.deepEqual(progressOf(live), [1, 2, 3]);
    assert.ok(live.every((f) => f.job_id === jobId && f.session_id === observer.sessionId));
    assert.deepEqual(seqsOf([history, ...live]), range(1, 5));
    assert.deepEqual(payloadOf(live.at(-1)!).result, { finished: true });
  }),
);

/** A store that, like two processes on one local Deno KV file, never tells of changes. */
class UnwatchedStore extends MemoryStore {
  override async *watch(
    _sessionId: string,
    options: { signal: AbortSignal },
  ): AsyncIterable<LogBounds> {
    await aborted(options.signal);
    yield* [];
  }
}

Deno.test(
  "a subscriber on another instance gets every event, though the submitter acks and trims first",
  bounded(async () => {
    await using instances = new Instances(new UnwatchedStore());
    const gated = gatedAgent("gated");
    const a = instances.start([gated.definition]);
    const b = instances.start([gated.definition], { storePollMs: 200 });
    const submitter = instances.raw(a);
    await submitter.hello(TOKEN, { features: ["ack"] });
    const jobId = await submitted(submitter, "gated");
    await submitter.expect("job.event");
    const observer = instances.raw(b);
    await observer.hello(TOKEN, { features: ["subscribe"] });
    await observer.request("job.subscribe", { job_id: jobId, history: true });
    await observer.expect("job.subscribed");
    await observer.expect("job.event");
    gated.release.resolve();
    // The submitter reads and acknowledges everything before the observer polls.
    const frames = await submitter.until(isTerminal);
    await submitter.request("session.ack", { last_processed_seq: frames.at(-1)!.event_seq });
    const live = await observer.until(isTerminal);
    assert.deepEqual(progressOf(live), [1, 2, 3]);
    const log = await logOf(instances.store, submitter.sessionId!);
    assert.ok(log.length > 0, "kept for the observer");
  }),
);

Deno.test(
  "two runtimes on two handles of one Deno KV file follow each other's logs",
  bounded(async () => {
    const dir = await Deno.makeTempDir({ prefix: "arcp-multi-instance-" });
    try {
      const path = `${dir}/runtime.kv`;
      await using one = new Instances(await openDenoKvStore(path));
      await using other = new Instances(await openDenoKvStore(path));
      const gated = gatedAgent("gated");
      const submitter = one.raw(one.start([gated.definition]));
      await submitter.hello();
      const jobId = await submitted(submitter, "gated");
      await submitter.expect("job.event");
      const observer = other.raw(other.start([gated.definition]));
      await observer.hello(TOKEN, { features: ["subscribe"] });
      await observer.request("job.subscribe", { job_id: jobId, history: true });
      await observer.expect("job.subscribed");
      await observer.expect("job.event");
      gated.release.resolve();
      assert.deepEqual(progressOf(await observer.until(isTerminal)), [1, 2, 3]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }),
);

Deno.test(
  "a job.cancel sent on another instance cancels the job where it runs",
  bounded(async () => {
    await using instances = new Instances(new MemoryStore());
    const waiting = abortableAgent("waiting");
    const a = instances.start([waiting.definition], { instanceTtlMs: 200 });
    const b = instances.start([waiting.definition], { instanceTtlMs: 200 });
    const first = instances.raw(a);
    await first.hello();
    const jobId = await submitted(first, "waiting");
    await waiting.started.promise;
    await first.close();
    const second = instances.raw(b);
    await second.handshake(resumeFrame(first, 0));
    await second.request("job.cancel", { job_id: jobId, reason: "changed my mind" });
    const cancelled = await second.expect("job.cancelled");
    assert.equal(cancelled.job_id, jobId);
    const terminal = (await second.until(isTerminal)).at(-1)!;
    assert.equal(terminal.job_id, jobId);
    assert.equal(payloadOf(terminal).code, "CANCELLED");
    assert.equal(payloadOf(terminal).final_status, "cancelled");
    assert.equal((await waiting.reason.promise as { message?: string }).message, "changed my mind");
  }),
);

Deno.test(
  "a job whose client acknowledges on another instance never fills its session's buffer",
  bounded(async () => {
    await using instances = new Instances(new MemoryStore());
    const go = Promise.withResolvers<void>();
    const paced: AgentDefinition = {
      name: "paced",
      async handler(_input: unknown, ctx) {
        await go.promise;
        for (let i = 1; i <= 200; i++) {
          await ctx.progress(i);
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        return { done: true };
      },
    };
    const options = { instanceTtlMs: 100, maxBufferedEvents: 100 };
    const a = instances.start([paced], options);
    const b = instances.start([paced], options);
    const first = instances.raw(a);
    await first.hello(TOKEN, { features: ["ack"] });
    await submitted(first, "paced");
    await first.close();
    const second = instances.raw(b);
    await second.handshake(resumeFrame(first, 0));
    go.resolve();
    let terminal: Frame | undefined;
    while (terminal === undefined) {
      const frame = await second.next();
      assert.ok(frame !== undefined, "the connection closed");
      if (typeof frame.event_seq !== "number") continue;
      await second.request("session.ack", { last_processed_seq: frame.event_seq });
      if (isTerminal(frame)) terminal = frame;
    }
    assert.deepEqual(payloadOf(terminal).result, { done: true }, JSON.stringify(terminal));
  }),
);

Deno.test(
  "a job whose client without ack reads on another instance is not held for a delivery made there",
  bounded(async () => {
    await using instances = new Instances(new MemoryStore());
    const go = Promise.withResolvers<void>();
    const n = 300;
    const chatty: AgentDefinition = {
      name: "chatty",
      async handler(_input: unknown, ctx) {
        await go.promise;
        for (let i = 1; i <= n; i++) await ctx.progress(i);
        return { done: true };
      },
    };
    const options = { instanceTtlMs: 100, maxBufferedEvents: 200 };
    const a = instances.start([chatty], options);
    const b = instances.start([chatty], options);
    const first = instances.raw(a);
    await first.hello(TOKEN, { features: [] });
    await submitted(first, "chatty");
    await first.close();
    const second = instances.raw(b);
    await second.handshake(resumeFrame(first, 0));
    go.resolve();
    // Nothing is delivered on a, where the job runs: past three quarters of
    // the cap its agent must not wait for that, but go on as far as the caps
    // let it (the log instance b keeps for resume counts there too) and end.
    const frames = await second.until(isTerminal);
    const terminal = frames.at(-1)!;
    assert.deepEqual(seqsOf(frames), range(1, terminal.event_seq as number));
    assert.ok(progressOf(frames).length > 150, `only ${progressOf(frames).length} events`);
  }),
);

Deno.test(
  "recovery ends only the jobs and revokes only the credentials of instances whose heartbeat expired",
  bounded(async () => {
    const store = new MemoryStore();
    const later = new Date(Date.now() + 60_000).toISOString();
    const earlier = new Date(Date.now() - 1_000).toISOString();
    await store.putInstance({ instance_id: "inst_live", started_at: earlier, expires_at: later });
    await store.putInstance({ instance_id: "inst_dead", started_at: earlier, expires_at: earlier });
    const jobs: Record<string, JobRecord> = {
      live: jobRecord("job_live", { session_id: "sess_live", instance_id: "inst_live" }),
      dead: jobRecord("job_dead", { session_id: "sess_dead", instance_id: "inst_dead" }),
      legacy: jobRecord("job_legacy", { session_id: "sess_legacy" }),
    };
    for (const job of Object.values(jobs)) {
      const session = sessionRecord(job.session_id);
      if (job.instance_id !== undefined) session.instance_id = job.instance_id;
      await store.putSession(session);
      await store.putJob(job);
      await store.putCredential({
        credential_id: `cred_${job.job_id}`,
        job_id: job.job_id,
        principal: "alice",
        issued_at: earlier,
        state: "issued",
        attempts: 0,
        ...(job.instance_id === undefined ? {} : { instance_id: job.instance_id }),
      });
    }
    const revoked: string[] = [];
    const runtime = new Runtime({
      store,
      provisioner: {
        issue: () => Promise.resolve(undefined),
        revoke: ({ credentialId }) => Promise.resolve(void revoked.push(credentialId)),
      },
    });
    try {
      await eventually(
        () => Promise.resolve(revoked.length === 2),
        "the credentials of lost jobs to be revoked",
      );
      assert.deepEqual(revoked.sort(), ["cred_job_dead", "cred_job_legacy"]);
      assert.equal((await store.getJob("job_live"))?.status, "running");
      for (const lost of ["dead", "legacy"]) {
        const job = (await store.getJob(jobs[lost]!.job_id))!;
        assert.equal(job.status, "error");
        const log = await logOf(store, job.session_id);
        assert.deepEqual(log.map((e) => [e.type, e.job_id]), [["job.error", job.job_id]]);
        assert.equal(payloadOf(log[0]!).code, "INTERNAL_ERROR");
      }
      assert.deepEqual(await logOf(store, "sess_live"), []);
      // The live instance's session stays held by it; the others are detached.
      assert.equal((await store.getSession("sess_live"))?.detached_at, null);
      assert.notEqual((await store.getSession("sess_dead"))?.detached_at, null);
      const instances = [];
      for await (const record of store.listInstances()) instances.push(record.instance_id);
      assert.ok(instances.includes("inst_live"));
      assert.ok(!instances.includes("inst_dead"), "a recovered instance's record goes");
      assert.equal(instances.length, 2, "this runtime's heartbeat is there");
    } finally {
      await runtime.close();
    }
    const remaining = [];
    for await (const record of store.listInstances()) remaining.push(record.instance_id);
    assert.deepEqual(remaining, ["inst_live"], "a closed runtime removes its heartbeat");
  }),
);

Deno.test(
  "a job ended by another instance's recovery stops where it still runs and emits nothing after",
  bounded(async () => {
    await using instances = new Instances(new MemoryStore());
    const stopped = Promise.withResolvers<unknown>();
    const runtime = instances.start([{
      name: "ticker",
      async handler(_input: unknown, ctx) {
        while (!ctx.signal.aborted) {
          await ctx.progress(1).catch(() => {});
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        stopped.resolve(ctx.signal.reason);
        return null;
      },
    }]);
    const raw = instances.raw(runtime);
    await raw.hello();
    const jobId = await submitted(raw, "ticker");
    await raw.expect("job.event");
    // What an instance that took this one for dead appends.
    const sessionId = raw.sessionId!;
    const lostError = {
      arcp: "1.1",
      id: "msg_recovered",
      type: "job.error",
      session_id: sessionId,
      job_id: jobId,
      event_seq: 0,
      payload: { final_status: "error", code: "INTERNAL_ERROR", message: "lost", retryable: true },
    };
    for (;;) {
      const { last } = await instances.store.bounds(sessionId);
      const placed = { ...lostError, event_seq: last + 1 };
      if (await instances.store.compareAndAppend!(sessionId, [placed]) === 1) break;
    }
    const frames = await raw.until((f) => f.id === "msg_recovered");
    assert.deepEqual(seqsOf(frames), range(2, frames.at(-1)!.event_seq as number));
    const reason = await stopped.promise;
    assert.equal((reason as { code?: string }).code, "INTERNAL_ERROR");
    const log = await logOf(instances.store, sessionId);
    assert.equal(log.at(-1)!.id, "msg_recovered", "nothing of the job after its terminal");
    assert.equal((await instances.store.getJob(jobId))?.status, "error");
  }),
);

Deno.test(
  "an instance whose session was resumed elsewhere never overwrites the record it lost",
  bounded(async () => {
    await using instances = new Instances(new MemoryStore());
    const a = instances.start([]);
    const b = instances.start([]);
    const onA = instances.raw(a);
    await onA.hello();
    // Resumed on b while a still holds a connection (a half-open socket).
    const onB = instances.raw(b);
    await onB.handshake(resumeFrame(onA, 0));
    await onB.request("session.ping", { nonce: "n", sent_at: new Date().toISOString() });
    await onB.expect("session.pong");
    // Now a notices its connection is gone and marks the session detached.
    await onA.close();
    const again = instances.raw(a);
    await again.handshake(resumeFrame(onB, 0));
    assert.equal(again.sessionId, onA.sessionId);
    const record = await instances.store.getSession(onA.sessionId!);
    assert.equal(record?.detached_at, null);
    const back = instances.raw(b);
    await back.handshake(resumeFrame(again, 0));
  }),
);
