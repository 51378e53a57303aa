// Several `cli.ts serve --store postgres` processes on one throwaway
// PostgreSQL database form one runtime: a client resumes on another instance
// after its own was killed, and a restart of every instance keeps every
// finished result.

import assert from "node:assert/strict";
import { connect, MemoryResumeStateStore } from "../client.ts";
import type { Frame } from "../transports/types.ts";
import { bounded } from "./_helpers.ts";
import { startPostgres } from "./_postgres.ts";
import { rawSession, type Served, startPostgresServe } from "./_serve.ts";

const TOKEN = "multi-pg-token";

/** Generous: three Deno processes start on a loaded machine. */
const TEST_MS = 180_000;

/** A raw `session.hello` resuming `session_id` after `last_event_seq`. */
function resumeHello(session_id: string, resume_token: string, last_event_seq: number): Frame {
  return {
    arcp: "1.1",
    id: "msg_resume",
    type: "session.hello",
    payload: {
      client: { name: "multi-process-postgres-test", version: "1.0.0" },
      auth: { scheme: "bearer", token: TOKEN },
      capabilities: { encodings: ["json"], features: ["list_jobs"] },
      resume: { session_id, resume_token, last_event_seq },
    },
  };
}

/** Every job the principal has, by id, as listed by a new session on `url`. */
async function listedStatus(url: string): Promise<Record<string, string>> {
  await using client = await connect(url, { token: TOKEN, reconnect: false });
  const listed = [];
  for await (const page of client.listJobs()) listed.push(...page.jobs);
  return Object.fromEntries(listed.map((job) => [job.job_id, job.status]));
}

/** `count` runtime processes on schema `schema` of the database at `databaseUrl`. */
async function startInstances(
  databaseUrl: string,
  count: number,
  schema: string,
): Promise<Served[]> {
  const started = [];
  // One after another: the first creates the schema, the others find it.
  for (let i = 0; i < count; i++) {
    started.push(await startPostgresServe(TOKEN, databaseUrl, schema));
  }
  return started;
}

/** Stops every process with SIGTERM, each expected to exit with 0. */
async function stopAll(instances: Served[]): Promise<void> {
  const stopped = await Promise.all(instances.map((served) => served.stop()));
  for (const { code, output } of stopped) assert.equal(code, 0, output);
}

const server = await startPostgres();

if (typeof server === "string") {
  Deno.test({
    name: `serve --store postgres, several processes: skipped, ${server}`,
    ignore: true,
    fn() {},
  });
} else {
  globalThis.addEventListener("unload", () => server.stop());
  const databaseUrl = server.url;

  Deno.test(
    "serve --store postgres: a client resumes on another of three processes after SIGKILL of its own, gap-free, and its lost job fails retryably",
    bounded(async () => {
      const instances = await startInstances(
        databaseUrl,
        3,
        `multi_${crypto.randomUUID().slice(0, 8)}`,
      );
      const [first, second, third] = instances as [Served, Served, Served];
      try {
        const resumeStore = new MemoryResumeStateStore();
        const client = await connect(first.url, {
          token: TOKEN,
          resumeStore,
          resumeKey: "k",
          reconnect: false,
        });
        // Long enough to be running still when its instance dies.
        const counted = await client.submit("count", { n: 10_000, delay_ms: 50 });
        let read = 0;
        let lastSeq = 0;
        // Read through an iterator left open, as a client cut off mid-read:
        // leaving a `for await` early cancels the stream, and the client then
        // acknowledges every later event of the job as consumed, so the
        // runtime may trim them before the resume asks for them.
        const events = counted[Symbol.asyncIterator]();
        while (read < 5) {
          const { value: event } = await events.next();
          lastSeq = event!.event_seq;
          if (event!.payload.kind === "progress") read++;
        }
        // The job goes on while the client reads no more: a subscriber on the
        // third instance sees five more steps stored before the kill.
        await using observer = await connect(third.url, { token: TOKEN, reconnect: false });
        for await (const event of await observer.subscribe(counted.jobId)) {
          const body = event.payload.body as { current?: number };
          if (event.payload.kind === "progress" && body.current! >= read + 5) break;
        }
        const sessionId = client.sessionId;
        const state = (await resumeStore.load("k"))!;
        // The first process dies without a word; the others run on.
        await first.kill();
        instances.splice(0, 1);
        await client.close();

        const frames = await rawSession(
          second.url,
          resumeHello(sessionId, state.resume_token, lastSeq),
          (frames) => frames.some((f) => f.type === "job.error" && f.job_id === counted.jobId),
        );
        assert.equal(frames[0]!.type, "session.welcome");
        assert.equal(frames[0]!.session_id, sessionId);
        const sequenced = frames.filter((f) => typeof f.event_seq === "number");
        assert.deepEqual(
          sequenced.map((f) => f.event_seq),
          sequenced.map((_, i) => lastSeq + 1 + i),
          "the rest of the log, from the last event read, gap-free",
        );
        // What was stored before the kill is progress, in order; then the end.
        const progress = sequenced.slice(0, -1).map((
          f,
        ) => (f.payload as { kind: string; body: { current: number } }));
        for (const payload of progress) assert.equal(payload.kind, "progress");
        const currents = progress.map((payload) => payload.body.current);
        assert.ok(currents.length >= 5, `${currents.length} steps stored after the last read`);
        assert.deepEqual(
          currents,
          currents.map((_, i) => read + 1 + i),
          "from the step after the last read",
        );
        const lost = sequenced.at(-1)!;
        assert.equal(lost.type, "job.error");
        assert.equal(lost.job_id, counted.jobId);
        assert.deepEqual(
          { ...(lost.payload as Record<string, unknown>), message: undefined },
          { final_status: "error", code: "INTERNAL_ERROR", retryable: true, message: undefined },
        );

        // The third instance lists the same end.
        assert.equal((await listedStatus(third.url))[counted.jobId], "error");
      } finally {
        await stopAll(instances);
      }
    }, TEST_MS),
  );

  Deno.test(
    "serve --store postgres: a restart of every process keeps every finished result",
    bounded(async () => {
      const schema = `restart_${crypto.randomUUID().slice(0, 8)}`;
      let instances = await startInstances(databaseUrl, 3, schema);
      const finished = new Map<string, unknown>();
      try {
        await using client = await connect(instances[0]!.url, { token: TOKEN, reconnect: false });
        for (let i = 1; i <= 3; i++) {
          const job = await client.submit("count", { n: i });
          finished.set(job.jobId, (await job.result).result);
        }
        // And one on each other instance, from sessions of their own.
        for (const served of instances.slice(1)) {
          await using other = await connect(served.url, { token: TOKEN, reconnect: false });
          const job = await other.submit("echo", { on: served.url });
          finished.set(job.jobId, (await job.result).result);
        }
      } finally {
        await stopAll(instances);
      }

      instances = await startInstances(databaseUrl, 2, schema);
      try {
        const status = await listedStatus(instances[0]!.url);
        for (const jobId of finished.keys()) assert.equal(status[jobId], "success", jobId);

        // Each job's record, read on the other new instance, still holds its result.
        await using observer = await connect(instances[1]!.url, { token: TOKEN, reconnect: false });
        for (const [jobId, result] of finished) {
          const watched = await observer.subscribe(jobId, { history: true });
          assert.equal(watched.subscribed.current_status, "success");
          assert.deepEqual((await watched.result).result, result);
        }
      } finally {
        await stopAll(instances);
      }
    }, TEST_MS),
  );
}
