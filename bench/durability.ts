/**
 * Durability benchmark: what resuming and durable storage cost.
 *
 * Run with `deno task bench` (after `bench/event_path.ts`), or alone with
 * `deno run -A bench/durability.ts`; add `--quick` for a smoke run with
 * smaller counts. Everything runs over the memory transport; the stores are
 * a `MemoryStore`, a `DenoKvStore` on a temporary file (fresh per run) and a
 * `PostgresStore` on a throwaway server this bench starts with `initdb` (as
 * tests/_postgres.ts does: 127.0.0.1, `fsync=off`; a fresh schema per run).
 * Where PostgreSQL cannot be started its rows are skipped, and it says so.
 * It prints:
 *
 * 1. **Resume replay.** A raw client opens a session and submits a job, then
 *    drops its connection; only then does the agent emit N events (awaiting
 *    `ctx.log` each). A raw connection then resumes the session with
 *    `last_event_seq: 0` and reads until the Nth event, timed from the
 *    resume `session.hello`: milliseconds and events per second, for
 *    N = 10,000 and 1,000,000 (1,000 and 10,000 with `--quick`), from each
 *    store. Each run is a process of its own (bench/_replay.ts), so its peak
 *    RSS (the kernel's `VmHWM`) is its own. With the `MemoryStore` the log
 *    lives in that process, which emits and replays. With a durable store
 *    one process emits and closes its runtime, and a fresh one resumes, as
 *    after a restart: its peak RSS is the replay's, which streams from the
 *    store in batches, so that peak stays far below the size of the log it
 *    reads (hundreds of MiB for 1,000,000 events). The runtime's buffer caps
 *    and resume window are raised above N; the raw client does not ask for
 *    `ack`, so the whole log stays.
 * 2. **Store throughput.** One job emitting 100,000 events (10,000 with
 *    `--quick`) to a client connected with `connect()`, which reads them all
 *    with `for await`; timed from `submit()` to the result, in this process.
 *    Once per store, interleaved for 3 rounds (1 with `--quick`); medians
 *    and the ratios Deno KV / memory and PostgreSQL / memory.
 *
 * A summary table of both ends the output.
 *
 * @module
 */

import { connect, memoryTransportPair, Runtime, staticTokens } from "../mod.ts";
import type { AgentDefinition } from "../mod.ts";
import { MemoryStore } from "../store/memory.ts";
import type { RuntimeStore } from "../store/types.ts";
import { startPostgres } from "../tests/_postgres.ts";
import { procMiB } from "./_process.ts";
import { openStore, type ReplayArgs, type ReplayOutput, type StoreSpec } from "./_replay.ts";

const QUICK = Deno.args.includes("--quick");
/** Buffered events per replay run. */
const REPLAY_SIZES = QUICK ? [1_000, 10_000] : [10_000, 1_000_000];
/** Events of the throughput job. */
const THROUGHPUT_EVENTS = QUICK ? 10_000 : 100_000;
/** Interleaved throughput rounds. */
const ROUNDS = QUICK ? 1 : 3;
const TOKEN = "bench-token";
const MIB = 1024 * 1024;
const REPLAY_SCRIPT = new URL("./_replay.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

const STORE_NAMES = {
  memory: "MemoryStore",
  kv: "DenoKvStore (file)",
  postgres: "PostgresStore",
} as const;

function mib(value: number): string {
  return `${value.toFixed(0)} MiB`;
}

function rate(value: number, unit = " events"): string {
  return `${Math.round(value).toLocaleString("en-US")}${unit}/s`;
}

function count(value: number): string {
  return value.toLocaleString("en-US");
}

/** This process's peak RSS in MiB (the kernel's, else now). */
async function ownPeakMiB(): Promise<number> {
  return (await procMiB(Deno.pid, "VmHWM")) ?? Deno.memoryUsage().rss / MIB;
}

/** Left-aligned first column, right-aligned others. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) =>
    "  " + row.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))
      .join("  ")
  );
}

// 1. Resume replay ------------------------------------------------------------

/** Runs one phase in a process of its own (bench/_replay.ts); its progress goes to our stderr. */
async function inProcess(args: ReplayArgs): Promise<ReplayOutput> {
  const { success, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, REPLAY_SCRIPT, JSON.stringify(args)],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  if (!success) {
    throw new Error(`The ${args.phase} run on ${args.store.kind} failed:\n${lines.join("\n")}`);
  }
  return JSON.parse(lines.at(-1)!) as ReplayOutput;
}

interface ReplayRow {
  store: StoreSpec["kind"];
  n: number;
  events: number;
  emitMs: number;
  replayMs: number;
  /** Peak RSS of the process that emitted (MiB). */
  emitPeak: number;
  /** Peak RSS of the process that replayed (MiB); the same process as emitting for memory. */
  replayPeak: number;
}

/** One replay run of `n` events on `store`: one process for memory, emit then replay for the others. */
async function runReplay(store: StoreSpec, n: number): Promise<ReplayRow> {
  if (store.kind === "memory") {
    const both = await inProcess({ store, n, phase: "both" });
    return {
      store: store.kind,
      n,
      events: both.events!,
      emitMs: both.emitMs!,
      replayMs: both.replayMs!,
      emitPeak: both.emitPeakMiB!,
      replayPeak: both.peakMiB,
    };
  }
  const emitted = await inProcess({ store, n, phase: "emit" });
  const replayed = await inProcess({ store, n, phase: "replay", session: emitted.session! });
  return {
    store: store.kind,
    n,
    events: replayed.events!,
    emitMs: emitted.emitMs!,
    replayMs: replayed.replayMs!,
    emitPeak: emitted.peakMiB,
    replayPeak: replayed.peakMiB,
  };
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

/** Opens a fresh store of `spec`'s kind, runs one throughput job on it and closes it. */
async function throughputOn(spec: StoreSpec): Promise<number> {
  const store = await openStore(spec);
  try {
    return await runThroughput(store, THROUGHPUT_EVENTS);
  } finally {
    await store.close?.();
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
      `${Deno.build.target}`,
  );
  const tempDir = await Deno.makeTempDir({ prefix: "arcp_durability_bench_" });
  const postgres = await startPostgres();
  if (typeof postgres === "string") {
    console.log(`PostgreSQL rows skipped: ${postgres}`);
  } else {
    console.log("PostgreSQL: a throwaway server on 127.0.0.1 (fsync=off)");
  }
  // An interrupted run leaves no server running and no files behind.
  const interrupted = () => {
    if (typeof postgres !== "string") postgres.stop();
    Deno.removeSync(tempDir, { recursive: true });
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupted);
  let runs = 0;
  /** A fresh store of each kind this run has. */
  const stores = (): StoreSpec[] => {
    runs++;
    const specs: StoreSpec[] = [{ kind: "memory" }, { kind: "kv", path: `${tempDir}/${runs}.kv` }];
    if (typeof postgres !== "string") {
      specs.push({ kind: "postgres", url: postgres.url, schema: `bench_${runs}` });
    }
    return specs;
  };
  try {
    // Warm-up, uncounted (each replay process warms itself up).
    await runThroughput(new MemoryStore(), 2_000);

    const replays: ReplayRow[] = [];
    const replayAll = async (n: number) => {
      for (const store of stores()) {
        console.log(`  ${STORE_NAMES[store.kind]}: ${count(n)} events`);
        replays.push(await runReplay(store, n));
        const row = replays.at(-1)!;
        console.log(
          `    replayed in ${row.replayMs.toFixed(1)} ms, peak RSS ${mib(row.replayPeak)}`,
        );
      }
    };
    const [small, large] = REPLAY_SIZES as [number, number];
    console.log();
    console.log("1. Resume replay (memory transport, resume with last_event_seq 0)");
    await replayAll(small);

    console.log();
    console.log(
      `2. Store throughput: one job of ${count(THROUGHPUT_EVENTS)} events to a connected ` +
        `client, submit() to result, ${ROUNDS} round(s)`,
    );
    const throughput = new Map<StoreSpec["kind"], number[]>();
    for (let round = 1; round <= ROUNDS; round++) {
      const line: string[] = [];
      for (const spec of stores()) {
        const value = await throughputOn(spec);
        throughput.set(spec.kind, [...throughput.get(spec.kind) ?? [], value]);
        line.push(`${STORE_NAMES[spec.kind]} ${rate(value)}`);
      }
      console.log(`  round ${round}: ${line.join(", ")}`);
    }

    console.log();
    console.log(`1 (cont.). Resume replay of ${count(large)} events; progress:`);
    await replayAll(large);

    console.log();
    console.log("Summary");
    console.log(
      "  Resume replay: one process per run; a durable store's replay is a fresh runtime's",
    );
    console.log(
      table([
        [
          "store",
          "events",
          "emit ms",
          "replay ms",
          "replay events/s",
          "peak RSS emit",
          "peak RSS replay",
        ],
        ...replays.map((row) => [
          STORE_NAMES[row.store],
          count(row.n),
          row.emitMs.toFixed(0),
          row.replayMs.toFixed(1),
          count(Math.round(row.events / (row.replayMs / 1000))),
          mib(row.emitPeak),
          row.store === "memory" ? `${mib(row.replayPeak)} (same)` : mib(row.replayPeak),
        ]),
      ]).join("\n"),
    );
    const memory = median(throughput.get("memory")!);
    console.log(`  Store throughput: ${count(THROUGHPUT_EVENTS)} events, ${ROUNDS} round(s)`);
    console.log(
      table([
        ["store", "median events/s", "min", "max", "/ memory"],
        ...[...throughput].map(([kind, values]) => [
          STORE_NAMES[kind],
          count(Math.round(median(values))),
          count(Math.round(Math.min(...values))),
          count(Math.round(Math.max(...values))),
          `${(median(values) / memory).toFixed(2)}x`,
        ]),
      ]).join("\n"),
    );
    console.log(`  peak RSS of this process (throughput runs): ${mib(await ownPeakMiB())}`);
  } finally {
    Deno.removeSignalListener("SIGINT", interrupted);
    if (typeof postgres !== "string") postgres.stop();
    await Deno.remove(tempDir, { recursive: true });
  }
}

if (import.meta.main) await main();
