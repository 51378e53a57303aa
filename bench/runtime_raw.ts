/**
 * The runtime alone under an external raw client: how fast a `cli.ts serve`
 * process moves one job's events to a client that is not this SDK.
 *
 * A runtime runs in a process of its own (`cli.ts serve --demo --store
 * memory`, or `--store kv` with `--kv`). The client is a bare `WebSocket` in
 * this process: it sends `session.hello`, submits the demo `count` agent for
 * N events, runs `JSON.parse` on every frame (any client must) and stops at
 * the `job.result`. Timed from the submit to the result, so the figure is the
 * runtime's: no SDK client code runs. It does not ask for `ack`, so the
 * runtime paces it by its transport alone.
 *
 * Run with `deno run -A bench/runtime_raw.ts`; `--quick` runs 20,000 events
 * and 3 rounds instead of 100,000 and 5. `--against DIR` also runs the
 * `cli.ts` of another checkout of this package (an older commit, say),
 * interleaving the two round by round so machine noise hits both alike, and
 * prints the ratio of medians. All traffic stays on 127.0.0.1.
 *
 * @module
 */

import { startListening } from "../tests/_serve.ts";

const QUICK = Deno.args.includes("--quick");
const EVENTS = QUICK ? 20_000 : 100_000;
const ROUNDS = QUICK ? 3 : 5;
const STORE = Deno.args.includes("--kv") ? "kv" : "memory";
const TOKEN = "bench-token";

function flag(name: string): string | undefined {
  const at = Deno.args.indexOf(name);
  return at === -1 ? undefined : Deno.args[at + 1];
}

/** Each variant is a checkout's root; this one first. */
const roots: { label: string; root: string }[] = [
  { label: "this checkout", root: new URL("..", import.meta.url).pathname },
];
const against = flag("--against");
if (against !== undefined) roots.push({ label: against, root: `${against.replace(/\/$/, "")}/` });

/** Frames of one run: the handshake, the submit, then events until the result. */
async function runJob(url: string, events: number): Promise<number> {
  const socket = new WebSocket(url);
  const frames: unknown[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  socket.onmessage = (message) => {
    frames.push(JSON.parse(message.data as string));
    wake?.();
  };
  socket.onclose = () => {
    closed = true;
    wake?.();
  };
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error(`cannot connect to ${url}`));
  });
  const next = async (): Promise<{ type: string; payload: unknown }> => {
    while (frames.length === 0) {
      if (closed) throw new Error("the runtime closed the connection");
      await new Promise<void>((resolve) => wake = resolve);
    }
    return frames.shift() as { type: string; payload: unknown };
  };
  let ids = 0;
  const send = (type: string, payload: unknown) =>
    socket.send(JSON.stringify({ arcp: "1.1", id: `raw_${++ids}`, type, payload }));
  send("session.hello", {
    client: { name: "bench-raw", version: "0.0.0" },
    auth: { scheme: "bearer", token: TOKEN },
    capabilities: { encodings: ["json"], features: [] },
  });
  const welcome = await next();
  if (welcome.type !== "session.welcome") throw new Error(`no welcome: ${JSON.stringify(welcome)}`);
  const started = performance.now();
  send("job.submit", { agent: "count", input: { n: events } });
  let seen = 0;
  for (;;) {
    const frame = await next();
    if (frame.type === "job.event") seen++;
    else if (frame.type === "job.result") break;
    else if (frame.type === "job.error") throw new Error(`job failed: ${JSON.stringify(frame)}`);
  }
  const elapsed = performance.now() - started;
  socket.close();
  if (seen < events) throw new Error(`saw ${seen} of ${events} events`);
  return elapsed;
}

async function oneRound(root: string, events: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "arcp-bench-raw-" });
  const served = await startListening([
    `${root}cli.ts`,
    "serve",
    "--demo",
    "--port",
    "0",
    "--token",
    `${TOKEN}=bench`,
    "--store",
    STORE,
    "--kv-path",
    `${dir}/runtime.kv`,
  ]);
  try {
    return await runJob(served.url, events);
  } finally {
    await served.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

console.log(
  `Runtime under a raw WebSocket client: ${EVENTS} events of the count agent, ` +
    `${STORE} store, ${ROUNDS} interleaved rounds`,
);
for (const { root } of roots) await oneRound(root, 1_000); // warm-up, not counted
const times = roots.map(() => [] as number[]);
for (let round = 0; round < ROUNDS; round++) {
  for (const [index, { root }] of roots.entries()) times[index]!.push(await oneRound(root, EVENTS));
}
const medians = times.map(median);
for (const [index, { label }] of roots.entries()) {
  const ms = medians[index]!;
  console.log(
    `  ${label}: median ${ms.toFixed(0)} ms, ${Math.round(EVENTS / (ms / 1000))} events/s ` +
      `(runs: ${times[index]!.map((t) => t.toFixed(0)).join(", ")} ms)`,
  );
}
if (roots.length === 2) {
  console.log(`  events/s ratio this / other: ${(medians[1]! / medians[0]!).toFixed(2)}×`);
}
