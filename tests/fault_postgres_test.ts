// Fault injection across processes: three `cli.ts serve --store postgres`
// processes on one throwaway database, one of them killed with SIGKILL and
// started again 50 times at seeded moments, while three clients, each with
// automatic reconnect to whichever process is up, run `count` jobs of 10,000
// events one after another.
//
// A job runs on the process its session was on when it was submitted. When
// that process is killed, the job is lost: once the dead process's heartbeat
// expires another process ends it with a retryable INTERNAL_ERROR, and that
// is a fine outcome. A job that survives (its process lived until its end)
// succeeds. Either way, every event the job stored reaches its client once
// and in order: the steps 1, 2, 3, ... without gap or repeat, all 10,000 for
// a surviving job. And no resent submit starts a second job.
//
// The kills come from a seeded PRNG (the seed is in the test's name): which
// process and how long after the previous kill. The processes' timing is not
// replayed, but a failure names its seed and the schedule replays with
// ARCP_FAULT_SEED=<seed> deno test -A tests/fault_postgres_test.ts

import assert from "node:assert/strict";
import { type Client, connect, type JobHandle } from "../client.ts";
import { ArcpError } from "../protocol/errors.ts";
import { webSocketTransport } from "../transports/websocket.ts";
import { Prng } from "./_fuzz_frames.ts";
import { bounded } from "./_helpers.ts";
import { startPostgres } from "./_postgres.ts";
import { type Served, startPostgresServe } from "./_serve.ts";

const TOKEN = "pg-fault-token";
const INSTANCES = 3;
const CLIENTS = 3;
const KILLS = 50;
const EVENTS_PER_JOB = 10_000;
/**
 * Milliseconds from one kill to the next, drawn uniformly: 50 kills take
 * about 100 s, and a process lives about 6 s, as long as a job or two.
 */
const KILL_GAP_MS = { min: 1_000, max: 3_000 };
/** The whole run on a loaded machine, with room to spare: a broken build fails instead of hanging. */
const TEST_MS = 300_000;
/** A client that cannot resume within this gives up, failing its job. */
const RECONNECT_GIVE_UP_MS = 60_000;

/** Fixed unless ARCP_FAULT_SEED replays another. */
const SEED = Number(Deno.env.get("ARCP_FAULT_SEED") ?? 0x5eed_11) >>> 0;

/** The runtime processes, each in a slot that is empty while its process restarts. */
class Fleet {
  readonly #slots: (Served | undefined)[] = [];
  readonly #restarts = new Map<number, Promise<void>>();
  readonly #start: () => Promise<Served>;
  kills = 0;

  constructor(start: () => Promise<Served>) {
    this.#start = start;
  }

  /** Starts the processes one after another: the first creates the schema. */
  async startAll(count: number): Promise<void> {
    for (let i = 0; i < count; i++) this.#slots.push(await this.#start());
  }

  /** The URL of a process that is up, the first from slot `from` on. */
  url(from: number): string {
    for (let i = 0; i < this.#slots.length; i++) {
      const served = this.#slots[(from + i) % this.#slots.length];
      if (served !== undefined) return served.url;
    }
    throw new Error("no runtime process is up");
  }

  /** Kills the process in `slot` (once its restart, if any, is done) and starts another there. */
  async kill(slot: number): Promise<void> {
    await this.#restarts.get(slot);
    const victim = this.#slots[slot]!;
    this.#slots[slot] = undefined;
    await victim.kill();
    this.kills++;
    this.#restarts.set(
      slot,
      this.#start().then((served) => {
        this.#slots[slot] = served;
      }),
    );
  }

  /** Waits for the restarts, then stops every process with SIGTERM; each must exit with 0. */
  async stopAll(): Promise<void> {
    await Promise.allSettled(this.#restarts.values());
    const stopped = await Promise.all(
      this.#slots.flatMap((served) => served === undefined ? [] : [served.stop()]),
    );
    for (const { code, output } of stopped) assert.equal(code, 0, output);
  }
}

/** How one job ended, as its client saw it. */
interface Outcome {
  jobId: string;
  /** The steps delivered, checked to be 1..steps in order. */
  steps: number;
  /** `success`, or `error` for a job lost with its process. */
  status: "success" | "error";
}

/**
 * Reads `job` to its end, checking its steps come 1, 2, 3, ... with rising
 * event_seq, each once; then its result: a surviving job's, or the
 * retryable INTERNAL_ERROR of a job lost with its process.
 */
async function follow(job: JobHandle, where: () => string): Promise<Outcome> {
  let steps = 0;
  let lastSeq = 0;
  for await (const event of job) {
    const current = (event.payload.body as { current?: number }).current;
    if (event.payload.kind !== "progress" || current !== steps + 1 || event.event_seq <= lastSeq) {
      throw new Error(
        `job ${job.jobId}: expected step ${steps + 1} after event_seq ${lastSeq}, got ` +
          `${event.payload.kind} ${current} at event_seq ${event.event_seq}; ${where()}`,
      );
    }
    steps++;
    lastSeq = event.event_seq;
  }
  try {
    const { result } = await job.result;
    assert.deepEqual(result, { count: EVENTS_PER_JOB }, where());
    assert.equal(steps, EVENTS_PER_JOB, `job ${job.jobId} succeeded: every step; ${where()}`);
    return { jobId: job.jobId, steps, status: "success" };
  } catch (error) {
    if (
      !(error instanceof ArcpError) || error.code !== "INTERNAL_ERROR" || !error.retryable
    ) throw error;
    return { jobId: job.jobId, steps, status: "error" };
  }
}

/** Runs jobs one after another on `client` until `stopped()`; how each ended. */
async function runJobs(
  client: Client,
  stopped: () => boolean,
  where: () => string,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  while (!stopped()) {
    const job = await client.submit("count", { n: EVENTS_PER_JOB });
    outcomes.push(await follow(job, where));
  }
  return outcomes;
}

const server = await startPostgres();

if (typeof server === "string") {
  Deno.test({
    name: `fault injection over serve --store postgres: skipped, ${server}`,
    ignore: true,
    fn() {},
  });
} else {
  globalThis.addEventListener("unload", () => server.stop());

  Deno.test(
    `fault injection [${INSTANCES} serve --store postgres processes, seed ${SEED}]: ${KILLS} ` +
      `SIGKILLs while ${CLIENTS} clients read jobs of ${EVENTS_PER_JOB} events: every event ` +
      `of every job arrives once and in order, a job ends with its result or, lost with its ` +
      `process, a retryable error, and none runs twice`,
    bounded(async () => {
      console.log(`seed ${SEED} (rerun with ARCP_FAULT_SEED=${SEED})`);
      const schema = `fault_${crypto.randomUUID().slice(0, 8)}`;
      const fleet = new Fleet(() => startPostgresServe(TOKEN, server.url, schema));
      const random = new Prng(SEED);
      const where = () => `${fleet.kills} kills so far, seed ${SEED}`;
      let stopping = false;
      const clients: Client[] = [];
      let kills: Promise<void> = Promise.resolve();
      try {
        await fleet.startAll(INSTANCES);
        for (let i = 0; i < CLIENTS; i++) {
          // Each starts on a process of its own, and reconnects to any that is up.
          clients.push(
            await connect(() => webSocketTransport(new WebSocket(fleet.url(i))), {
              token: TOKEN,
              reconnect: {
                initialDelayMs: 50,
                maxDelayMs: 1_000,
                maxElapsedMs: RECONNECT_GIVE_UP_MS,
              },
            }),
          );
        }
        const running = clients.map((client) => runJobs(client, () => stopping, where));
        // A failing client fails the run at once, rather than after every kill.
        const failed = Promise.race(
          running.map((run) => run.then(() => new Promise<never>(() => {}))),
        );
        kills = (async () => {
          for (let i = 0; i < KILLS && !stopping; i++) {
            const gap = KILL_GAP_MS.min + random.int(KILL_GAP_MS.max - KILL_GAP_MS.min + 1);
            await new Promise((resolve) => setTimeout(resolve, gap));
            await fleet.kill(random.int(INSTANCES));
          }
        })();
        await Promise.race([kills, failed]);
        stopping = true;
        const outcomes = (await Promise.all(running)).flat();

        assert.equal(fleet.kills, KILLS);
        const survived = outcomes.filter((outcome) => outcome.status === "success");
        const lost = outcomes.filter((outcome) => outcome.status === "error");
        console.log(
          `${outcomes.length} jobs: ${survived.length} survived, ${lost.length} lost with their ` +
            `process after ${lost.map((outcome) => outcome.steps).join(", ")} steps`,
        );
        assert.ok(survived.length > 0, `a job survived: ${where()}`);
        assert.ok(lost.length > 0, `a job was lost: ${where()}`);

        // Every job submitted ran once, and is listed with the end its client saw.
        const listed = [];
        for await (const page of clients[0]!.listJobs()) listed.push(...page.jobs);
        assert.deepEqual(
          Object.fromEntries(listed.map((job) => [job.job_id, job.status])),
          Object.fromEntries(outcomes.map((outcome) => [outcome.jobId, outcome.status])),
          `no resent submit started a second job: ${where()}`,
        );
      } finally {
        stopping = true;
        await kills.catch(() => {});
        await Promise.allSettled(clients.map((client) => client.close()));
        await fleet.stopAll();
      }
    }, TEST_MS),
  );
}
