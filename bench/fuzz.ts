/**
 * Fuzz bench: the seeded fuzzer of tests/_fuzz.ts, longer than CI runs it,
 * against a real `cli.ts serve --demo` process on 127.0.0.1, with its memory
 * store and with a Deno KV file.
 *
 * ```sh
 * deno run -A bench/fuzz.ts [--seconds 60] [--connections 4000] [--frames 20]
 *   [--batch 40] [--concurrency 8] [--seed N] [--store memory|kv|both]
 * deno run -A bench/fuzz.ts --replay SEED:CONNECTION[:I,J,...] [--frames 20] [--store ...]
 * ```
 *
 * Per store, rounds of `--batch` connections (round `r` seeded `seed + r`)
 * run until `--seconds` have passed (a round under way finishes) or
 * `--connections` were opened; each connection sends `--frames` frames.
 * It prints frames sent, replies, error replies by code, connections the
 * runtime closed, failures (hangs, sessions that no longer resume, results
 * the runtime lists otherwise than it delivered them, INTERNAL_ERROR
 * replies, a fresh client that fails, uncaught errors in the server's
 * output, a server that died), what the server wrote to stderr, and its RSS (`/proc/PID/status` `VmRSS`) before and after, with the peak
 * (`VmHWM`). Exits 1 on any failure. `--replay` prints the frames one
 * connection of a failing round sent (or only frames `I,J,...` of them)
 * and sends just those, on that one connection: to find the frame at fault.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startServe } from "../tests/_serve.ts";
import { fuzz, type FuzzFailure, healthCheck, planFrames, preview } from "../tests/_fuzz.ts";
import { mib, positive, procMiB } from "./_process.ts";

const TOKEN = "fuzz-bench-token";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "60" },
    connections: { type: "string", default: "4000" },
    frames: { type: "string", default: "20" },
    batch: { type: "string", default: "40" },
    concurrency: { type: "string", default: "8" },
    seed: { type: "string", default: String(Date.now() % 2 ** 31) },
    store: { type: "string", default: "both" },
    replay: { type: "string" },
  },
  strict: true,
});
const frames = positive(values, "frames");

/** The connection, and maybe the frames, that `--replay` sends. */
function replayed(replay: string): { seed: number; connection: number; frames?: number[] } {
  const [seed, connection, indices] = replay.split(":");
  const only = { seed: Number(seed), connection: Number(connection) };
  const frames = indices?.split(",").map(Number);
  if (
    !Number.isInteger(only.seed) || !Number.isInteger(only.connection) ||
    !(frames ?? []).every(Number.isInteger)
  ) {
    throw new TypeError(`Invalid --replay "${replay}": expected SEED:CONNECTION[:I,J,...]`);
  }
  return frames === undefined ? only : { ...only, frames };
}

const replay = values.replay === undefined ? undefined : replayed(values.replay);
if (replay !== undefined) {
  planFrames(replay.seed, replay.connection, frames).forEach((frame, i) => {
    if (replay.frames?.includes(i) ?? true) {
      console.log(`#${i} ${frame.label} ${preview(frame, 400)}`);
    }
  });
}

const seed = replay?.seed ?? Number(values.seed);
const stores = values.store === "both" ? ["memory", "kv"] : [values.store];
if (!stores.every((store) => store === "memory" || store === "kv")) {
  throw new TypeError(`Invalid --store "${values.store}": expected memory, kv or both`);
}
const limits = {
  seconds: positive(values, "seconds"),
  connections: positive(values, "connections"),
  batch: positive(values, "batch"),
  concurrency: positive(values, "concurrency"),
};

/** A symptom or log line without the ids that make every occurrence unique. */
const shape = (line: string) =>
  line.replace(/\b(sess|job|msg|rt)_[0-9A-Za-z]{20,}/g, "$1_…").replace(/\d{3,}/g, "N");

function tally(lines: string[]): string[] {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(shape(line), (counts.get(shape(line)) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([line, n]) => `${n} × ${line}`);
}

async function fuzzStore(store: string): Promise<boolean> {
  const served = await startServe(TOKEN, undefined, ["--store", store]);
  const before = await procMiB(served.pid);
  const started = Date.now();
  const totals = { connections: 0, frames: 0, replies: 0, closes: 0 };
  const errorCodes: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  for (
    let round = 0;
    Date.now() - started < limits.seconds * 1000 && totals.connections < limits.connections &&
    (replay === undefined || round === 0);
    round++
  ) {
    const report = await fuzz({
      url: served.url,
      token: TOKEN,
      seed: seed + round,
      connections: Math.min(limits.batch, limits.connections - totals.connections),
      framesPerConnection: frames,
      concurrency: limits.concurrency,
      ...(replay === undefined ? {} : { only: replay }),
    });
    totals.connections += report.connections;
    totals.frames += report.framesSent;
    totals.replies += report.replies;
    totals.closes += report.closes;
    for (const [code, n] of Object.entries(report.errorCodes)) {
      errorCodes[code] = (errorCodes[code] ?? 0) + n;
    }
    failures.push(...report.failures);
  }
  const seconds = (Date.now() - started) / 1000;
  const health = await healthCheck(served.url, TOKEN);
  const after = await procMiB(served.pid);
  const peak = await procMiB(served.pid, "VmHWM");
  // Stack frames would crowd out the messages: only the lines that say what happened.
  const stderr = served.stderr().split("\n").filter((line) => !/^\s*(at .*)?$/.test(line));
  const uncaught = stderr.filter((line) => /Uncaught|panicked/.test(line));
  const problems = [
    ...failures.map((f) => f.symptom),
    ...(health === undefined ? [] : [health]),
    ...(after === undefined ? ["the server process died"] : []),
    ...uncaught.map((line) => `uncaught in the server: ${line}`),
  ];
  const errorReplies = Object.values(errorCodes).reduce((a, b) => a + b, 0);
  const { code } = await served.stop();
  console.log(
    `\n== store ${store}, seeds ${seed}..${
      seed + Math.ceil(totals.connections / limits.batch) - 1
    }, ${seconds.toFixed(1)} s`,
  );
  console.log(`connections       ${totals.connections}`);
  console.log(`frames sent       ${totals.frames}`);
  console.log(`replies           ${totals.replies}`);
  console.log(`error replies     ${errorReplies} ${JSON.stringify(errorCodes)}`);
  console.log(`closed by runtime ${totals.closes}`);
  console.log(`health failures   ${problems.length}`);
  for (const line of tally(problems)) console.log(`  ${line}`);
  for (const failure of failures.slice(0, 3)) {
    console.log(`  e.g. seed ${failure.seed} connection ${failure.connection}: ${failure.symptom}`);
    console.log(
      `    replay: deno run -A bench/fuzz.ts --replay ${failure.seed}:${failure.connection} --frames ${frames}`,
    );
  }
  console.log(`server stderr     ${stderr.length} lines`);
  for (const line of tally(stderr).slice(0, 10)) console.log(`  ${line.slice(0, 240)}`);
  console.log(`server RSS        before ${mib(before)}, after ${mib(after)}, peak ${mib(peak)}`);
  console.log(`server exit code  ${code}`);
  return problems.length === 0 && code === 0;
}

let ok = true;
console.log(
  replay === undefined
    ? `fuzz bench: seed ${seed}, up to ${limits.seconds} s or ${limits.connections} connections ` +
      `per store, ${frames} frames each`
    : `fuzz bench: replaying connection ${replay.connection} of seed ${seed}`,
);
for (const store of stores) ok = (await fuzzStore(store)) && ok;
Deno.exit(ok ? 0 : 1);
