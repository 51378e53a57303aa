/**
 * Server benchmark, Deno against Bun: one Deno client streams a job's events
 * from tests/bun/fixture_server.ts run by Deno (`Deno.serve` with
 * `runtime.fetch`) and by Bun (`serveBun()`). Both servers run in a process
 * of their own, beside the client's. The job is the `count` agent of
 * tests/bun/_cross.ts, which awaits `ctx.progress` N times; timed from
 * `submit()` to the result, with every event read. All traffic stays on
 * 127.0.0.1.
 *
 * Run with `deno run -A bench/bun_server.ts`, or add `--quick` for 10,000
 * events and 3 rounds instead of 100,000 and 5. Rounds interleave the two
 * servers, each a fresh process, and medians are reported. Needs Bun (see
 * tests/_bun.ts); without it, says so and exits.
 *
 * @module
 */

import { connect } from "../client.ts";
import {
  BUN,
  bunWorkspace,
  type FixtureServer,
  startBunServer,
  startDenoServer,
} from "../tests/_bun.ts";
import { TOKEN } from "../tests/_helpers.ts";

const QUICK = Deno.args.includes("--quick");
const EVENTS = QUICK ? 10_000 : 100_000;
const ROUNDS = QUICK ? 3 : 5;

/** Streams one `count` job of `n` events from `url`; returns events per second. */
async function eventsPerSecond(url: string, n: number): Promise<number> {
  await using client = await connect(url, { token: TOKEN });
  const start = performance.now();
  const job = await client.submit("count", { n });
  let received = 0;
  for await (const event of job) if (event.payload.kind === "progress") received++;
  await job.result;
  const seconds = (performance.now() - start) / 1000;
  if (received !== n) throw new Error(`Expected ${n} progress events, got ${received}`);
  return n / seconds;
}

/** One run against a fresh fixture server process. */
async function overServer(start: () => Promise<FixtureServer>, n: number): Promise<number> {
  const server = await start();
  try {
    return await eventsPerSecond(server.url, n);
  } finally {
    await server.stop();
    await server.kill();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function rate(value: number): string {
  return `${Math.round(value).toLocaleString("en-US")}/s`;
}

async function main(): Promise<void> {
  if (BUN === undefined) return;
  await using workspace = await bunWorkspace();
  const version = (await workspace.run(["--version"])).stdout.trim();
  console.log(
    `Deno ${Deno.version.deno} client; servers: Deno ${Deno.version.deno}, Bun ${version}`,
  );
  console.log(`${EVENTS.toLocaleString("en-US")} events per run, ${ROUNDS} rounds`);
  const overDeno = (n: number) => overServer(startDenoServer, n);
  const overBun = (n: number) => overServer(() => startBunServer(workspace), n);
  await overDeno(5_000);
  await overBun(5_000);
  const deno: number[] = [];
  const bun: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    deno.push(await overDeno(EVENTS));
    bun.push(await overBun(EVENTS));
    console.log(
      `round ${round}: Deno server ${rate(deno.at(-1)!)}, Bun server ${rate(bun.at(-1)!)}`,
    );
  }
  console.log(
    `median events/s to a Deno client: Deno server ${rate(median(deno))}, ` +
      `Bun server ${rate(median(bun))} (${(median(bun) / median(deno)).toFixed(2)}x)`,
  );
}

await main();
