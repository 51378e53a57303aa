// The suites every store must pass, whatever its backend (STYLE §26): one
// per contract, the event log (here) and the record store
// (record_store_cases.ts), then the records the runtime keeps on them
// (sessions, jobs, idempotency keys, credentials, heartbeats).
// Call it from a <store>_test.ts with a factory that returns a fresh store.
//
// The cases are plain data (`eventStoreCases()`, `runtimeStoreCases()`) so
// that tests/browser/store_page.ts can run them in a real browser too: outside
// `registerStoreCases()` this module must use no Deno API, and it imports
// nothing but `node:assert/strict` (swapped for tests/browser/assert.ts in
// the browser bundle) and the store types.

import assert from "node:assert/strict";
import type {
  EventStore,
  IdempotencyRecord,
  JobRecord,
  RuntimeStore,
  SessionRecord,
  StoredEvent,
} from "../../store/types.ts";
import { recordStoreCases } from "./record_store_cases.ts";

/** Makes a fresh, empty store; called once per test. */
export type EventStoreFactory = () => EventStore | Promise<EventStore>;

/** Makes a fresh, empty runtime store; called once per test. */
export type RuntimeStoreFactory = () => RuntimeStore | Promise<RuntimeStore>;

/** A stored `job.event` envelope with sequence number `seq`. */
export function storedEvent(seq: number, jobId = "job_1"): StoredEvent {
  return {
    arcp: "1.1",
    id: `msg_${jobId}_${seq}`,
    type: "job.event",
    session_id: "sess_1",
    job_id: jobId,
    event_seq: seq,
    payload: {
      kind: "log",
      ts: "2026-01-01T00:00:00.000Z",
      body: { level: "info", message: `event ${seq}` },
    },
  };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function events(from: number, to: number): StoredEvent[] {
  return range(from, to).map((seq) => storedEvent(seq));
}

/** One conformance case: a behaviour and a check run against a fresh, empty store. */
export interface StoreCase<S extends EventStore> {
  /** The behaviour, as it follows the store's name in the test name. */
  name: string;
  /** Checks the behaviour on `store`; the caller makes the store and closes it afterwards. */
  fn: (store: S) => Promise<void>;
}

/** Collects cases into `cases`; written like `Deno.test` so the suite reads as tests. */
function collector<S extends EventStore>(
  cases: StoreCase<S>[],
): (name: string, fn: (store: S) => Promise<void>) => void {
  return (name, fn) => {
    cases.push({ name, fn });
  };
}

/**
 * Registers one `Deno.test` per case, named `${name} ${case.name}`, each with
 * a fresh store from `factory` that is closed afterwards.
 */
export function registerStoreCases<S extends EventStore>(
  name: string,
  factory: () => S | Promise<S>,
  cases: readonly StoreCase<S>[],
): void {
  for (const { name: behaviour, fn } of cases) {
    Deno.test({
      name: `${name} ${behaviour}`,
      async fn() {
        const store = await factory();
        try {
          await fn(store);
        } finally {
          await store.close?.();
        }
      },
    });
  }
}

async function seqs(store: EventStore, sessionId: string, after = 0): Promise<number[]> {
  const read: number[] = [];
  for await (const event of store.read(sessionId, { after })) read.push(event.event_seq);
  return read;
}

/** Registers the conformance tests for the store `name` made by `factory`. */
export function eventStoreConformance(name: string, factory: EventStoreFactory): void {
  registerStoreCases(name, factory, eventStoreCases());
}

/** Registers the EventStore suite and the sessions, jobs and idempotency tests. */
export function runtimeStoreConformance(name: string, factory: RuntimeStoreFactory): void {
  registerStoreCases(name, factory, runtimeStoreCases());
}

/** The cases every EventStore must pass. */
export function eventStoreCases(): StoreCase<EventStore>[] {
  const cases: StoreCase<EventStore>[] = [];
  const test = collector(cases);

  test("reads back appended events in event_seq order, unchanged", async (store) => {
    const appended = events(1, 5);
    await store.append("s", appended.slice(0, 2));
    await store.append("s", appended.slice(2));
    const read: StoredEvent[] = [];
    for await (const event of store.read("s", { after: 0 })) read.push(event);
    assert.deepEqual(read, appended);
  });

  test("reads only the events after `after`", async (store) => {
    await store.append("s", events(1, 5));
    assert.deepEqual(await seqs(store, "s", 2), [3, 4, 5]);
    assert.deepEqual(await seqs(store, "s", 5), []);
    assert.deepEqual(await seqs(store, "s", 99), []);
  });

  test("reads nothing for an unknown session", async (store) => {
    assert.deepEqual(await seqs(store, "nobody"), []);
  });

  test("keeps sessions apart", async (store) => {
    await store.append("a", events(1, 3));
    await store.append("b", events(1, 1));
    assert.deepEqual(await seqs(store, "a"), [1, 2, 3]);
    assert.deepEqual(await seqs(store, "b"), [1]);
    await store.trim("a", { through: 3 });
    assert.deepEqual(await seqs(store, "b"), [1]);
  });

  test("reports bounds: empty, after appends, after trims", async (store) => {
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 0 });
    await store.append("s", events(1, 4));
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 4 });
    await store.trim("s", { through: 2 });
    assert.deepEqual(await store.bounds("s"), { first: 3, last: 4 });
    await store.trim("s", { through: 4 });
    assert.deepEqual(await store.bounds("s"), { first: 5, last: 4 }, "empty: first is last + 1");
  });

  test("trim drops events through the given seq and keeps the rest", async (store) => {
    await store.append("s", events(1, 6));
    await store.trim("s", { through: 3 });
    assert.deepEqual(await seqs(store, "s"), [4, 5, 6]);
    assert.deepEqual(await seqs(store, "s", 4), [5, 6]);
    await store.trim("s", { through: 2 });
    assert.deepEqual(await seqs(store, "s"), [4, 5, 6], "trimming below first changes nothing");
    await store.trim("nobody", { through: 10 });
    assert.deepEqual(await store.bounds("nobody"), { first: 1, last: 0 });
  });

  test("appending continues the sequence after a trim", async (store) => {
    await store.append("s", events(1, 3));
    await store.trim("s", { through: 3 });
    await store.append("s", events(4, 5));
    assert.deepEqual(await seqs(store, "s"), [4, 5]);
    assert.deepEqual(await store.bounds("s"), { first: 4, last: 5 });
  });

  test("append is idempotent: already-stored seqs are skipped, not replaced", async (store) => {
    await store.append("s", events(1, 3));
    await store.append("s", events(1, 3));
    const replacement = { ...storedEvent(2), id: "msg_other" };
    await store.append("s", [replacement, ...events(3, 5)]);
    assert.deepEqual(await seqs(store, "s"), [1, 2, 3, 4, 5]);
    const second: StoredEvent[] = [];
    for await (const event of store.read("s", { after: 1 })) second.push(event);
    assert.equal(second[0]!.id, storedEvent(2).id);
    // Re-appending trimmed seqs is not a gap either.
    await store.trim("s", { through: 5 });
    await store.append("s", events(1, 5));
    assert.deepEqual(await store.bounds("s"), { first: 6, last: 5 });
  });

  test("append rejects a batch that would leave a gap with RangeError", async (store) => {
    await assert.rejects(store.append("s", [storedEvent(2)]), RangeError);
    await store.append("s", events(1, 2));
    await assert.rejects(store.append("s", [storedEvent(4)]), RangeError);
    assert.deepEqual(await seqs(store, "s"), [1, 2]);
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 2 });
  });

  test("streams events appended while a read is in progress", async (store) => {
    await store.append("s", events(1, 2));
    const iterator = store.read("s", { after: 0 })[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).value?.event_seq, 1);
    await store.append("s", events(3, 4));
    const rest: number[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      rest.push(next.value.event_seq);
    }
    assert.deepEqual(rest, [2, 3, 4]);
  });

  test("stops a read when its signal aborts", async (store) => {
    await store.append("s", events(1, 5));
    const controller = new AbortController();
    const read: number[] = [];
    for await (const event of store.read("s", { after: 0, signal: controller.signal })) {
      read.push(event.event_seq);
      if (event.event_seq === 2) controller.abort();
    }
    assert.deepEqual(read, [1, 2]);
  });

  test("stores nothing of a batch it rejects", async (store) => {
    await store.append("s", events(1, 1));
    await assert.rejects(store.append("s", [storedEvent(2), storedEvent(4)]), RangeError);
    assert.deepEqual(await seqs(store, "s"), [1]);
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 1 });
  });

  // Optional: for several runtime instances sharing one store.
  test("drop forgets a whole log, bounds included, and nothing else", async (store) => {
    await store.append("sess_1", events(1, 5));
    await store.append("sess_2", events(1, 2));
    await store.trim("sess_1", { through: 2 });
    await store.drop("sess_1");
    assert.deepEqual(await store.bounds("sess_1"), { first: 1, last: 0 });
    assert.deepEqual(await seqs(store, "sess_1"), []);
    assert.deepEqual(await seqs(store, "sess_2"), [1, 2]);
    await store.append("sess_1", events(1, 1));
    assert.deepEqual(await seqs(store, "sess_1"), [1], "a new log starts at 1");
    await store.drop("nobody");
  });

  test("compareAndAppend stores a batch only where it continues the log", async (store) => {
    if (store.compareAndAppend === undefined) return;
    assert.equal(await store.compareAndAppend("s", events(1, 3)), 3);
    // Another writer's events at taken seqs are neither stored nor skipped silently.
    const other = (seq: number) => ({ ...storedEvent(seq), id: `msg_other_${seq}` });
    assert.equal(await store.compareAndAppend("s", [other(3), other(4)]), 0);
    assert.equal(await store.compareAndAppend("s", [other(5)]), 0, "a gap stores nothing");
    assert.equal(await store.compareAndAppend("s", [other(4), other(5)]), 2);
    const read: StoredEvent[] = [];
    for await (const event of store.read("s", { after: 0 })) read.push(event);
    assert.deepEqual(read.map((event) => event.id), [
      storedEvent(1).id,
      storedEvent(2).id,
      storedEvent(3).id,
      "msg_other_4",
      "msg_other_5",
    ]);
    await assert.rejects(store.compareAndAppend("s", [other(6), other(8)]), RangeError);
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 5 });
    await store.trim("s", { through: 5 });
    assert.equal(await store.compareAndAppend("s", [other(6)]), 1, "continues after a trim");
  });

  test("watch yields the log's bounds after appends until its signal aborts", async (store) => {
    if (store.watch === undefined) return;
    const controller = new AbortController();
    const seen: number[] = [];
    const watching = (async () => {
      for await (const bounds of store.watch!("s", { signal: controller.signal })) {
        seen.push(bounds.last);
        if (bounds.last === 3) controller.abort();
      }
    })();
    await store.append("s", events(1, 2));
    await store.append("s", events(3, 3));
    await watching;
    assert.equal(seen.at(-1), 3);
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b), "bounds only grow");
  });

  return cases;
}

/** A session record of `principal`. */
export function sessionRecord(sessionId: string, principal = "alice"): SessionRecord {
  return {
    session_id: sessionId,
    principal,
    resume_token_sha256: "ab".repeat(32),
    resume_window_sec: 600,
    created_at: "2026-01-01T00:00:00.000Z",
    detached_at: null,
    acked_seq: 0,
  };
}

/** A job record; `minute` sets `created_at` to 2026-01-01T00:<minute>:00Z. */
export function jobRecord(jobId: string, fields: Partial<JobRecord> = {}, minute = 0): JobRecord {
  return {
    job_id: jobId,
    session_id: "sess_1",
    principal: "alice",
    agent: "echo@1.0.0",
    status: "running",
    lease: { "tool.call": ["*"] },
    parent_job_id: null,
    trace_id: "0af7651916cd43dd8448eb211c80319c",
    created_at: `2026-01-01T00:${String(minute).padStart(2, "0")}:00.000Z`,
    last_event_seq: 0,
    ...fields,
  };
}

function binding(
  principal: string,
  key: string,
  jobId: string,
  expiresAt = "2026-01-02T00:00:00.000Z",
): IdempotencyRecord {
  return { principal, key, job_id: jobId, fingerprint: `fp_${jobId}`, expires_at: expiresAt };
}

const NOW = "2026-01-01T12:00:00.000Z";

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

async function jobIds(
  store: RuntimeStore,
  query: Partial<Parameters<RuntimeStore["listJobs"]>[0]>,
) {
  const page = await store.listJobs({ principal: "alice", limit: 100, ...query });
  return { ids: page.jobs.map((job) => job.job_id), more: page.more };
}

/** The event log and record store cases, then the sessions, jobs and idempotency cases. */
export function runtimeStoreCases(): StoreCase<RuntimeStore>[] {
  const cases: StoreCase<RuntimeStore>[] = [...eventStoreCases(), ...recordStoreCases()];
  const test = collector(cases);

  test("stores, replaces and returns session records", async (store) => {
    assert.equal(await store.getSession("sess_1"), undefined);
    await store.putSession(sessionRecord("sess_1"));
    assert.deepEqual(await store.getSession("sess_1"), sessionRecord("sess_1"));
    const detached = { ...sessionRecord("sess_1"), detached_at: NOW, acked_seq: 7 };
    await store.putSession(detached);
    assert.deepEqual(await store.getSession("sess_1"), detached);
  });

  test("deleteSession removes the record and its whole log, and nothing else", async (store) => {
    await store.putSession(sessionRecord("sess_1"));
    await store.putSession(sessionRecord("sess_2"));
    await store.append("sess_1", events(1, 5));
    await store.append("sess_2", events(1, 2));
    await store.deleteSession("sess_1");
    assert.equal(await store.getSession("sess_1"), undefined);
    assert.deepEqual(await seqs(store, "sess_1"), []);
    assert.deepEqual(await store.bounds("sess_1"), { first: 1, last: 0 });
    assert.deepEqual(await store.getSession("sess_2"), sessionRecord("sess_2"));
    assert.deepEqual(await seqs(store, "sess_2"), [1, 2]);
    await store.append("sess_1", events(1, 1));
    assert.deepEqual(await seqs(store, "sess_1"), [1], "a new log starts at 1");
    await store.deleteSession("nobody");
  });

  test("listSessions yields every stored session", async (store) => {
    assert.deepEqual(await collect(store.listSessions()), []);
    for (const id of ["sess_b", "sess_a", "sess_c"]) await store.putSession(sessionRecord(id));
    const ids = (await collect(store.listSessions())).map((s) => s.session_id).sort();
    assert.deepEqual(ids, ["sess_a", "sess_b", "sess_c"]);
  });

  test("getSessionByToken finds a session by its current or previous token hash", async (store) => {
    if (store.getSessionByToken === undefined) return;
    const [a, b, c] = ["aa", "bb", "cc"].map((hex) => hex.repeat(32)) as [string, string, string];
    assert.equal(await store.getSessionByToken(a), undefined);
    const first = { ...sessionRecord("sess_1"), resume_token_sha256: a };
    await store.putSession(first);
    await store.putSession({ ...sessionRecord("sess_2", "bob"), resume_token_sha256: c });
    assert.deepEqual(await store.getSessionByToken(a), first);
    // Rotated: the replaced token still finds it until the rotation is confirmed.
    const rotated = { ...first, resume_token_sha256: b, previous_token_sha256: a };
    await store.putSession(rotated);
    assert.deepEqual(await store.getSessionByToken(a), rotated);
    assert.deepEqual(await store.getSessionByToken(b), rotated);
    const confirmed = { ...rotated, previous_token_sha256: null };
    await store.putSession(confirmed);
    assert.equal(await store.getSessionByToken(a), undefined, "a confirmed rotation drops the old");
    assert.deepEqual(await store.getSessionByToken(b), confirmed);
    assert.equal((await store.getSessionByToken(c))?.session_id, "sess_2", "sessions stay apart");
    assert.equal(await store.getSessionByToken("dd".repeat(32)), undefined);
  });

  test("getSessionByToken follows updateSession and forgets deleted sessions", async (store) => {
    if (store.getSessionByToken === undefined) return;
    const [a, b] = ["aa", "bb"].map((hex) => hex.repeat(32)) as [string, string];
    await store.putSession({ ...sessionRecord("sess_1"), resume_token_sha256: a });
    if (store.updateSession !== undefined) {
      await store.updateSession("sess_1", (current) => ({
        ...current!,
        resume_token_sha256: b,
        previous_token_sha256: null,
      }));
      assert.equal(await store.getSessionByToken(a), undefined);
      assert.equal((await store.getSessionByToken(b))?.session_id, "sess_1");
    }
    await store.deleteSession("sess_1");
    assert.equal(await store.getSessionByToken(a), undefined);
    assert.equal(await store.getSessionByToken(b), undefined);
    // A new session may take a hash a deleted one had, and is then found by it.
    await store.putSession({ ...sessionRecord("sess_9"), resume_token_sha256: a });
    assert.equal((await store.getSessionByToken(a))?.session_id, "sess_9");
  });

  test("getSessionByToken returns a copy", async (store) => {
    if (store.getSessionByToken === undefined) return;
    await store.putSession(sessionRecord("sess_1"));
    const found = (await store.getSessionByToken(sessionRecord("sess_1").resume_token_sha256))!;
    found.acked_seq = 99;
    assert.equal((await store.getSession("sess_1"))?.acked_seq, 0);
  });

  test("stores, replaces and returns job records", async (store) => {
    assert.equal(await store.getJob("job_1"), undefined);
    await store.putJob(jobRecord("job_1"));
    assert.deepEqual(await store.getJob("job_1"), jobRecord("job_1"));
    const ended = jobRecord("job_1", { status: "success", last_event_seq: 3 });
    ended.terminal = {
      ...storedEvent(3),
      type: "job.result",
      payload: { final_status: "success", result: { ok: true } },
    };
    await store.putJob(ended);
    assert.deepEqual(await store.getJob("job_1"), ended);
  });

  test("listJobs returns only the principal's jobs, in job_id order", async (store) => {
    for (const id of ["job_03", "job_01", "job_02"]) await store.putJob(jobRecord(id));
    await store.putJob(jobRecord("job_00", { principal: "bob" }));
    assert.deepEqual(await jobIds(store, {}), { ids: ["job_01", "job_02", "job_03"], more: false });
    assert.deepEqual(await jobIds(store, { principal: "bob" }), { ids: ["job_00"], more: false });
    assert.deepEqual(await jobIds(store, { principal: "carol" }), { ids: [], more: false });
    // A job that changes hands leaves its old principal's listing.
    await store.putJob(jobRecord("job_02", { principal: "bob" }));
    assert.deepEqual((await jobIds(store, {})).ids, ["job_01", "job_03"]);
    assert.deepEqual((await jobIds(store, { principal: "bob" })).ids, ["job_00", "job_02"]);
  });

  test("listJobs filters by status list and by agent", async (store) => {
    await store.putJob(jobRecord("job_1", { status: "pending", agent: "echo@1.0.0" }));
    await store.putJob(jobRecord("job_2", { status: "running", agent: "echo@2.0.0" }));
    await store.putJob(jobRecord("job_3", { status: "success", agent: "echo" }));
    await store.putJob(jobRecord("job_4", { status: "error", agent: "echoes@1.0.0" }));
    await store.putJob(jobRecord("job_5", { status: "cancelled", agent: "other" }));
    const ids = async (query: Parameters<typeof jobIds>[1]) => (await jobIds(store, query)).ids;
    assert.deepEqual(await ids({ status: ["running"] }), ["job_2"]);
    assert.deepEqual(await ids({ status: ["pending", "error", "cancelled"] }), [
      "job_1",
      "job_4",
      "job_5",
    ]);
    assert.deepEqual(await ids({ status: [] }), []);
    assert.deepEqual(await ids({ agent: "echo" }), ["job_1", "job_2", "job_3"], "every version");
    assert.deepEqual(await ids({ agent: "echo@2.0.0" }), ["job_2"], "exact version");
    assert.deepEqual(await ids({ agent: "echo", status: ["pending", "success"] }), [
      "job_1",
      "job_3",
    ]);
  });

  test("listJobs filters by created_after and created_before, both strict", async (store) => {
    for (let minute = 1; minute <= 5; minute++) {
      await store.putJob(jobRecord(`job_${minute}`, {}, minute));
    }
    const at = (minute: number) => `2026-01-01T00:0${minute}:00.000Z`;
    assert.deepEqual((await jobIds(store, { created_after: at(3) })).ids, ["job_4", "job_5"]);
    assert.deepEqual((await jobIds(store, { created_before: at(2) })).ids, ["job_1"]);
    assert.deepEqual(
      (await jobIds(store, { created_after: at(1), created_before: at(5) })).ids,
      ["job_2", "job_3", "job_4"],
    );
  });

  test("listJobs pages with after_job_id and limit, reporting `more`", async (store) => {
    for (let i = 1; i <= 5; i++) await store.putJob(jobRecord(`job_${i}`));
    assert.deepEqual(await jobIds(store, { limit: 2 }), { ids: ["job_1", "job_2"], more: true });
    assert.deepEqual(await jobIds(store, { limit: 2, after_job_id: "job_2" }), {
      ids: ["job_3", "job_4"],
      more: true,
    });
    assert.deepEqual(await jobIds(store, { limit: 2, after_job_id: "job_4" }), {
      ids: ["job_5"],
      more: false,
    });
    assert.deepEqual(await jobIds(store, { limit: 3, after_job_id: "job_2" }), {
      ids: ["job_3", "job_4", "job_5"],
      more: false,
    });
    assert.deepEqual(await jobIds(store, { after_job_id: "job_5" }), { ids: [], more: false });
    assert.deepEqual(await jobIds(store, { after_job_id: "job_25" }), {
      ids: ["job_3", "job_4", "job_5"],
      more: false,
    }, "the cursor need not be a stored id");
    await store.putJob(jobRecord("job_6", { status: "success" }));
    await store.putJob(jobRecord("job_7", { status: "success" }));
    assert.deepEqual(await jobIds(store, { limit: 1, status: ["success"] }), {
      ids: ["job_6"],
      more: true,
    });
  });

  test("listUnfinishedJobs yields pending and running jobs only", async (store) => {
    await store.putJob(jobRecord("job_1", { status: "pending" }));
    await store.putJob(jobRecord("job_2", { status: "running", principal: "bob" }));
    await store.putJob(jobRecord("job_3", { status: "success" }));
    await store.putJob(jobRecord("job_4", { status: "timed_out" }));
    const unfinished = async () =>
      (await collect(store.listUnfinishedJobs())).map((job) => job.job_id).sort();
    assert.deepEqual(await unfinished(), ["job_1", "job_2"]);
    await store.putJob(jobRecord("job_1", { status: "cancelled" }));
    await store.putJob(jobRecord("job_3", { status: "running" }));
    assert.deepEqual(await unfinished(), ["job_2", "job_3"]);
    const job3 = (await collect(store.listUnfinishedJobs())).find((j) => j.job_id === "job_3");
    assert.deepEqual(job3, jobRecord("job_3", { status: "running" }));
  });

  test("claimIdempotencyKey stores the first claim and returns it to the next", async (store) => {
    assert.equal(await store.claimIdempotencyKey(binding("alice", "k", "job_1"), NOW), undefined);
    assert.deepEqual(
      await store.claimIdempotencyKey(binding("alice", "k", "job_2"), NOW),
      binding("alice", "k", "job_1"),
    );
    assert.equal(await store.claimIdempotencyKey(binding("alice", "k2", "job_3"), NOW), undefined);
  });

  test("claimIdempotencyKey lets an expired binding be claimed again", async (store) => {
    const early = binding("alice", "k", "job_1", "2026-01-01T11:00:00.000Z");
    assert.equal(await store.claimIdempotencyKey(early, "2026-01-01T10:00:00.000Z"), undefined);
    assert.deepEqual(
      await store.claimIdempotencyKey(binding("alice", "k", "job_2"), "2026-01-01T10:59:59.999Z"),
      early,
    );
    assert.equal(await store.claimIdempotencyKey(binding("alice", "k", "job_2"), NOW), undefined);
    assert.deepEqual(
      await store.claimIdempotencyKey(binding("alice", "k", "job_3"), NOW),
      binding("alice", "k", "job_2"),
    );
  });

  test("claimIdempotencyKey keeps principals apart", async (store) => {
    assert.equal(await store.claimIdempotencyKey(binding("alice", "k", "job_1"), NOW), undefined);
    assert.equal(await store.claimIdempotencyKey(binding("bob", "k", "job_2"), NOW), undefined);
    assert.equal(
      (await store.claimIdempotencyKey(binding("bob", "k", "job_3"), NOW))?.job_id,
      "job_2",
    );
  });

  test("claimIdempotencyKey lets exactly one of concurrent claims win", async (store) => {
    const claims = Array.from({ length: 8 }, (_, i) => binding("alice", "k", `job_${i}`));
    const results = await Promise.all(claims.map((c) => store.claimIdempotencyKey(c, NOW)));
    const winners = claims.filter((_, i) => results[i] === undefined);
    assert.equal(winners.length, 1);
    for (const result of results) if (result !== undefined) assert.deepEqual(result, winners[0]);
  });

  // Session, job and idempotency records only: the memory store hands out the
  // events it holds, unchanged, to keep the event path free of copies.
  test("records are copies: mutating one never changes the store", async (store) => {
    const session = sessionRecord("sess_1");
    const job = jobRecord("job_1");
    await store.putSession(session);
    await store.putJob(job);
    session.acked_seq = 99;
    job.lease["tool.call"]!.push("mutated");
    (await store.getSession("sess_1"))!.principal = "mallory";
    (await store.getJob("job_1"))!.status = "error";
    (await store.listJobs({ principal: "alice", limit: 1 })).jobs[0]!.agent = "mutated";
    (await collect(store.listUnfinishedJobs()))[0]!.trace_id = "mutated";
    (await collect(store.listSessions()))[0]!.detached_at = NOW;
    assert.deepEqual(await store.getSession("sess_1"), sessionRecord("sess_1"));
    assert.deepEqual(await store.getJob("job_1"), jobRecord("job_1"));
    const claimed = binding("alice", "k", "job_1");
    await store.claimIdempotencyKey(claimed, NOW);
    claimed.job_id = "mutated";
    (await store.claimIdempotencyKey(binding("alice", "k", "job_2"), NOW))!.job_id = "mutated";
    assert.deepEqual(
      await store.claimIdempotencyKey(binding("alice", "k", "job_2"), NOW),
      binding("alice", "k", "job_1"),
    );
  });

  test("stores nothing of a batch with a gap, even into an empty log", async (store) => {
    await assert.rejects(store.append("s", [...events(1, 3), storedEvent(5)]), RangeError);
    assert.deepEqual(await seqs(store, "s"), []);
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 0 });
  });

  test("keeps the credential ledger: put, replace, list in id order, delete", async (store) => {
    const entry = (id: string, job: string) => ({
      credential_id: id,
      job_id: job,
      principal: "alice",
      issued_at: NOW,
      state: "issued" as const,
      attempts: 0,
    });
    assert.deepEqual(await collect(store.listCredentials()), []);
    await store.putCredential(entry("cred_2", "job_2"));
    await store.putCredential(entry("cred_1", "job_1"));
    const failing = { ...entry("cred_2", "job_2"), state: "revoking" as const, attempts: 3 };
    await store.putCredential({ ...failing, last_error: "upstream said 503" });
    assert.deepEqual(await collect(store.listCredentials()), [
      entry("cred_1", "job_1"),
      { ...failing, last_error: "upstream said 503" },
    ]);
    await store.deleteCredential("cred_1");
    await store.deleteCredential("cred_unknown");
    assert.deepEqual(
      (await collect(store.listCredentials())).map((record) => record.credential_id),
      ["cred_2"],
    );
  });

  test("updateSession changes a record in one step, or keeps it", async (store) => {
    if (store.updateSession === undefined) return;
    const absent = await store.updateSession("sess_1", (current) => {
      assert.equal(current, undefined);
      return undefined;
    });
    assert.equal(absent, undefined);
    assert.equal(await store.getSession("sess_1"), undefined, "undefined stores nothing");
    await store.putSession(sessionRecord("sess_1"));
    const moved = await store.updateSession("sess_1", (current) => ({
      ...current!,
      instance_id: "inst_2",
      acked_seq: current!.acked_seq + 3,
    }));
    const expected = { ...sessionRecord("sess_1"), instance_id: "inst_2", acked_seq: 3 };
    assert.deepEqual(moved, expected);
    assert.deepEqual(await store.getSession("sess_1"), expected);
    const kept = await store.updateSession("sess_1", () => undefined);
    assert.deepEqual(kept, expected, "returns the stored record when kept");
  });

  test("updateSession applies concurrent changes one after the other", async (store) => {
    if (store.updateSession === undefined) return;
    await store.putSession(sessionRecord("sess_1"));
    await Promise.all(
      range(1, 10).map(() =>
        store.updateSession!("sess_1", (current) => ({
          ...current!,
          acked_seq: current!.acked_seq + 1,
        }))
      ),
    );
    assert.equal((await store.getSession("sess_1"))?.acked_seq, 10);
  });

  test("keeps instance heartbeats: put, renew, list in id order, delete", async (store) => {
    if (store.putInstance === undefined) return;
    const instance = (id: string, expiresAt: string) => ({
      instance_id: id,
      started_at: NOW,
      expires_at: expiresAt,
    });
    assert.deepEqual(await collect(store.listInstances!()), []);
    await store.putInstance(instance("inst_2", NOW));
    await store.putInstance(instance("inst_1", NOW));
    await store.putInstance(instance("inst_2", "2026-01-01T12:00:05.000Z"));
    assert.deepEqual(await collect(store.listInstances!()), [
      instance("inst_1", NOW),
      instance("inst_2", "2026-01-01T12:00:05.000Z"),
    ]);
    await store.deleteInstance!("inst_1");
    await store.deleteInstance!("inst_unknown");
    assert.deepEqual(
      (await collect(store.listInstances!())).map((record) => record.instance_id),
      ["inst_2"],
    );
  });

  test("streams 20,000 events in order", async (store) => {
    for (let from = 1; from <= 20_000; from += 2_000) {
      await store.append("s", events(from, from + 1_999));
    }
    let expected = 1;
    for await (const event of store.read("s", { after: 0 })) {
      assert.equal(event.event_seq, expected++);
    }
    assert.equal(expected, 20_001);
    assert.deepEqual(await seqs(store, "s", 19_995), [19_996, 19_997, 19_998, 19_999, 20_000]);
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 20_000 });
  });

  return cases;
}
