// A job's end and its session's log, when an instance can die between the
// two writes: the record holds the end only once every earlier event of the
// job is in the log, says the end is pending until the log has it too, and
// recovery of a lost instance puts a pending end in the log, once.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { PROTOCOL_VERSION } from "../../protocol/messages.ts";
import { type AgentDefinition, Runtime, staticTokens } from "../../runtime.ts";
import { MemoryStore } from "../../store/memory.ts";
import type { JobRecord, RuntimeStore, StoredEvent, TerminalEnvelope } from "../../store/types.ts";
import { memoryTransportPair } from "../../transports/memory.ts";
import { bounded, eventually, TOKEN, TOKENS } from "../_helpers.ts";
import { jobRecord, sessionRecord } from "../store/conformance.ts";

/** A memory store whose appends take a while, and which notes every job record that holds an end its log lacks events before. */
class SlowLogStore extends MemoryStore {
  readonly early: string[] = [];

  override async append(sessionId: string, events: readonly StoredEvent[]): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 2));
    return await super.append(sessionId, events);
  }

  override async compareAndAppend(
    sessionId: string,
    events: readonly StoredEvent[],
  ): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 2));
    return await super.compareAndAppend(sessionId, events);
  }

  override async putJob(record: JobRecord): Promise<void> {
    if (record.terminal !== undefined) {
      const { last } = await this.bounds(record.session_id);
      if (last < record.terminal.event_seq - 1) {
        this.early.push(`${record.job_id}: end at ${record.terminal.event_seq}, log at ${last}`);
      }
    }
    await super.putJob(record);
  }
}

async function logOf(store: RuntimeStore, sessionId: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const event of store.read(sessionId, { after: 0 })) events.push(event);
  return events;
}

async function unfinished(store: RuntimeStore): Promise<string[]> {
  const ids = [];
  for await (const job of store.listUnfinishedJobs()) ids.push(job.job_id);
  return ids;
}

/** Emits `n` progress events without waiting for any, then returns: its end comes while they are queued. */
const burst: AgentDefinition = {
  name: "burst",
  handler: (input: { n: number }, ctx) => {
    for (let i = 1; i <= input.n; i++) void ctx.progress(i);
    return Promise.resolve({ n: input.n });
  },
};

Deno.test(
  "a job's record holds its end only once its earlier events are in the log, and says it is pending until the end is too",
  bounded(async () => {
    const store = new SlowLogStore();
    const runtime = new Runtime({
      store,
      authenticate: staticTokens({ ...TOKENS }),
      agents: [burst],
    });
    const [clientSide, runtimeSide] = memoryTransportPair();
    const accepted = runtime.accept(runtimeSide);
    try {
      await using client = await connect(clientSide, { token: TOKEN });
      const job = await client.submit("burst", { n: 2_000 });
      let steps = 0;
      for await (const _ of job) steps++;
      assert.deepEqual((await job.result).result, { n: 2_000 });
      assert.equal(steps, 2_000);
      assert.deepEqual(
        store.early,
        [],
        "no record held an end before the job's events were stored",
      );
      await eventually(
        async () => (await store.getJob(job.jobId))?.terminal_pending === undefined,
        "the record to stop saying the end is pending",
      );
      assert.equal((await store.getJob(job.jobId))?.status, "success");
      assert.deepEqual(await unfinished(store), []);
    } finally {
      await runtime.close();
      await accepted;
    }
  }, 30_000),
);

/** A job of a lost instance whose record holds a success not yet (or already) in its log of two progress events. */
async function lostWithPendingEnd(store: MemoryStore, logged: boolean): Promise<TerminalEnvelope> {
  const earlier = new Date(Date.now() - 1_000).toISOString();
  await store.putInstance({ instance_id: "inst_dead", started_at: earlier, expires_at: earlier });
  const session = { ...sessionRecord("sess_dead"), instance_id: "inst_dead" };
  await store.putSession(session);
  const base = {
    arcp: PROTOCOL_VERSION,
    session_id: "sess_dead",
    job_id: "job_dead",
    trace_id: "0af7651916cd43dd8448eb211c80319c",
  };
  const progress = (seq: number): StoredEvent => ({
    ...base,
    id: `msg_${seq}`,
    type: "job.event",
    event_seq: seq,
    payload: { kind: "progress", body: { current: seq } },
  });
  const terminal: TerminalEnvelope = {
    ...base,
    id: "msg_end",
    type: "job.result",
    event_seq: 3,
    payload: { final_status: "success", result: { n: 2 } },
  };
  await store.append(
    "sess_dead",
    logged ? [progress(1), progress(2), terminal] : [
      progress(1),
      progress(2),
    ],
  );
  await store.putJob(jobRecord("job_dead", {
    session_id: "sess_dead",
    instance_id: "inst_dead",
    status: "success",
    terminal,
    terminal_pending: true,
    last_event_seq: 3,
  }));
  return terminal;
}

for (const logged of [false, true]) {
  Deno.test(
    `recovery of a lost instance puts the end its job's record holds in the log ${
      logged ? "only once, when the instance had put it there" : "after the job's events"
    }`,
    bounded(async () => {
      const store = new MemoryStore();
      const terminal = await lostWithPendingEnd(store, logged);
      assert.deepEqual(await unfinished(store), ["job_dead"], "a pending end counts as unfinished");
      const runtime = new Runtime({ store, authenticate: staticTokens({ ...TOKENS }) });
      const [clientSide, runtimeSide] = memoryTransportPair();
      const accepted = runtime.accept(runtimeSide);
      try {
        // Recovery runs before the first session is welcomed.
        await (await connect(clientSide, { token: TOKEN, reconnect: false })).close();
        await eventually(
          async () => (await unfinished(store)).length === 0,
          "the pending end to be recovered",
        );
        const log = await logOf(store, "sess_dead");
        assert.deepEqual(log.map((event) => [event.event_seq, event.type]), [
          [1, "job.event"],
          [2, "job.event"],
          [3, "job.result"],
        ]);
        assert.deepEqual(log[2], terminal, "the end the record held, not a lost job's error");
        const record = (await store.getJob("job_dead"))!;
        assert.equal(record.status, "success");
        assert.equal(record.terminal_pending, undefined);
        assert.deepEqual(record.terminal, terminal);
      } finally {
        await runtime.close();
        await accepted;
      }
    }),
  );
}
