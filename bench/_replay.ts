// One resume replay run of bench/durability.ts, in a process of its own so
// that its peak RSS is its own: `deno run -A bench/_replay.ts '<json>'` with
// a ReplayArgs, printing one ReplayOutput as JSON on its last stdout line
// (progress goes to stderr).
//
// Phases: "both" emits and replays in one runtime (the MemoryStore's log
// lives in that process); "emit" emits and closes the runtime, leaving the
// session detached in a durable store; "replay" starts a fresh runtime on
// that store and resumes the session, as after a restart, so that its
// memory is the replay's and not the log's.

import { memoryTransportPair, Runtime, staticTokens } from "../mod.ts";
import type { AgentDefinition, Frame, Transport } from "../mod.ts";
import { openDenoKvStore } from "../store/deno_kv.ts";
import { MemoryStore } from "../store/memory.ts";
import { openPostgresStore } from "../store/postgres.ts";
import type { RuntimeStore } from "../store/types.ts";
import { procMiB } from "./_process.ts";

/** Where a run keeps its events. */
export type StoreSpec =
  | { kind: "memory" }
  | { kind: "kv"; path: string }
  | { kind: "postgres"; url: string; schema: string };

/** What bench/durability.ts asks of one process. */
export interface ReplayArgs {
  store: StoreSpec;
  /** Events the job emits and the resume reads back. */
  n: number;
  phase: "both" | "emit" | "replay";
  /** For "replay": the session "emit" left detached. */
  session?: DetachedSession;
}

/** A session left detached, with what resuming it takes. */
export interface DetachedSession {
  sessionId: string;
  token: string;
}

/** What one process measured; a phase it did not run is absent. */
export interface ReplayOutput {
  session?: DetachedSession;
  emitMs?: number;
  replayMs?: number;
  /** `job.event` frames read by the resuming connection. */
  events?: number;
  /** This process's peak RSS in MiB once emitting was done. */
  emitPeakMiB?: number;
  /** This process's peak RSS in MiB at its end. */
  peakMiB: number;
}

const TOKEN = "bench-token";
const MIB = 1024 * 1024;
/** Events before the measured run, in memory, for the JIT; uncounted. */
const WARM_UP = 1_000;

/** The highest RSS sampled, in MiB: the peak where /proc has no VmHWM. */
let sampledPeak = 0;

function sampleRss(): void {
  sampledPeak = Math.max(sampledPeak, Deno.memoryUsage().rss / MIB);
}

/** The peak RSS so far in MiB: the kernel's (VmHWM) where /proc has it, else the sampled one. */
async function peakMiB(): Promise<number> {
  sampleRss();
  return Math.max(sampledPeak, (await procMiB(Deno.pid, "VmHWM")) ?? 0);
}

/** Progress: the peak RSS so far and the JS heap in use now. */
async function memory(): Promise<string> {
  const heap = Deno.memoryUsage().heapUsed / MIB;
  return `peak RSS ${(await peakMiB()).toFixed(0)} MiB, heap ${heap.toFixed(0)} MiB`;
}

function count(value: number): string {
  return value.toLocaleString("en-US");
}

/** A raw connection: frames in, frames out, nothing validated or kept. */
class Raw {
  readonly #writer: WritableStreamDefaultWriter<Frame>;
  readonly #reader: ReadableStreamDefaultReader<unknown>;
  #ids = 0;

  constructor(transport: Transport) {
    this.#writer = transport.writable.getWriter();
    this.#reader = transport.readable.getReader();
  }

  send(type: string, payload: unknown, fields: Record<string, unknown> = {}): Promise<void> {
    return this.#writer.write({
      arcp: "1.1",
      id: `bench_${++this.#ids}`,
      type,
      ...fields,
      payload,
    });
  }

  async read(): Promise<Frame> {
    const { value, done } = await this.#reader.read();
    if (done) throw new Error("The runtime closed the connection");
    return value as Frame;
  }

  /** Reads until a frame of `type`, failing on `session.error`. */
  async expect(type: string): Promise<Frame> {
    for (;;) {
      const frame = await this.read();
      if (frame.type === type) return frame;
      if (frame.type === "session.error") {
        throw new Error(`session.error: ${JSON.stringify(frame.payload)}`);
      }
    }
  }

  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await this.#reader.cancel().catch(() => {});
  }
}

function hello(resume?: Record<string, unknown>): Record<string, unknown> {
  return {
    client: { name: "durability-bench", version: "0.0.0" },
    auth: { scheme: "bearer", token: TOKEN },
    // No "ack": the runtime neither waits for acknowledgements nor frees the log.
    capabilities: { encodings: ["json"], features: [] },
    ...(resume === undefined ? {} : { resume }),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A runtime on `store` serving raw connections, with room for `n` events held while detached. */
class Bench {
  readonly runtime: Runtime;
  readonly #ended: Promise<void>[] = [];

  constructor(store: RuntimeStore, n: number, agents: AgentDefinition[] = []) {
    this.runtime = new Runtime({
      authenticate: staticTokens({ [TOKEN]: "bench" }),
      agents,
      store,
      // A session without a connection holds its agents once three quarters
      // of the cap wait undelivered: room for all n events while detached.
      maxBufferedEvents: Math.ceil(n * 4 / 3) + 1_000,
      maxBufferedBytes: Number.MAX_SAFE_INTEGER,
      // A 1M-event emit on a slow store must not outlast the window.
      resumeWindowSec: 24 * 3600,
    });
  }

  open(): Raw {
    const [clientSide, runtimeSide] = memoryTransportPair();
    this.#ended.push(this.runtime.accept(runtimeSide));
    return new Raw(clientSide);
  }

  async close(): Promise<void> {
    await this.runtime.close();
    await Promise.all(this.#ended);
  }
}

/**
 * Opens a session, submits a job and leaves; only then does the agent emit
 * `n` events (awaiting `ctx.log` each). Resolves once all are stored.
 */
async function emit(store: RuntimeStore, n: number) {
  const progressEvery = n >= 100_000 ? n / 10 : Number.POSITIVE_INFINITY;
  const start = Promise.withResolvers<void>();
  const agents: AgentDefinition[] = [{
    name: "emit",
    handler: async (input: { n: number }, ctx) => {
      await start.promise;
      for (let i = 0; i < input.n; i++) {
        await ctx.log("info", "event", { i });
        if ((i + 1) % progressEvery === 0) {
          console.error(`  emitted ${count(i + 1)} of ${count(n)}, ${await memory()}`);
        }
      }
      return { n: input.n };
    },
  }];
  const runtime = new Bench(store, n, agents);
  try {
    const first = runtime.open();
    await first.send("session.hello", hello());
    const welcome = await first.expect("session.welcome");
    const sessionId = welcome.session_id as string;
    const token = (welcome.payload as { resume_token: string }).resume_token;
    await first.send("job.submit", { agent: "emit", input: { n } }, { session_id: sessionId });
    await first.expect("job.accepted");
    await first.close();

    const emitStart = performance.now();
    start.resolve();
    // The terminal job.result is event n + 1; wait until everything is stored.
    while ((await store.bounds(sessionId)).last < n + 1) await delay(5);
    return { runtime, session: { sessionId, token }, emitMs: performance.now() - emitStart };
  } catch (error) {
    start.resolve();
    await runtime.close();
    throw error;
  }
}

/** Resumes `session` with `last_event_seq: 0` and reads until its `n`th event; timed from the hello. */
async function replay(runtime: Bench, session: DetachedSession, n: number) {
  const progressEvery = n >= 100_000 ? n / 10 : Number.POSITIVE_INFINITY;
  const raw = runtime.open();
  const replayStart = performance.now();
  await raw.send(
    "session.hello",
    hello({ session_id: session.sessionId, resume_token: session.token, last_event_seq: 0 }),
  );
  await raw.expect("session.welcome");
  let events = 0;
  for (;;) {
    const frame = await raw.read();
    if (frame.type !== "job.event") continue;
    events++;
    if (events % progressEvery === 0) {
      console.error(`  replayed ${count(events)} of ${count(n)}, ${await memory()}`);
    }
    if (frame.event_seq === n) break;
  }
  const replayMs = performance.now() - replayStart;
  await raw.expect("job.result");
  await raw.close();
  return { events, replayMs };
}

/** Opens a store of `spec`. */
export function openStore(spec: StoreSpec): Promise<RuntimeStore> | RuntimeStore {
  switch (spec.kind) {
    case "memory":
      return new MemoryStore();
    case "kv":
      return openDenoKvStore(spec.path);
    case "postgres":
      return openPostgresStore({ url: spec.url, schema: spec.schema });
  }
}

/** Runs what `args` asks in this process. */
export async function runPhase(args: ReplayArgs): Promise<ReplayOutput> {
  const store = await openStore(args.store);
  try {
    if (args.phase === "replay") {
      const runtime = new Bench(store, args.n);
      try {
        return { ...await replay(runtime, args.session!, args.n), peakMiB: await peakMiB() };
      } finally {
        await runtime.close();
      }
    }
    const { runtime, session, emitMs } = await emit(store, args.n);
    try {
      const emitPeakMiB = await peakMiB();
      if (args.phase === "emit") return { session, emitMs, emitPeakMiB, peakMiB: emitPeakMiB };
      const replayed = await replay(runtime, session, args.n);
      return { session, emitMs, emitPeakMiB, ...replayed, peakMiB: await peakMiB() };
    } finally {
      await runtime.close();
    }
  } finally {
    await store.close?.();
  }
}

if (import.meta.main) {
  const sampler = setInterval(sampleRss, 25);
  try {
    // Warm-up, uncounted: the runtime's and the transport's code paths.
    await runPhase({ store: { kind: "memory" }, n: WARM_UP, phase: "both" });
    console.log(JSON.stringify(await runPhase(JSON.parse(Deno.args[0]!) as ReplayArgs)));
  } finally {
    clearInterval(sampler);
  }
}
