/**
 * Event-path benchmark: how fast job events get from an agent to a client.
 *
 * Run with `deno task bench` (`deno run -A bench/event_path.ts`), or add
 * `--quick` for a smoke run with smaller counts. Everything runs in this one
 * process, and all traffic stays on 127.0.0.1. It prints:
 *
 * 1. **Bare WebSocket baseline.** A `Deno.serve` server sends N text frames to
 *    a `new WebSocket(...)` client. Each frame is a real `job.event` envelope
 *    captured from the SDK, with the `log` payload of `ctx.log("info", "event
 *    12345")`. The server pauses while `bufferedAmount` is above 1 MiB until it
 *    drops below 512 KiB, as the SDK's WebSocket transport does. The client
 *    runs `JSON.parse` on every frame, because the SDK client must parse too.
 *    Timed from the client's "go" to the Nth frame.
 * 2. **SDK over WebSocket.** A `Runtime` served by `Deno.serve`, a client from
 *    `connect("ws://…/arcp")`, and one job whose agent awaits `ctx.log` N
 *    times. The client reads every event with `for await` and then awaits the
 *    result. Timed from `submit()` to the result.
 * 3. **SDK over the memory transport.** The same job over `memoryTransportPair()`.
 * 4. **SDK over the HTTP binding.** The same job, the same `runtime.fetch`,
 *    a client from `connect("http://…/arcp", { transport: "http" })`: events
 *    down an event stream, acknowledgements up in POSTs.
 * 5. **Latency.** Sequential `echo` jobs, timed from `submit()` to the result:
 *    p50 and p99 over WebSocket, over the HTTP binding and over memory.
 *
 * The throughput runs are interleaved for 5 rounds, or 3 with `--quick`
 * (baseline, SDK over WebSocket, SDK over memory, SDK over HTTP, then again), so machine
 * noise hits every variant alike. Each SDK run gets a fresh runtime. Medians
 * are reported, with each SDK median as a ratio of the baseline median. A
 * small warm-up round runs first and is not counted. `--quick` runs 10,000
 * events and 200 jobs instead of 100,000 and 1,000. Its ratios flatter the
 * baseline, because a short burst rides on the socket buffers.
 *
 * @module
 */

import { connect, memoryTransportPair, Runtime, staticTokens } from "../mod.ts";
import type { AgentDefinition, Client, Frame, Transport } from "../mod.ts";

const QUICK = Deno.args.includes("--quick");
/** Events per throughput job (and frames per baseline run). */
const EVENTS = QUICK ? 10_000 : 100_000;
/** Sequential jobs per latency run. */
const JOBS = QUICK ? 200 : 1_000;
/** Counted throughput rounds. */
const ROUNDS = QUICK ? 3 : 5;
/** Events and jobs in the uncounted warm-up round. */
const WARMUP_EVENTS = 5_000;
const WARMUP_JOBS = 50;
/** The SDK gate: SDK throughput over baseline throughput. */
const TARGET_RATIO = 0.5;

const HOST = "127.0.0.1";
const TOKEN = "bench-token";
/** The baseline's backpressure, the same as the SDK WebSocket transport's default. */
const HIGH_WATER_BYTES = 1 << 20;
const LOW_WATER_BYTES = HIGH_WATER_BYTES / 2;

const AGENTS: AgentDefinition[] = [
  {
    name: "logs",
    handler: async (input: { n: number }, ctx) => {
      for (let i = 0; i < input.n; i++) await ctx.log("info", `event ${i}`);
      return { n: input.n };
    },
  },
  { name: "echo", handler: (input: unknown) => Promise.resolve(input) },
];

function newRuntime(): Runtime {
  return new Runtime({
    authenticate: staticTokens({ [TOKEN]: "bench" }),
    agents: AGENTS,
    upgradeWebSocket: Deno.upgradeWebSocket,
  });
}

function listen(handler: Deno.ServeHandler): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: HOST, port: 0, onListen() {} }, handler);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A real frame ---------------------------------------------------------------

/**
 * Runs one `ctx.log("info", "event 12345")` through the SDK over a memory
 * transport and returns the `job.event` frame the runtime wrote, as JSON.
 */
async function captureEventFrame(): Promise<string> {
  await using runtime = new Runtime({
    authenticate: staticTokens({ [TOKEN]: "bench" }),
    agents: [{
      name: "one",
      handler: async (_input: unknown, ctx) => {
        await ctx.log("info", "event 12345");
        return null;
      },
    }],
  });
  const [clientSide, runtimeSide] = memoryTransportPair();
  let captured: string | undefined;
  const tap = new TransformStream<Frame, Frame>({
    transform(frame, controller) {
      if (frame.type === "job.event") captured ??= JSON.stringify(frame);
      controller.enqueue(frame);
    },
  });
  void tap.readable.pipeTo(runtimeSide.writable).catch(() => {});
  runtime.accept({ readable: runtimeSide.readable, writable: tap.writable });
  await using client = await connect(clientSide, { token: TOKEN });
  const job = await client.submit("one");
  for await (const _ of job);
  await job.result;
  if (captured === undefined) throw new Error("No job.event frame was captured");
  return captured;
}

// 1. Bare WebSocket baseline -------------------------------------------------

/** Sends `count` copies of `text` on `socket`, pausing while its buffer is full. */
async function sendFrames(socket: WebSocket, text: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(text);
    if (socket.bufferedAmount > HIGH_WATER_BYTES) {
      while (socket.bufferedAmount > LOW_WATER_BYTES && socket.readyState === WebSocket.OPEN) {
        await delay(1);
      }
    }
  }
}

/** A server that answers a client's "go <n>" with n frames of `text`. */
function baselineServer(text: string): Deno.HttpServer<Deno.NetAddr> {
  return listen((request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.addEventListener("message", (event) => {
      const count = Number(String(event.data).slice("go ".length));
      void sendFrames(socket, text, count);
    });
    return response;
  });
}

/** One baseline run: frames per second as received and parsed by the client. */
async function runBaseline(port: number, count: number): Promise<number> {
  const socket = new WebSocket(`ws://${HOST}:${port}/`);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  const done = Promise.withResolvers<number>();
  let received = 0;
  let checksum = 0;
  socket.addEventListener("message", (event) => {
    const frame = JSON.parse(event.data as string) as { event_seq: number };
    checksum += frame.event_seq;
    if (++received === count) done.resolve(performance.now());
  });
  const start = performance.now();
  socket.send(`go ${count}`);
  const end = await done.promise;
  if (checksum === 0) throw new Error("Baseline frames carried no event_seq");
  const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
  socket.close();
  await closed;
  return count / ((end - start) / 1000);
}

// 2, 3. SDK throughput -------------------------------------------------------

/** Submits one `logs` job of `count` events, consumes them all, and returns events/s. */
async function eventsPerSecond(client: Client, count: number): Promise<number> {
  const start = performance.now();
  const job = await client.submit("logs", { n: count });
  let received = 0;
  // Only the agent's own events count: the runtime may add a back_pressure status.
  for await (const event of job) if (event.payload.kind === "log") received++;
  await job.result;
  const end = performance.now();
  if (received !== count) throw new Error(`Expected ${count} log events, got ${received}`);
  return count / ((end - start) / 1000);
}

/** A fresh runtime served over WebSocket, with a connected client. */
async function overWebSocket(): Promise<Harness> {
  const runtime = newRuntime();
  const server = listen(runtime.fetch);
  const client = await connect(`ws://${HOST}:${server.addr.port}/arcp`, { token: TOKEN });
  return {
    client,
    async close() {
      await client.close();
      await runtime.close();
      await server.shutdown();
    },
  };
}

/** A fresh runtime served over its HTTP binding, with a connected client. */
async function overHttp(): Promise<Harness> {
  const runtime = newRuntime();
  const server = listen(runtime.fetch);
  const client = await connect(`http://${HOST}:${server.addr.port}/arcp`, {
    token: TOKEN,
    transport: "http",
  });
  return {
    client,
    async close() {
      await client.close();
      await runtime.close();
      await server.shutdown();
    },
  };
}

/** A fresh runtime with a client over a memory transport pair. */
async function overMemory(): Promise<Harness> {
  const runtime = newRuntime();
  const [clientSide, runtimeSide]: [Transport, Transport] = memoryTransportPair();
  const accepted = runtime.accept(runtimeSide);
  const client = await connect(clientSide, { token: TOKEN });
  return {
    client,
    async close() {
      await client.close();
      await runtime.close();
      await accepted;
    },
  };
}

interface Harness {
  client: Client;
  close(): Promise<void>;
}

/**
 * One SDK throughput run on a fresh runtime, so that no run pays for the
 * event logs that earlier runs left in the memory store.
 */
async function runSdk(open: () => Promise<Harness>, count: number): Promise<number> {
  const harness = await open();
  try {
    return await eventsPerSecond(harness.client, count);
  } finally {
    await harness.close();
  }
}

// 4. Latency -----------------------------------------------------------------

/** Milliseconds from submit() to result of `count` sequential echo jobs. */
async function runLatency(open: () => Promise<Harness>, count: number): Promise<number[]> {
  const harness = await open();
  try {
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      const job = await harness.client.submit("echo", { i });
      const { result } = await job.result;
      samples.push(performance.now() - start);
      if ((result as { i: number }).i !== i) throw new Error(`echo ${i} returned ${result}`);
    }
    return samples;
  } finally {
    await harness.close();
  }
}

// Reporting ------------------------------------------------------------------

function median(values: number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const sorted = values.toSorted((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

function rate(value: number, unit = ""): string {
  return `${Math.round(value).toLocaleString("en-US")}${unit}/s`;
}

function ms(value: number): string {
  return `${value.toFixed(3)} ms`;
}

function ratio(value: number): string {
  return `${value.toFixed(2)}x`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const pad = (cell: string, column: number) =>
    column === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[column]!);
  const line = (row: string[]) => row.map(pad).join("  ").trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join("\n");
}

// Main -----------------------------------------------------------------------

async function main(): Promise<void> {
  const frame = await captureEventFrame();
  const frameBytes = new TextEncoder().encode(frame).length;
  console.log(`ARCP event-path benchmark${QUICK ? " (--quick)" : ""}`);
  console.log(
    `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${navigator.hardwareConcurrency} CPUs, ` +
      `${Deno.build.target}`,
  );
  console.log(
    `${EVENTS.toLocaleString("en-US")} events per run, ${ROUNDS} rounds; ` +
      `${JOBS.toLocaleString("en-US")} sequential jobs per latency run`,
  );
  console.log(`Sample job.event frame (${frameBytes} bytes): ${frame}`);
  if (QUICK) {
    console.log(
      "Note: short runs favour the baseline (a burst of small frames rides on socket buffers); " +
        "judge ratios on a full run.",
    );
  }
  console.log();

  const baseline = baselineServer(frame);
  const port = baseline.addr.port;
  try {
    // Warm-up: every path once, uncounted.
    await runBaseline(port, WARMUP_EVENTS);
    await runSdk(overWebSocket, WARMUP_EVENTS);
    await runSdk(overMemory, WARMUP_EVENTS);
    await runSdk(overHttp, WARMUP_EVENTS);
    await runLatency(overWebSocket, WARMUP_JOBS);
    await runLatency(overMemory, WARMUP_JOBS);
    await runLatency(overHttp, WARMUP_JOBS);

    const bare: number[] = [];
    const ws: number[] = [];
    const mem: number[] = [];
    const http: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      bare.push(await runBaseline(port, EVENTS));
      ws.push(await runSdk(overWebSocket, EVENTS));
      mem.push(await runSdk(overMemory, EVENTS));
      http.push(await runSdk(overHttp, EVENTS));
      console.log(
        `round ${round}: bare WebSocket ${rate(bare.at(-1)!)}, ` +
          `SDK/WebSocket ${rate(ws.at(-1)!)}, SDK/memory ${rate(mem.at(-1)!)}, ` +
          `SDK/HTTP ${rate(http.at(-1)!)}`,
      );
    }
    const bareMedian = median(bare);
    const wsMedian = median(ws);
    const memMedian = median(mem);
    const httpMedian = median(http);
    console.log();
    console.log(
      `1. Bare WebSocket baseline (server sends pre-serialised ${frameBytes}-byte frames with ` +
        `1 MiB/512 KiB backpressure; client JSON.parses each): median ${
          rate(bareMedian, " frames")
        }`,
    );
    console.log(
      `2. SDK over WebSocket (agent awaits ctx.log; client for-awaits every event; submit to ` +
        `result): median ${rate(wsMedian, " events")}, ${
          ratio(wsMedian / bareMedian)
        } of baseline ` +
        `(target >= ${ratio(TARGET_RATIO)})`,
    );
    console.log(
      `3. SDK over memory transport (same job): median ${rate(memMedian, " events")}, ` +
        `${ratio(memMedian / bareMedian)} of baseline`,
    );

    console.log(
      `4. SDK over the HTTP binding (same job; event stream down, POSTs up): median ` +
        `${rate(httpMedian, " events")}, ${ratio(httpMedian / bareMedian)} of baseline, ` +
        `${ratio(httpMedian / wsMedian)} of SDK over WebSocket`,
    );

    const wsLatency = await runLatency(overWebSocket, JOBS);
    const httpLatency = await runLatency(overHttp, JOBS);
    const memLatency = await runLatency(overMemory, JOBS);
    console.log(
      `5. Latency of ${JOBS} sequential echo jobs, submit() to result: ` +
        `WebSocket p50 ${ms(percentile(wsLatency, 50))}, p99 ${ms(percentile(wsLatency, 99))}; ` +
        `HTTP p50 ${ms(percentile(httpLatency, 50))}, p99 ${ms(percentile(httpLatency, 99))}; ` +
        `memory p50 ${ms(percentile(memLatency, 50))}, p99 ${ms(percentile(memLatency, 99))}`,
    );

    console.log();
    console.log(table([
      ["Summary", "median", "min", "max", "vs bare"],
      ...([
        ["bare WebSocket, parse (frames)", bare],
        ["SDK over WebSocket (events)", ws],
        ["SDK over memory (events)", mem],
        ["SDK over HTTP binding (events)", http],
      ] as const).map(([label, values]) => [
        label,
        rate(median(values)),
        rate(Math.min(...values)),
        rate(Math.max(...values)),
        ratio(median(values) / bareMedian),
      ]),
      ...([
        ["echo latency, WebSocket", wsLatency],
        ["echo latency, HTTP binding", httpLatency],
        ["echo latency, memory", memLatency],
      ] as const).map(([label, values]) => [
        label,
        `p50 ${ms(percentile(values, 50))}`,
        `min ${ms(Math.min(...values))}`,
        `p99 ${ms(percentile(values, 99))}`,
        "",
      ]),
    ]));
    const verdict = wsMedian / bareMedian >= TARGET_RATIO ? "meets" : "misses";
    console.log(
      `SDK over WebSocket ${verdict} the ${ratio(TARGET_RATIO)} target ` +
        `(${ratio(wsMedian / bareMedian)} of bare WebSocket).`,
    );
  } finally {
    await baseline.shutdown();
  }
}

if (import.meta.main) await main();
