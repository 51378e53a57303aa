/**
 * Durability benchmark: what resuming and durable storage cost.
 *
 * Run with `deno task bench` (after `bench/event_path.ts`), or alone with
 * `deno run -A bench/durability.ts`; add `--quick` for a smoke run with
 * smaller counts. Everything runs in this one process, over the memory
 * transport. It prints:
 *
 * 1. **Resume replay.** A raw client opens a session and submits a job, then
 *    drops its connection; only then does the agent emit N events (awaiting
 *    `ctx.log` each), which the runtime logs in a `MemoryStore`. A second
 *    raw connection resumes the session with `last_event_seq: 0` and reads
 *    until the Nth event. Timed from the resume `session.hello` to the Nth
 *    event: milliseconds and events per second, for N = 10,000 and
 *    1,000,000 (1,000 and 10,000 with `--quick`). The runtime's buffer caps
 *    are raised above N. The replay streams from the store in batches and
 *    the raw client keeps no frame, so memory is the store's log plus a
 *    bounded pipeline; peak RSS (`Deno.memoryUsage()`, sampled) is reported.
 *    The raw client does not ask for `ack`, so the whole log stays retained.
 * 2. **Store throughput.** One job emitting 100,000 events (10,000 with
 *    `--quick`) to a client connected with `connect()`, which reads them all
 *    with `for await`; timed from `submit()` to the result. Once with a
 *    `MemoryStore`, once with a `DenoKvStore` on a temporary file (fresh per
 *    run), interleaved for 3 rounds (1 with `--quick`); medians and the
 *    ratio KV / memory.
 *
 * @module
 */

import { connect, memoryTransportPair, Runtime, staticTokens } from "../mod.ts";
import type { AgentDefinition, Frame, Transport } from "../mod.ts";
import { openDenoKvStore } from "../store/deno_kv.ts";
import { MemoryStore } from "../store/memory.ts";
import type { RuntimeStore } from "../store/types.ts";

const QUICK = Deno.args.includes("--quick");
/** Buffered events per replay run. */
const REPLAY_SIZES = QUICK ? [1_000, 10_000] : [10_000, 1_000_000];
/** Events of the throughput job. */
const THROUGHPUT_EVENTS = QUICK ? 10_000 : 100_000;
/** Interleaved throughput rounds. */
const ROUNDS = QUICK ? 1 : 3;
const TOKEN = "bench-token";
const MIB = 1024 * 1024;

// Memory --------------------------------------------------------------------

let peakRss = 0;

/** Samples RSS now; the peak is kept. */
function sampleRss(): number {
  const { rss } = Deno.memoryUsage();
  if (rss > peakRss) peakRss = rss;
  return rss;
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(0)} MiB`;
}

function rate(value: number, unit = " events"): string {
  return `${Math.round(value).toLocaleString("en-US")}${unit}/s`;
}

function count(value: number): string {
  return value.toLocaleString("en-US");
}

// 1. Resume replay ------------------------------------------------------------

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

interface ReplayResult {
  events: number;
  emitMs: number;
  replayMs: number;
  rssAfterEmit: number;
  rssAfterReplay: number;
}

/** One replay run over `n` buffered events. */
async function runReplay(n: number): Promise<ReplayResult> {
  const progressEvery = n >= 100_000 ? n / 10 : Number.POSITIVE_INFINITY;
  const start = Promise.withResolvers<void>();
  const emitted = Promise.withResolvers<void>();
  const agents: AgentDefinition[] = [{
    name: "emit",
    handler: async (input: { n: number }, ctx) => {
      await start.promise;
      for (let i = 0; i < input.n; i++) {
        await ctx.log("info", "event", { i });
        if ((i + 1) % progressEvery === 0) {
          console.log(`  emitted ${count(i + 1)} of ${count(n)}, RSS ${mib(sampleRss())}`);
        }
      }
      emitted.resolve();
      return { n: input.n };
    },
  }];
  const store = new MemoryStore();
  const runtime = new Runtime({
    authenticate: staticTokens({ [TOKEN]: "bench" }),
    agents,
    store,
    // A session without a connection holds its agents once three quarters
    // of the cap wait undelivered: room for all n events while detached.
    maxBufferedEvents: Math.ceil(n * 4 / 3) + 1_000,
    maxBufferedBytes: Number.MAX_SAFE_INTEGER,
  });
  const ended: Promise<void>[] = [];
  const open = () => {
    const [clientSide, runtimeSide] = memoryTransportPair();
    ended.push(runtime.accept(runtimeSide));
    return new Raw(clientSide);
  };
  try {
    // Open a session, submit, and leave without a word.
    const first = open();
    await first.send("session.hello", hello());
    const welcome = await first.expect("session.welcome");
    const sessionId = welcome.session_id as string;
    const token = (welcome.payload as { resume_token: string }).resume_token;
    await first.send("job.submit", { agent: "emit", input: { n } }, { session_id: sessionId });
    await first.expect("job.accepted");
    await first.close();
    await ended[0];

    // The agent emits while no connection is attached.
    const emitStart = performance.now();
    start.resolve();
    await emitted.promise;
    // The terminal job.result is event n + 1; wait until everything is stored.
    while ((await store.bounds(sessionId)).last < n + 1) await delay(5);
    const emitMs = performance.now() - emitStart;
    const rssAfterEmit = sampleRss();

    // Resume from the start and read until the nth event.
    const second = open();
    const replayStart = performance.now();
    await second.send(
      "session.hello",
      hello({ session_id: sessionId, resume_token: token, last_event_seq: 0 }),
    );
    await second.expect("session.welcome");
    let events = 0;
    for (;;) {
      const frame = await second.read();
      if (frame.type !== "job.event") continue;
      events++;
      if (events % progressEvery === 0) {
        console.log(`  replayed ${count(events)} of ${count(n)}, RSS ${mib(sampleRss())}`);
      }
      if (frame.event_seq === n) break;
    }
    const replayMs = performance.now() - replayStart;
    const rssAfterReplay = sampleRss();
    await second.expect("job.result");
    await second.close();
    return { events, emitMs, replayMs, rssAfterEmit, rssAfterReplay };
  } finally {
    start.resolve();
    await runtime.close();
    await Promise.all(ended);
  }
}

// 2. Store throughput ---------------------------------------------------------

const LOGS: AgentDefinition = {
  name: "logs",
  handler: async (input: { n: number }, ctx) => {
    for (let i = 0; i < input.n; i++) await ctx.log("info", `event ${i}`);
    return { n: input.n };
  },
};

/** Events per second of one `n`-event job read by a connected client, on `store`. */
async function runThroughput(store: RuntimeStore, n: number): Promise<number> {
  const runtime = new Runtime({
    authenticate: staticTokens({ [TOKEN]: "bench" }),
    agents: [LOGS],
    store,
  });
  const [clientSide, runtimeSide] = memoryTransportPair();
  const accepted = runtime.accept(runtimeSide);
  const client = await connect(clientSide, { token: TOKEN });
  try {
    const start = performance.now();
    const job = await client.submit("logs", { n });
    let received = 0;
    // Only the agent's logs: the runtime may add `status` events (back pressure).
    for await (const event of job) if (event.payload.kind === "log") received++;
    await job.result;
    const end = performance.now();
    if (received !== n) throw new Error(`Expected ${n} events, got ${received}`);
    return n / ((end - start) / 1000);
  } finally {
    await client.close();
    await runtime.close();
    await accepted;
  }
}

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

// Main ------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(`ARCP durability benchmark${QUICK ? " (--quick)" : ""}`);
  console.log(
    `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${navigator.hardwareConcurrency} CPUs, ` +
      `${Deno.build.target}; RSS at start ${mib(sampleRss())}`,
  );
  const rssTimer = setInterval(sampleRss, 25);
  const tempDir = await Deno.makeTempDir({ prefix: "arcp_durability_bench_" });
  try {
    // Warm-up, uncounted.
    await runReplay(1_000);
    await runThroughput(new MemoryStore(), 2_000);

    console.log();
    console.log("1. Resume replay (memory transport, MemoryStore, resume with last_event_seq 0)");
    const [small, large] = REPLAY_SIZES as [number, number];
    const replays: [number, ReplayResult][] = [[small, await runReplay(small)]];
    console.log(`  ${count(small)} events replayed in ${replays[0]![1].replayMs.toFixed(1)} ms`);

    console.log();
    console.log(
      `2. Store throughput: one job of ${count(THROUGHPUT_EVENTS)} events to a connected ` +
        `client, submit() to result, ${ROUNDS} round(s)`,
    );
    const memory: number[] = [];
    const kv: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      memory.push(await runThroughput(new MemoryStore(), THROUGHPUT_EVENTS));
      const store = await openDenoKvStore(`${tempDir}/round_${round}.kv`);
      try {
        kv.push(await runThroughput(store, THROUGHPUT_EVENTS));
      } finally {
        await store.close();
      }
      console.log(
        `  round ${round}: MemoryStore ${rate(memory.at(-1)!)}, DenoKvStore ${rate(kv.at(-1)!)}`,
      );
    }

    console.log();
    console.log(
      `1 (cont.). Resume replay of ${count(large)} events; RSS before ${mib(sampleRss())}; ` +
        "progress:",
    );
    replays.push([large, await runReplay(large)]);

    console.log();
    console.log("Summary");
    for (const [n, result] of replays) {
      console.log(
        `  replay ${count(n).padStart(9)} events: ${result.replayMs.toFixed(1)} ms, ` +
          `${rate(result.events / (result.replayMs / 1000))} ` +
          `(emitting them while detached took ${result.emitMs.toFixed(0)} ms; RSS ` +
          `${mib(result.rssAfterEmit)} after emitting, ${mib(result.rssAfterReplay)} after replay)`,
      );
    }
    const memoryMedian = median(memory);
    const kvMedian = median(kv);
    console.log(
      `  throughput MemoryStore: median ${rate(memoryMedian)}` +
        ` (min ${rate(Math.min(...memory))}, max ${rate(Math.max(...memory))})`,
    );
    console.log(
      `  throughput DenoKvStore (file): median ${rate(kvMedian)}` +
        ` (min ${rate(Math.min(...kv))}, max ${rate(Math.max(...kv))})`,
    );
    console.log(`  ratio DenoKvStore / MemoryStore: ${(kvMedian / memoryMedian).toFixed(2)}x`);
    console.log(`  peak RSS (sampled every 25 ms and at progress points): ${mib(peakRss)}`);
  } finally {
    clearInterval(rssTimer);
    await Deno.remove(tempDir, { recursive: true });
  }
}

if (import.meta.main) await main();
