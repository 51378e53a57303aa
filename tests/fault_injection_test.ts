// Fault injection: a client whose connections are cut abruptly, at
// pseudo-random frame counts, 200 times while jobs of 10,000 events stream.
// With automatic reconnect and resume, every event must arrive exactly once
// and in order, every job must settle, and no agent may run twice. Runs over
// the memory transport and real WebSockets on 127.0.0.1, with the memory and
// the Deno KV store, then replays the individual faults that once lost a
// session or events, deterministically.
//
// The cuts come from a seeded PRNG (the seed is in each case's name), so a
// failing case replays exactly: ARCP_FAULT_SEED=<seed> deno test -A tests/fault_injection_test.ts

import assert from "node:assert/strict";
import { type Client, connect } from "../client.ts";
import { type AgentDefinition, Runtime, staticTokens } from "../runtime.ts";
import { openDenoKvStore } from "../store/deno_kv.ts";
import { MemoryStore } from "../store/memory.ts";
import type { RuntimeStore, StoredEvent } from "../store/types.ts";
import { memoryTransportPair } from "../transports/memory.ts";
import { type Frame, MalformedFrame, type Transport } from "../transports/types.ts";
import { type WebSocketLike, webSocketTransport } from "../transports/websocket.ts";
import { httpTransport } from "../transports/http.ts";
import { within } from "./_raw.ts";

const TOKEN = "t-faults";
const EVENTS_PER_JOB = 10_000;
const DROPS = 200;
/**
 * Jobs per case. A WebSocket has no receive-side backpressure: at each cut
 * the runtime has already pushed up to its whole backlog into the socket
 * buffers, all of it stringified, parsed and thrown away, and replayed on
 * the next connection. So a WebSocket cut costs far more than a memory one,
 * and the WebSocket cases run one job to stay within about 10 s.
 */
const JOBS: Record<TransportKind, number> = { memory: 2, websocket: 1, http: 1 };
/** A broken build fails the case within this instead of hanging the suite. */
const CASE_TIMEOUT_MS = 60_000;

/** mulberry32: a tiny, fast 32-bit PRNG; the same seed gives the same sequence. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Decides, frame by frame across all connections, when to cut the current
 * one: after a number of frames (either way) drawn uniformly from
 * 1..2×meanGap−1. With meanGap at 70 % of the events per cut, the 200th cut
 * comes well before the jobs end (control frames add a few per connection).
 */
class FaultPlan {
  drops = 0;
  frames = 0;
  armed = false;
  readonly #random: () => number;
  readonly #meanGap: number;
  #left: number;

  constructor(seed: number, meanGap: number) {
    this.#random = mulberry32(seed);
    this.#meanGap = meanGap;
    this.#left = this.#gap();
  }

  #gap(): number {
    return 1 + Math.floor(this.#random() * (2 * this.#meanGap - 1));
  }

  /** Counts one frame; true when the connection must be cut before it passes. */
  cut(): boolean {
    if (!this.armed || this.drops >= DROPS) return false;
    this.frames++;
    if (--this.#left > 0) return false;
    this.drops++;
    this.#left = this.#gap();
    return true;
  }
}

/** Decides whether to cut the connection before `frame` passes. */
type Cutter = (frame: Frame) => boolean;

/**
 * How a cut treats the underlying readable: `cancel` it (an abortive close),
 * or `drain` it to its end.
 */
type CutMode = "cancel" | "drain";

/**
 * Splices a cutter into a transport: each frame, either way, may be the one
 * at which the connection is cut. A cut is abortive on the underlying
 * transport (its writable aborted, its readable cancelled or drained, so the
 * runtime sees the connection die) and errors both streams the client holds;
 * the frame that triggered it is lost.
 */
function faulty(inner: Transport, shouldCut: Cutter, mode: CutMode = "cancel"): Transport {
  const writer = inner.writable.getWriter();
  const reader = inner.readable.getReader();
  let readController!: ReadableStreamDefaultController<Frame | MalformedFrame>;
  let writeController!: WritableStreamDefaultController;
  let cut = false;
  const drop = (): Error => {
    const reason = new Error("fault injection: connection cut");
    cut = true;
    writer.abort(reason).catch(() => {});
    if (mode === "cancel") reader.cancel(reason).catch(() => {});
    else void drain(reader);
    readController.error(reason);
    writeController.error(reason);
    return reason;
  };
  const readable = new ReadableStream<Frame | MalformedFrame>({
    start(controller) {
      readController = controller;
    },
    async pull(controller) {
      let result;
      try {
        result = await reader.read();
      } catch (error) {
        if (!cut) controller.error(error);
        return;
      }
      if (cut) return;
      if (result.done) return controller.close();
      if (!(result.value instanceof MalformedFrame) && shouldCut(result.value)) return void drop();
      controller.enqueue(result.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  const writable = new WritableStream<Frame>({
    start(controller) {
      writeController = controller;
    },
    async write(frame) {
      if (cut) throw new Error("fault injection: the connection was cut");
      if (shouldCut(frame)) throw drop();
      await writer.write(frame);
    },
    close() {
      return writer.close();
    },
    abort(reason) {
      return writer.abort(reason);
    },
  });
  return { readable, writable };
}

/** Reads `reader` to its end, discarding what it yields. */
async function drain(reader: ReadableStreamDefaultReader<unknown>): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {
    // Errored: ended all the same.
  }
}

/** Resolves on the socket's `close` event (at once if it is already closed). */
function socketClosed(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) =>
    socket.addEventListener("close", () => resolve(), { once: true })
  );
}

type TransportKind = "memory" | "websocket" | "http";
type StoreKind = "MemoryStore" | "DenoKvStore";

const STORES: Record<StoreKind, () => Promise<RuntimeStore>> = {
  MemoryStore: () => Promise.resolve(new MemoryStore()),
  DenoKvStore: () => openDenoKvStore(":memory:"),
};

/** A runtime reachable over one kind of transport. */
interface Served {
  /** A fresh connection to the runtime. */
  open(): Transport;
  /** Closes the runtime and every connection, and waits for them to end. */
  close(): Promise<void>;
}

/** A runtime on `store` with `agents`; each `open()` is a new memory pair it accepts. */
function serveMemory(runtime: Runtime): Served {
  const ended: Promise<void>[] = [];
  return {
    open() {
      const [clientSide, runtimeSide] = memoryTransportPair();
      ended.push(runtime.accept(runtimeSide));
      return clientSide;
    },
    async close() {
      await runtime.close();
      await Promise.all(ended);
    },
  };
}

/** `runtime.fetch` served by `Deno.serve` on 127.0.0.1; each `open()` is a new WebSocket. */
function serveWebSocket(runtime: Runtime, serverSockets: Promise<void>[]): Served {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, runtime.fetch);
  const url = `ws://127.0.0.1:${server.addr.port}/arcp`;
  const clientSockets: WebSocket[] = [];
  return {
    open() {
      const socket = new WebSocket(url);
      clientSockets.push(socket);
      return webSocketTransport(socket);
    },
    async close() {
      await runtime.close();
      for (const socket of clientSockets) socket.close();
      await Promise.all(clientSockets.map(socketClosed));
      await Promise.all(serverSockets);
      await server.shutdown();
    },
  };
}

/** `runtime.fetch` served by `Deno.serve` on 127.0.0.1; each `open()` is a new HTTP binding stream. */
function serveHttpBinding(runtime: Runtime): Served {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, runtime.fetch);
  const url = `http://127.0.0.1:${server.addr.port}/arcp`;
  return {
    open: () => httpTransport(url),
    async close() {
      await runtime.close();
      await server.shutdown();
    },
  };
}

/** A runtime on `store` with `agents`, reachable over `transport`. */
function serve(transport: TransportKind, store: RuntimeStore, agents: AgentDefinition[]): Served {
  const serverSockets: Promise<void>[] = [];
  const runtime = new Runtime({
    authenticate: staticTokens({ [TOKEN]: "alice" }),
    agents,
    store,
    upgradeWebSocket(request) {
      const upgraded = Deno.upgradeWebSocket(request);
      serverSockets.push(socketClosed(upgraded.socket));
      return upgraded;
    },
  });
  if (transport === "http") return serveHttpBinding(runtime);
  return transport === "memory" ? serveMemory(runtime) : serveWebSocket(runtime, serverSockets);
}

/** Closes `client` gracefully, giving up after a while. */
async function closeClient(client: Client | undefined): Promise<void> {
  const giveUp = new AbortController();
  const timer = setTimeout(() => giveUp.abort(), 5_000);
  await client?.close({ signal: giveUp.signal }).catch(() => {});
  clearTimeout(timer);
}

/** The `i` attribute of a `ctx.log("info", …, { i })` event. */
function countOf(event: { payload: { body: unknown } }): number {
  return (event.payload.body as { attributes: { i: number } }).attributes.i;
}

type Handle = Awaited<ReturnType<Client["submit"]>>;

/** Reads one job's events, checking the counter goes 0, 1, 2, … without gap or repeat. */
async function consume(client: Client, job: Handle, plan: FaultPlan, index: number) {
  let expected = 0;
  let lastSeq = 0;
  for await (const event of job) {
    const i = countOf(event);
    const seq = event.event_seq ?? 0;
    if (i !== expected || seq <= lastSeq) {
      throw new Error(
        `job ${index} (${job.jobId}): expected count ${expected} after event_seq ${lastSeq}, ` +
          `got count ${i} at event_seq ${seq}; ${plan.drops} cuts so far, ` +
          `client lastEventSeq ${client.lastEventSeq}`,
      );
    }
    expected++;
    lastSeq = seq;
  }
  return expected;
}

function seedFor(transport: string, store: string): number {
  const fixed = Deno.env.get("ARCP_FAULT_SEED");
  if (fixed !== undefined) return Number(fixed) >>> 0;
  // A fixed seed per case (FNV-1a of its name), so runs are reproducible.
  let hash = 2166136261;
  for (const char of `${transport}/${store}`) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  return hash >>> 0;
}

/** One case of the matrix: 200 cuts while the jobs stream. */
function faultCase(
  transport: TransportKind,
  storeKind: StoreKind,
  mode: CutMode,
  from: CutsFrom,
  seed: number,
): () => Promise<void> {
  const jobs = JOBS[transport];
  return async () => {
    const plan = new FaultPlan(seed, Math.round((jobs * EVENTS_PER_JOB / DROPS) * 0.7));
    const runs = new Map<number, number>();
    // The agents start emitting once every job is accepted, so that the cuts
    // spread over all the events rather than bunch up on the first job's.
    const accepted = Promise.withResolvers<void>();
    const agent: AgentDefinition = {
      name: "counter",
      handler: async (input: { job: number; n: number }, ctx) => {
        runs.set(input.job, (runs.get(input.job) ?? 0) + 1);
        await accepted.promise;
        for (let i = 0; i < input.n; i++) await ctx.log("info", "count", { i });
        return { job: input.job, n: input.n };
      },
    };
    const store = await STORES[storeKind]();
    const served = serve(transport, store, [agent]);
    let client: Client | undefined;
    const context = () =>
      `seed ${seed} (rerun with ARCP_FAULT_SEED=${seed}), ${plan.drops} cuts after ` +
      `${plan.frames} counted frames`;
    try {
      client = await connect(() => faulty(served.open(), () => plan.cut(), mode), {
        token: TOKEN,
        reconnect: { initialDelayMs: 1, maxDelayMs: 20 },
      });
      // From here on, any frame may be cut: submits, acceptances, welcomes, events.
      if (from === "connect") plan.armed = true;
      const connected = client;
      const run = async () => {
        const handles = await Promise.all(
          Array.from({ length: jobs }, (_, job) => {
            return connected.submit("counter", { job, n: EVENTS_PER_JOB });
          }),
        );
        plan.armed = true;
        accepted.resolve();
        const counts = await Promise.all(
          handles.map((handle, index) => consume(connected, handle, plan, index)),
        );
        const results = await Promise.all(handles.map((handle) => handle.result));
        return { handles, counts, results };
      };
      let outcome;
      try {
        outcome = await within(run(), "every job to finish", CASE_TIMEOUT_MS);
      } catch (error) {
        throw new Error(`${(error as Error).message}; ${context()}`, { cause: error });
      }
      plan.armed = false;
      assert.deepEqual(outcome.counts, Array(jobs).fill(EVENTS_PER_JOB), context());
      assert.deepEqual(
        outcome.results.map((result) => result.result),
        Array.from({ length: jobs }, (_, job) => ({ job, n: EVENTS_PER_JOB })),
        context(),
      );
      assert.equal(new Set(outcome.handles.map((handle) => handle.jobId)).size, jobs);
      assert.deepEqual(
        [...runs.entries()].sort(([a], [b]) => a - b),
        Array.from({ length: jobs }, (_, job) => [job, 1]),
        `every agent runs once: ${context()}`,
      );
      assert.equal(plan.drops, DROPS, `all cuts happened before the jobs ended: ${context()}`);
    } finally {
      plan.armed = false;
      accepted.resolve();
      await closeClient(client);
      await served.close();
      await store.close?.();
    }
  };
}

/**
 * Where the cuts start: right after `connect()` (so submits and their
 * acceptances may be cut too), or once every job is accepted.
 */
type CutsFrom = "connect" | "accepted";

for (const transport of ["memory", "websocket", "http"] as const) {
  for (const store of ["MemoryStore", "DenoKvStore"] as const) {
    const seed = seedFor(transport, store);
    const cases: { mode: CutMode; from: CutsFrom }[] = [
      // Cuts once every job is accepted; WebSocket readables drained rather than cancelled.
      {
        mode: transport === "memory" ? "cancel" : "drain",
        from: "accepted",
      },
      // As specified: cancel the readable, cut from the first frame on.
      {
        mode: "cancel",
        from: "connect",
      },
    ];
    for (const { mode, from } of cases) {
      Deno.test({
        name: `fault injection [${transport} × ${store}, cut by abort + ${mode}, cuts from ` +
          `${from}, seed ${seed}]: ${DROPS} abrupt cuts while ${JOBS[transport]} job(s) emit ` +
          `${EVENTS_PER_JOB} events each lose, duplicate and reorder nothing`,
        fn: faultCase(transport, store, mode, from, seed),
      });
    }
  }
}

// Single faults, replayed deterministically ---------------------------------

/** Opens connections to `served` for a client, cutting each with `cutterFor(connection)`. */
function scripted(
  served: Served,
  cutterFor: (connection: number) => Cutter,
  before: (connection: number) => Promise<void> = () => Promise.resolve(),
): { open(): Promise<Transport>; readonly connections: number } {
  let connections = 0;
  return {
    async open() {
      const connection = ++connections;
      await before(connection);
      return faulty(served.open(), cutterFor(connection));
    },
    get connections() {
      return connections;
    },
  };
}

/**
 * An agent that logs `first` counts, waits for `gate`, logs `then` more and
 * returns; `paused` resolves when it reaches the gate, `done` when it returns.
 */
function gatedCounter(first: number, then: number) {
  const gate = Promise.withResolvers<void>();
  const paused = Promise.withResolvers<void>();
  const done = Promise.withResolvers<void>();
  let runs = 0;
  const agent: AgentDefinition = {
    name: "gated",
    handler: async (_input: unknown, ctx) => {
      runs++;
      let i = 0;
      for (; i < first; i++) await ctx.log("info", "count", { i });
      paused.resolve();
      await gate.promise;
      for (; i < first + then; i++) await ctx.log("info", "count", { i });
      done.resolve();
      return { n: i };
    },
  };
  return {
    agent,
    gate,
    paused: paused.promise,
    done: done.promise,
    get runs() {
      return runs;
    },
  };
}

/** Every count of a job's events, and its result or the error it ended with. */
async function outcomeOf(
  job: Handle,
): Promise<{ counts: number[]; result: unknown; error: unknown }> {
  const counts: number[] = [];
  const reader = job.events.getReader();
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      counts.push(countOf(value));
    }
  })();
  try {
    const { result } = await within(job.result, "the job's result", 5_000);
    await reading;
    return { counts, result, error: undefined };
  } catch (error) {
    await reader.cancel().catch(() => {});
    await reading.catch(() => {});
    return { counts, result: undefined, error };
  }
}

Deno.test({
  // Once lost the session: the runtime had rotated the token the lost welcome carried.
  name: "a client whose resume session.welcome is lost in a cut resumes with its previous " +
    "token and keeps its session and events",
  async fn() {
    const counter = gatedCounter(5, 0);
    counter.gate.resolve();
    const served = serve("memory", new MemoryStore(), [counter.agent]);
    // Connection 1 is cut at its first job.event, connection 2 at its welcome.
    const connections = scripted(
      served,
      (connection) => (frame) =>
        (connection === 1 && frame.type === "job.event") ||
        (connection === 2 && frame.type === "session.welcome"),
    );
    let client: Client | undefined;
    try {
      client = await connect(() => connections.open(), {
        token: TOKEN,
        reconnect: { initialDelayMs: 1, maxDelayMs: 20, maxAttempts: 10 },
      });
      const outcome = await outcomeOf(await client.submit("gated"));
      assert.equal(outcome.error, undefined, `after ${connections.connections} connections`);
      assert.deepEqual(outcome.result, { n: 5 });
      assert.deepEqual(outcome.counts, [0, 1, 2, 3, 4]);
      assert.ok(connections.connections >= 3);
    } finally {
      await closeClient(client);
      await served.close();
    }
  },
});

Deno.test({
  // Once lost every event: they were replayed before the resent submit's answer, and the
  // terminal among them retired the stream the handle should have got.
  name: "a job whose job.accepted is lost in a cut, and which ends before the resent submit " +
    "is answered, still hands its handle every event and its result",
  async fn() {
    const counter = gatedCounter(20, 0);
    counter.gate.resolve();
    const served = serve("memory", new MemoryStore(), [counter.agent]);
    // Connection 1 is cut at job.accepted; connection 2 opens once the job has ended.
    const connections = scripted(
      served,
      (connection) => (frame) => connection === 1 && frame.type === "job.accepted",
      (connection) => connection === 2 ? counter.done : Promise.resolve(),
    );
    let client: Client | undefined;
    try {
      client = await connect(() => connections.open(), {
        token: TOKEN,
        reconnect: { initialDelayMs: 1, maxDelayMs: 20 },
      });
      const outcome = await outcomeOf(await client.submit("gated"));
      assert.equal(outcome.error, undefined);
      assert.deepEqual(outcome.result, { n: 20 });
      assert.deepEqual(outcome.counts, Array.from({ length: 20 }, (_, i) => i));
      assert.equal(counter.runs, 1);
    } finally {
      await closeClient(client);
      await served.close();
    }
  },
});

Deno.test({
  name: "a running job whose job.accepted is lost in a cut keeps all its events, however many " +
    "are replayed before the resent submit is answered",
  async fn() {
    const counter = gatedCounter(10_500, 10);
    const served = serve("memory", new MemoryStore(), [counter.agent]);
    // Connection 1 is cut at job.accepted; connection 2 opens once 10,500 events wait.
    const connections = scripted(
      served,
      (connection) => (frame) => connection === 1 && frame.type === "job.accepted",
      (connection) => connection === 2 ? counter.paused : Promise.resolve(),
    );
    let client: Client | undefined;
    try {
      client = await connect(() => connections.open(), {
        token: TOKEN,
        reconnect: { initialDelayMs: 1, maxDelayMs: 20 },
      });
      const job = await client.submit("gated");
      counter.gate.resolve();
      const outcome = await outcomeOf(job);
      assert.equal(outcome.error, undefined);
      assert.deepEqual(outcome.result, { n: 10_510 });
      assert.equal(outcome.counts.length, 10_510, `first count seen: ${outcome.counts[0]}`);
      assert.deepEqual(outcome.counts, Array.from({ length: 10_510 }, (_, i) => i));
    } finally {
      counter.gate.resolve();
      await closeClient(client);
      await served.close();
    }
  },
});

/** A one-shot gate: `reached` once something waits on it, which goes on at `open()`. */
function gate() {
  const reached = Promise.withResolvers<void>();
  const opened = Promise.withResolvers<void>();
  let armed = false;
  return {
    reached: reached.promise,
    arm() {
      armed = true;
    },
    open: () => opened.resolve(),
    async pass(): Promise<void> {
      if (!armed) return;
      armed = false;
      reached.resolve();
      await opened.promise;
    },
  };
}

/** A memory store whose next `putJob` and next `read` wait at gates the test opens. */
class GatedStore extends MemoryStore {
  readonly putJobGate: ReturnType<typeof gate> = gate();
  readonly readGate: ReturnType<typeof gate> = gate();

  override async putJob(record: Parameters<MemoryStore["putJob"]>[0]): Promise<void> {
    await this.putJobGate.pass();
    await super.putJob(record);
  }

  override async *read(
    sessionId: string,
    options: Parameters<MemoryStore["read"]>[1],
  ): AsyncIterable<StoredEvent> {
    await this.readGate.pass();
    yield* super.read(sessionId, options);
  }
}

Deno.test({
  name: "a job accepted on a dropped connection while the session replays on its new one " +
    "still delivers its events and result",
  // On failure the runtime cannot be closed (that would spin), so it is left behind.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const store = new GatedStore();
    const counter = gatedCounter(3, 0);
    counter.gate.resolve();
    const served = serve("memory", store, [counter.agent]);
    let cutNext = false;
    const connections = scripted(served, () => () => {
      const cut = cutNext;
      cutNext = false;
      return cut;
    });
    const client = await connect(() => connections.open(), {
      token: TOKEN,
      reconnect: { initialDelayMs: 1, maxDelayMs: 20 },
    });
    // The runtime takes the submit on connection 1 and stores the job slowly.
    store.putJobGate.arm();
    const submitted = client.submit("gated");
    await within(store.putJobGate.reached, "the runtime to store the job", 5_000);
    // Connection 1 is cut; the client resumes on connection 2, whose replay waits.
    store.readGate.arm();
    cutNext = true;
    client.ack(client.lastEventSeq + 1); // any frame, to trigger the cut
    await within(store.readGate.reached, "the resumed session to replay", 5_000);
    // Connection 1's submit goes on: its job.accepted is queued during the replay.
    store.putJobGate.open();
    await new Promise((resolve) => setTimeout(resolve, 10));
    store.readGate.open();
    const outcome = await within(submitted, "the submit", 3_000).then(outcomeOf, (error) => ({
      counts: [],
      result: undefined,
      error,
    }));
    assert.equal(outcome.error, undefined, `the job never settled: ${outcome.error}`);
    assert.deepEqual(outcome.counts, [0, 1, 2]);
    await client.close();
    await served.close();
  },
});

Deno.test({
  name: "webSocketTransport() ignores a message that arrives after its readable was cancelled",
  async fn() {
    const listeners = new Map<string, ((event: Event) => void)[]>();
    const socket = {
      readyState: 1,
      bufferedAmount: 0,
      send() {},
      close() {
        // CLOSING: the peer's frames already in flight still arrive.
        socket.readyState = 2;
      },
      addEventListener(type: string, listener: (event: Event) => void) {
        listeners.set(type, [...(listeners.get(type) ?? []), listener]);
      },
    } satisfies WebSocketLike;
    const transport = webSocketTransport(socket);
    await transport.readable.cancel(new Error("cut"));
    const late = new MessageEvent("message", { data: JSON.stringify({ type: "job.event" }) });
    for (const listener of listeners.get("message") ?? []) {
      assert.doesNotThrow(() => listener(late));
    }
  },
});
