// The seeded fuzzer, briefly, against an in-process runtime on 127.0.0.1 with
// a memory store and with a Deno KV file: after mutated and random frames,
// before and after a hello, no connection hangs, no frame is answered with
// INTERNAL_ERROR, every session can still be resumed and lists the results it
// delivered as delivered (none lost to the store), a fresh client still gets
// its result, and nothing escapes as an uncaught error. A failure prints the
// seed, the connection and the frames it sent.

import assert from "node:assert/strict";
import { Runtime, staticTokens } from "../runtime.ts";
import { demoAgents } from "../cli/demo_agents.ts";
import { openDenoKvStore } from "../store/deno_kv.ts";
import { MemoryStore } from "../store/memory.ts";
import type { RuntimeStore } from "../store/types.ts";
import { formatReport, fuzz, healthCheck } from "./_fuzz.ts";
import { serveHttp } from "./_helpers.ts";

/** One principal per token: the run is not about per-principal limits. */
const TOKENS = Object.fromEntries(
  Array.from({ length: 8 }, (_, i) => [`fuzz-token-${i}`, `fuzzer-${i}`]),
);
/** Fixed seeds, so CI sends the same frames on every run; the bench varies them. */
const SEEDS = { memory: 20261203, kv: 7 };

/** Agents the fuzz frames name, and none that reach the network or the disk. */
const AGENTS = demoAgents().filter((agent) => ["echo", "sleep"].includes(agent.name));

interface Served extends AsyncDisposable {
  url: string;
  /** What the runtime logged as errors, printed for whoever reads a failing run. */
  logged: string[];
}

async function serve(store: RuntimeStore): Promise<Served> {
  const logged: string[] = [];
  const runtime = new Runtime({
    store,
    agents: AGENTS,
    authenticate: staticTokens(TOKENS),
    upgradeWebSocket: Deno.upgradeWebSocket,
    logger: {
      debug: () => {},
      warn: () => {},
      error: (...args: unknown[]) => logged.push(args.map(String).join(" ").slice(0, 300)),
    },
  });
  const server = await serveHttp(runtime.fetch);
  const { port } = server;
  return {
    url: `ws://127.0.0.1:${port}/arcp`,
    logged,
    async [Symbol.asyncDispose]() {
      await runtime.close();
      await server[Symbol.asyncDispose]();
      await store.close?.();
    },
  };
}

/** Collects what would otherwise be an uncaught error or unhandled rejection. */
function uncaught(): { errors: string[] } & Disposable {
  const errors: string[] = [];
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    errors.push(`unhandled rejection: ${event.reason?.stack ?? event.reason}`);
  };
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    errors.push(`uncaught error: ${event.error?.stack ?? event.message}`);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  return {
    errors,
    [Symbol.dispose]() {
      globalThis.removeEventListener("unhandledrejection", onRejection);
      globalThis.removeEventListener("error", onError);
    },
  };
}

async function fuzzAndCheck(store: RuntimeStore, seed: number): Promise<void> {
  using escaped = uncaught();
  await using served = await serve(store);
  console.log(`fuzz seed ${seed}`);
  const report = await fuzz({
    url: served.url,
    token: Object.keys(TOKENS),
    seed,
    connections: 32,
    framesPerConnection: 16,
    concurrency: 8,
  });
  console.log(formatReport(report));
  assert.ok(report.framesSent > 0, "the fuzzer sent frames");
  const health = await healthCheck(served.url, Object.keys(TOKENS)[0]!);
  // Shown, not asserted: a store refusing a record may rightly log why.
  for (const line of served.logged) console.log(`the runtime logged: ${line}`);
  // One assertion of every symptom, so a failing run shows them all at once.
  assert.deepEqual([
    ...report.failures.map((f) => `seed ${seed} connection ${f.connection}: ${f.symptom}`),
    ...(health === undefined ? [] : [health]),
    ...escaped.errors,
  ], []);
}

Deno.test("fuzz: a memory-store runtime survives mutated and random frames", async () => {
  await fuzzAndCheck(new MemoryStore(), SEEDS.memory);
});

Deno.test("fuzz: a Deno KV file runtime survives mutated and random frames", async () => {
  const dir = await Deno.makeTempDir({ prefix: "arcp-fuzz-" });
  try {
    await fuzzAndCheck(await openDenoKvStore(`${dir}/fuzz.kv`), SEEDS.kv);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
