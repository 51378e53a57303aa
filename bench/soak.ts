/**
 * Soak bench: many concurrent sessions against a real `cli.ts serve --demo`
 * process on 127.0.0.1, each a client of client.ts over its own WebSocket.
 *
 * ```sh
 * deno run -A bench/soak.ts [--sessions 1000] [--jobs 10] [--events 100]
 *   [--delay-ms 0] [--connect-concurrency 50] [--store memory|kv] [--deadline-sec 300]
 * ```
 *
 * All `--sessions` sessions are connected first (at most
 * `--connect-concurrency` handshakes at a time), then each runs `--jobs`
 * jobs of the demo `count` agent one after another, `{ n: events,
 * delay_ms }`, reading every event. Every job must deliver progress
 * `1..events` exactly once and in order, and every session's `event_seq`
 * must rise; it prints lost, duplicated and out-of-order events, sessions
 * that failed, the server's RSS (`/proc/PID/status`) before the sessions,
 * at its peak (sampled, and `VmHWM`) and after they all closed, and the
 * memory per session, `(peak - before) / sessions`. Exits 1 unless lost,
 * duplicated, out-of-order and failed are all 0. Everything is bounded by
 * `--deadline-sec`. The defaults (a million events) take about a minute
 * on 2 cores.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Client, connect } from "../client.ts";
import { startServe } from "../tests/_serve.ts";
import { mib, positive, procMiB, sampleRss } from "./_process.ts";

const TOKEN = "soak-bench-token";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sessions: { type: "string", default: "1000" },
    jobs: { type: "string", default: "10" },
    events: { type: "string", default: "100" },
    "delay-ms": { type: "string", default: "0" },
    "connect-concurrency": { type: "string", default: "50" },
    store: { type: "string", default: "memory" },
    "deadline-sec": { type: "string", default: "300" },
  },
  strict: true,
});
const sessions = positive(values, "sessions");
const jobs = positive(values, "jobs");
const events = positive(values, "events");
const delayMs = Number(values["delay-ms"]);
const connectConcurrency = positive(values, "connect-concurrency");
const deadline = AbortSignal.timeout(positive(values, "deadline-sec") * 1000);
if (!(delayMs >= 0)) throw new TypeError(`Invalid --delay-ms "${values["delay-ms"]}"`);
if (values.store !== "memory" && values.store !== "kv") {
  throw new TypeError(`Invalid --store "${values.store}": expected memory or kv`);
}

/** What the sessions saw, all together. */
const counts = { events: 0, lost: 0, duplicated: 0, outOfOrder: 0, failed: 0 };
const failures: string[] = [];

function fail(session: number, error: unknown): void {
  counts.failed++;
  failures.push(`session ${session}: ${error instanceof Error ? error.message : error}`);
}

/** Runs `task` over `items`, `limit` at a time. */
async function pooled<T>(items: T[], limit: number, task: (item: T) => Promise<void>) {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** Runs the jobs of one session, checking every event. */
async function soakSession(client: Client, session: number): Promise<void> {
  let lastSeq = 0;
  for (let j = 0; j < jobs; j++) {
    const job = await client.submit("count", { n: events, delay_ms: delayMs });
    const seen = new Set<number>();
    let highest = 0;
    for await (const event of job) {
      if (event.event_seq <= lastSeq) counts.outOfOrder++;
      lastSeq = Math.max(lastSeq, event.event_seq);
      if (event.payload.kind !== "progress") continue;
      counts.events++;
      const current = (event.payload.body as { current: number }).current;
      if (seen.has(current)) counts.duplicated++;
      else if (current < highest) counts.outOfOrder++;
      seen.add(current);
      highest = Math.max(highest, current);
    }
    const { result } = await job.result;
    if ((result as { count?: number })?.count !== events) {
      fail(session, `job ${job.jobId} returned ${JSON.stringify(result)}`);
    }
    counts.lost += events - seen.size;
  }
}

const served = await startServe(TOKEN, undefined, ["--store", values.store]);
console.log(
  `soak: ${sessions} sessions × ${jobs} jobs × ${events} events (delay ${delayMs} ms), ` +
    `store ${values.store}, server pid ${served.pid}`,
);
const before = await procMiB(served.pid);
const sampler = sampleRss(served.pid);
const started = performance.now();
const clients: (Client | undefined)[] = new Array(sessions);
await pooled([...clients.keys()], connectConcurrency, async (session) => {
  try {
    clients[session] = await connect(served.url, {
      token: TOKEN,
      reconnect: false,
      signal: deadline,
    });
  } catch (error) {
    fail(session, error);
  }
});
const connectedMs = performance.now() - started;
const connected = clients.filter((client) => client !== undefined).length;
const running = clients.map(async (client, session) => {
  if (client === undefined) return;
  try {
    await soakSession(client, session);
  } catch (error) {
    fail(session, error);
  }
});
const allDone = Promise.all(running);
const timedOut = await Promise.race([
  allDone.then(() => false),
  new Promise<boolean>((resolve) => deadline.addEventListener("abort", () => resolve(true))),
]);
const runMs = performance.now() - started - connectedMs;
const peak = await sampler.stop();
const highWater = await procMiB(served.pid, "VmHWM");
await Promise.all(clients.map((client) => client?.close().catch(() => {})));
// Closed sessions stay resumable for the resume window; what "after" shows is what they keep.
await new Promise((resolve) => setTimeout(resolve, 2_000));
const after = await procMiB(served.pid);
const { code } = await served.stop();

const expected = connected * jobs * events;
console.log(`connected         ${connected}/${sessions} in ${(connectedMs / 1000).toFixed(1)} s`);
console.log(
  `events            ${counts.events} of ${expected} in ${(runMs / 1000).toFixed(1)} s ` +
    `(${Math.round(counts.events / (runMs / 1000))} events/s)`,
);
console.log(`lost              ${counts.lost}`);
console.log(`duplicated        ${counts.duplicated}`);
console.log(`out of order      ${counts.outOfOrder}`);
console.log(`failed sessions   ${counts.failed}${timedOut ? " (deadline reached)" : ""}`);
for (const failure of failures.slice(0, 5)) console.log(`  ${failure}`);
console.log(
  `server RSS        before ${mib(before)}, peak ${mib(peak)} (VmHWM ${
    mib(highWater)
  }), after close ${mib(after)}`,
);
console.log(`per session       ${(((peak - (before ?? 0)) * 1024) / sessions).toFixed(1)} KiB`);
console.log(`server exit code  ${code}`);
const ok = counts.lost === 0 && counts.duplicated === 0 && counts.outOfOrder === 0 &&
  counts.failed === 0 && !timedOut && code === 0;
Deno.exit(ok ? 0 : 1);
