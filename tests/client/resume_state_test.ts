// The resume-state stores: one behaviour suite run against memory, Deno KV
// and IndexedDB (fake-indexeddb), then a client that resumes its session in
// a second "process" from a Deno KV file.

import assert from "node:assert/strict";
import { IDBFactory } from "npm:fake-indexeddb@^6.2.8";
import { connect } from "../../client.ts";
import {
  MemoryResumeStateStore,
  type ResumeState,
  type ResumeStateStore,
} from "../../client/resume_state.ts";
import { DenoKvResumeStateStore } from "../../client/resume_state_deno_kv.ts";
import {
  type IDBDatabaseLike,
  IndexedDbResumeStateStore,
} from "../../client/resume_state_indexeddb.ts";
import { ConnectionClosedError } from "../../protocol/errors.ts";
import { type AgentContext, Runtime, staticTokens } from "../../runtime.ts";
import { memoryTransportPair } from "../../transports/memory.ts";
import type { Frame, MalformedFrame, Transport } from "../../transports/types.ts";
import { eventually } from "../_helpers.ts";

/** A fresh, empty store, and how to reach the same data again ("reopen"). */
interface Backend {
  store: ResumeStateStore;
  /** Another store instance on the same data, as a restarted process gets. */
  reopen(): Promise<ResumeStateStore>;
  close(): Promise<void>;
}

type BackendFactory = () => Promise<Backend>;

const state = (seq: number, session = "sess_1"): ResumeState => ({
  session_id: session,
  resume_token: `rt_${session}_${seq}`,
  last_event_seq: seq,
});

function resumeStateStoreSuite(name: string, open: BackendFactory): void {
  const test = (behaviour: string, fn: (backend: Backend) => Promise<void>) =>
    Deno.test(`${name} ${behaviour}`, async () => {
      const backend = await open();
      try {
        await fn(backend);
      } finally {
        await backend.close();
      }
    });

  test("load() resolves undefined for a key never saved", async ({ store }) => {
    assert.equal(await store.load("nothing"), undefined);
  });

  test("load() returns what save() stored", async ({ store }) => {
    await store.save("k", state(7));
    assert.deepEqual(await store.load("k"), state(7));
  });

  test("save() replaces the state under the same key", async ({ store }) => {
    await store.save("k", state(1));
    await store.save("k", state(2, "sess_2"));
    assert.deepEqual(await store.load("k"), state(2, "sess_2"));
  });

  test("keeps keys apart, URLs included", async ({ store }) => {
    const a = "ws://127.0.0.1:7777/arcp";
    const b = "wss://example.com/arcp?tenant=b";
    await store.save(a, state(1, "sess_a"));
    await store.save(b, state(2, "sess_b"));
    assert.deepEqual(await store.load(a), state(1, "sess_a"));
    assert.deepEqual(await store.load(b), state(2, "sess_b"));
    await store.delete(a);
    assert.equal(await store.load(a), undefined);
    assert.deepEqual(await store.load(b), state(2, "sess_b"));
  });

  test("delete() forgets a key, and is a no-op for an unknown one", async ({ store }) => {
    await store.save("k", state(3));
    await store.delete("k");
    assert.equal(await store.load("k"), undefined);
    await store.delete("k");
    await store.delete("never-saved");
  });

  test("stores copies: later mutation of saved or loaded objects changes nothing", async ({ store }) => {
    const saved = state(5);
    await store.save("k", saved);
    saved.last_event_seq = 999;
    const loaded = (await store.load("k"))!;
    assert.equal(loaded.last_event_seq, 5);
    loaded.resume_token = "tampered";
    assert.deepEqual(await store.load("k"), state(5));
  });

  test("saves fired without awaiting land in call order: the last one wins", async ({ store }) => {
    // The client saves on every tick without waiting for the previous save.
    const saves: Promise<void>[] = [];
    for (let seq = 1; seq <= 50; seq++) saves.push(store.save("k", state(seq)));
    saves.push(store.delete("gone"));
    const loaded = store.load("k");
    await Promise.all(saves);
    assert.deepEqual(await loaded, state(50));
    assert.deepEqual(await store.load("k"), state(50));
  });

  test("a reopened store sees what was saved before", async (backend) => {
    await backend.store.save("k", state(9));
    await backend.store.save("deleted", state(1));
    await backend.store.delete("deleted");
    const again = await backend.reopen();
    assert.deepEqual(await again.load("k"), state(9));
    assert.equal(await again.load("deleted"), undefined);
  });
}

// Memory: "reopening" in one process is the same instance.
resumeStateStoreSuite("MemoryResumeStateStore", () => {
  const store = new MemoryResumeStateStore();
  return Promise.resolve({
    store,
    reopen: () => Promise.resolve(store),
    close: () => Promise.resolve(),
  });
});

resumeStateStoreSuite("DenoKvResumeStateStore", async () => {
  const kv = await Deno.openKv(":memory:");
  return {
    store: new DenoKvResumeStateStore(kv),
    reopen: () => Promise.resolve(new DenoKvResumeStateStore(kv)),
    close: () => Promise.resolve(kv.close()),
  };
});

resumeStateStoreSuite("DenoKvResumeStateStore (prefix)", async () => {
  const kv = await Deno.openKv(":memory:");
  // Data outside the prefix, which the store must neither see nor touch.
  await kv.set(["arcp", "resume_state", "k"], state(1000, "sess_outside"));
  await kv.set(["app", "k"], "app data");
  return {
    store: new DenoKvResumeStateStore(kv, { prefix: ["app", "arcp"] }),
    reopen: () => Promise.resolve(new DenoKvResumeStateStore(kv, { prefix: ["app", "arcp"] })),
    async close() {
      try {
        assert.deepEqual((await kv.get(["arcp", "resume_state", "k"])).value, {
          ...state(1000, "sess_outside"),
        });
        assert.equal((await kv.get(["app", "k"])).value, "app data");
      } finally {
        kv.close();
      }
    },
  };
});

resumeStateStoreSuite("IndexedDbResumeStateStore.open()", async () => {
  const factory = new IDBFactory();
  const opened: IndexedDbResumeStateStore[] = [];
  const open = async () => {
    const store = await IndexedDbResumeStateStore.open({ factory });
    opened.push(store);
    return store;
  };
  const store = await open();
  return {
    store,
    async reopen() {
      await store.close();
      return await open();
    },
    async close() {
      for (const each of opened) await each.close();
    },
  };
});

resumeStateStoreSuite("IndexedDbResumeStateStore (given database)", async () => {
  const factory = new IDBFactory();
  const openDb = () =>
    new Promise<IDBDatabaseLike>((resolve, reject) => {
      const open = factory.open("app", 1);
      open.onupgradeneeded = () => IndexedDbResumeStateStore.createSchema(open.result, "client");
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
  const dbs = [await openDb()];
  return {
    store: new IndexedDbResumeStateStore(dbs[0]!, { storeName: "client" }),
    async reopen() {
      dbs[0]!.close();
      dbs.push(await openDb());
      return new IndexedDbResumeStateStore(dbs.at(-1)!, { storeName: "client" });
    },
    close() {
      for (const db of dbs) db.close();
      return Promise.resolve();
    },
  };
});

Deno.test("DenoKvResumeStateStore ignores a stored value that is not a resume state", async () => {
  using kv = await Deno.openKv(":memory:");
  await kv.set(["arcp", "resume_state", "k"], { session_id: "sess_1" });
  assert.equal(await new DenoKvResumeStateStore(kv).load("k"), undefined);
});

Deno.test("DenoKvResumeStateStore rejects a key over the Deno KV key limit with a RangeError", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new DenoKvResumeStateStore(kv);
  await assert.rejects(store.save("k".repeat(3000), state(1)), RangeError);
});

Deno.test("IndexedDbResumeStateStore.open() refuses a database of the same name without its object store", async () => {
  const factory = new IDBFactory();
  await new Promise<void>((resolve, reject) => {
    const open = factory.open("arcp-resume-state", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("other");
    open.onsuccess = () => (open.result.close(), resolve());
    open.onerror = () => reject(open.error);
  });
  await assert.rejects(IndexedDbResumeStateStore.open({ factory }), TypeError);
});

Deno.test("IndexedDbResumeStateStore.open() needs an IndexedDB where none is global", async () => {
  await assert.rejects(IndexedDbResumeStateStore.open(), TypeError);
});

// End to end ---------------------------------------------------------------

const TOKEN = "t-resume";

/** A memory connection to `runtime` that the test can drop abruptly. */
function droppable(runtime: Runtime, accepted: Promise<void>[]): {
  transport: Transport;
  drop(): void;
} {
  const [clientSide, runtimeSide] = memoryTransportPair();
  accepted.push(runtime.accept(runtimeSide));
  // The client locks its streams, so the cut is made in two pipes spliced in between.
  const cut = new AbortController();
  const up = new TransformStream<Frame, Frame>();
  const down = new TransformStream<Frame | MalformedFrame, Frame | MalformedFrame>();
  up.readable.pipeTo(clientSide.writable, { signal: cut.signal }).catch(() => {});
  clientSide.readable.pipeTo(down.writable, { signal: cut.signal }).catch(() => {});
  return {
    transport: { readable: down.readable, writable: up.writable },
    drop: () => cut.abort(new Error("dropped by test")),
  };
}

/** A DenoKvResumeStateStore whose saves the test can wait for. */
class TrackedKvStore extends DenoKvResumeStateStore {
  readonly saves: Promise<void>[] = [];
  override save(key: string, state: ResumeState): Promise<void> {
    const saved = super.save(key, state);
    this.saves.push(saved);
    return saved;
  }
}

Deno.test("a client restarted on a Deno KV resume store resumes its session and gets the events emitted while it was gone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "arcp_resume_state_" });
  const path = `${dir}/client.kv`;
  const gates = [Promise.withResolvers<void>(), Promise.withResolvers<void>()];
  let runs = 0;
  const agentDone = Promise.withResolvers<void>();
  await using runtime = new Runtime({
    authenticate: staticTokens({ [TOKEN]: "alice" }),
    agents: [{
      name: "ticker",
      handler: async (_input: unknown, ctx: AgentContext) => {
        runs++;
        let i = 0;
        for (const gate of [...gates, undefined]) {
          for (let n = 0; n < 3; n++) await ctx.log("info", "tick", { i: i++ });
          await gate?.promise;
        }
        agentDone.resolve();
        return { ticks: i };
      },
    }],
  });
  const accepted: Promise<void>[] = [];
  const tick = (event: { payload: { body: unknown } }) =>
    (event.payload.body as { attributes: { i: number } }).attributes.i;
  try {
    // First process: sees ticks 0-2, then loses its connection without session.close.
    const kv1 = await Deno.openKv(path);
    const store1 = new TrackedKvStore(kv1);
    const first = droppable(runtime, accepted);
    const client1 = await connect(first.transport, {
      token: TOKEN,
      resumeStore: store1,
      resumeKey: "my-runtime",
    });
    const sessionId = client1.sessionId;
    const job1 = await client1.submit("ticker", null, { idempotencyKey: "ticker-1" });
    const seen1: number[] = [];
    const reader = job1.events.getReader();
    while (seen1.length < 3) seen1.push(tick((await reader.read()).value!));
    assert.deepEqual(seen1, [0, 1, 2]);
    first.drop();
    await assert.rejects(job1.result, ConnectionClosedError);
    reader.releaseLock();
    await Promise.all(store1.saves);
    assert.equal((await store1.load("my-runtime"))?.last_event_seq, client1.lastEventSeq);
    kv1.close();

    // Meanwhile the job emits ticks 3-5 with nobody connected.
    gates[0]!.resolve();

    // Second process: a new client from the reopened file resumes the session.
    using kv2 = await Deno.openKv(path);
    const second = droppable(runtime, accepted);
    const client2 = await connect(second.transport, {
      token: TOKEN,
      resumeStore: new DenoKvResumeStateStore(kv2),
      resumeKey: "my-runtime",
    });
    try {
      assert.equal(client2.sessionId, sessionId);
      // Resubmitting with the same key finds the running job, not a new one.
      const job2 = await client2.submit("ticker", null, { idempotencyKey: "ticker-1" });
      assert.equal(job2.jobId, job1.jobId);
      gates[1]!.resolve();
      const seen2: number[] = [];
      for await (const event of job2) seen2.push(tick(event));
      assert.deepEqual(seen2, [3, 4, 5, 6, 7, 8]);
      assert.deepEqual((await job2.result).result, { ticks: 9 });
      await agentDone.promise;
      assert.equal(runs, 1);
    } finally {
      await client2.close();
    }
  } finally {
    for (const gate of gates) gate.resolve();
    await runtime.close();
    await Promise.all(accepted);
    await Deno.remove(dir, { recursive: true });
  }
});

/** A DenoKvResumeStateStore that tells when a state at or past a seq was saved. */
class WatchedKvStore extends DenoKvResumeStateStore {
  #waiters: { seq: number; resolve(): void }[] = [];
  override async save(key: string, state: ResumeState): Promise<void> {
    await super.save(key, state);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (state.last_event_seq < waiter.seq) return true;
      waiter.resolve();
      return false;
    });
  }
  /** Resolves once a state with `last_event_seq >= seq` has been saved. */
  savedThrough(seq: number): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ seq, resolve });
    return promise;
  }
}

/**
 * A runtime whose `ticker` agent logs ticks 0-2, waits for `gate`, logs
 * ticks 3-5 and returns; clients connect to it over droppable transports.
 */
function tickerRuntime() {
  const gate = Promise.withResolvers<void>();
  let runs = 0;
  const runtime = new Runtime({
    authenticate: staticTokens({ [TOKEN]: "alice" }),
    agents: [{
      name: "ticker",
      handler: async (_input: unknown, ctx: AgentContext) => {
        runs++;
        for (let i = 0; i < 3; i++) await ctx.log("info", "tick", { i });
        await gate.promise;
        for (let i = 3; i < 6; i++) await ctx.log("info", "tick", { i });
        return { ticks: 6 };
      },
    }],
  });
  const accepted: Promise<void>[] = [];
  return {
    runtime,
    gate,
    get runs() {
      return runs;
    },
    connection: () => droppable(runtime, accepted),
    async [Symbol.asyncDispose]() {
      gate.resolve();
      await runtime.close();
      await Promise.all(accepted);
    },
  };
}

const tickOf = (event: { payload: { body: unknown } }) =>
  (event.payload.body as { attributes: { i: number } }).attributes.i;

Deno.test({
  // Once lost every replayed event: the terminal among them retired the stream that
  // job.accepted made, and submit() then made an empty one.
  name: "a job that ended while its client was gone keeps its replayed events when the " +
    "restarted client resubmits its key",
  async fn() {
    await using setup = tickerRuntime();
    using kv = await Deno.openKv(":memory:");
    const store = new WatchedKvStore(kv);
    const first = setup.connection();
    const client1 = await connect(first.transport, {
      token: TOKEN,
      resumeStore: store,
      resumeKey: "k",
    });
    const job1 = await client1.submit("ticker", null, { idempotencyKey: "ticker-1" });
    const reader = job1.events.getReader();
    const seen1: number[] = [];
    while (seen1.length < 3) seen1.push(tickOf((await reader.read()).value!));
    first.drop();
    await assert.rejects(job1.result, ConnectionClosedError);
    await store.savedThrough(3);
    // The job ends while nobody is connected.
    setup.gate.resolve();
    const second = setup.connection();
    await using client2 = await connect(second.transport, {
      token: TOKEN,
      resumeStore: store,
      resumeKey: "k",
    });
    assert.equal(client2.sessionId, client1.sessionId);
    const job2 = await client2.submit("ticker", null, { idempotencyKey: "ticker-1" });
    const seen2: number[] = [];
    for await (const event of job2) seen2.push(tickOf(event));
    assert.deepEqual((await job2.result).result, { ticks: 6 });
    assert.deepEqual([...seen1, ...seen2], [0, 1, 2, 3, 4, 5]);
    assert.equal(setup.runs, 1);
  },
});

Deno.test({
  name:
    "a restarted client gets the events its previous process received but never handed to the application",
  async fn() {
    await using setup = tickerRuntime();
    using kv = await Deno.openKv(":memory:");
    const store = new WatchedKvStore(kv);
    const first = setup.connection();
    const client1 = await connect(first.transport, {
      token: TOKEN,
      resumeStore: store,
      resumeKey: "k",
    });
    const job1 = await client1.submit("ticker", null, { idempotencyKey: "ticker-1" });
    // Ticks 0-2 reach the client, but the application reads none of them;
    // the client's periodic save (every 200 ms) runs a few times meanwhile.
    await eventually(() => Promise.resolve(client1.lastEventSeq >= 3), "ticks 0-2 to arrive");
    await new Promise((resolve) => setTimeout(resolve, 600));
    first.drop();
    await assert.rejects(job1.result, ConnectionClosedError);
    const second = setup.connection();
    await using client2 = await connect(second.transport, {
      token: TOKEN,
      resumeStore: store,
      resumeKey: "k",
    });
    const job2 = await client2.submit("ticker", null, { idempotencyKey: "ticker-1" });
    setup.gate.resolve();
    const seen: number[] = [];
    for await (const event of job2) seen.push(tickOf(event));
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  },
});
