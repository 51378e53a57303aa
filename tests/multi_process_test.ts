// Two `cli.ts serve` processes on one Deno KV file, as Deno Deploy runs
// isolates on one KV: a subscriber on one follows a job running on the
// other, and a client resumes on one after the other was killed. Locally,
// KV `watch` misses the other process's writes, so this also proves the
// polling fallback.

import assert from "node:assert/strict";
import { connect, MemoryResumeStateStore } from "../client.ts";
import { bounded } from "./_helpers.ts";
import { rawSession, startServe } from "./_serve.ts";

const TOKEN = "multi-token";

/** A web server whose one answer waits for `release()`. */
function startGatedSite() {
  const gate = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    await gate.promise;
    return new Response("done");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/slow`,
    release: () => gate.resolve(),
    async [Symbol.asyncDispose]() {
      gate.resolve();
      await server.shutdown();
    },
  };
}

/** Two runtime processes on one fresh KV file, stopped and removed at disposal. */
async function startPair() {
  const dir = await Deno.makeTempDir({ prefix: "arcp-multi-process-" });
  const kvPath = `${dir}/runtime.kv`;
  const first = await startServe(TOKEN, kvPath);
  const second = await startServe(TOKEN, kvPath);
  return {
    first,
    second,
    async [Symbol.asyncDispose]() {
      for (const served of [first, second]) {
        const stopped = await served.stop();
        assert.equal(stopped.code, 0, stopped.output);
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test(
  "a subscriber on a second runtime process follows a job running on the first, live, to its end",
  bounded(async () => {
    await using site = startGatedSite();
    await using pair = await startPair();
    await using submitter = await connect(pair.first.url, { token: TOKEN, reconnect: false });
    const job = await submitter.submit("fetch", { url: site.url }, {
      leaseRequest: { "net.fetch": [site.url] },
    });
    for await (const event of job) if (event.payload.kind === "tool_call") break;

    await using observer = await connect(pair.second.url, { token: TOKEN, reconnect: false });
    const watched = await observer.subscribe(job.jobId, { history: true });
    assert.equal(watched.subscribed.current_status, "running");
    const events = watched[Symbol.asyncIterator]();
    const history = await events.next();
    assert.equal(history.value?.payload.kind, "tool_call", "the job's history, while it waits");
    // Only now can the job go on: what follows reaches the observer live.
    site.release();
    const live = [];
    for (let next = await events.next(); !next.done; next = await events.next()) {
      live.push(next.value);
    }
    assert.deepEqual(live.map((event) => event.payload.kind), ["tool_result"]);
    assert.deepEqual((await watched.result).result, { status: 200 });
    assert.deepEqual((await job.result).result, { status: 200 });
    const seqs = [history.value!, ...live].map((event) => event.event_seq);
    assert.deepEqual(seqs, [1, 2], "in the observer's own session, from 1");
  }, 30_000),
);

Deno.test(
  "a client resumes on a second runtime process after the first is killed, gap-free, and its lost job fails",
  bounded(async () => {
    await using pair = await startPair();
    const resumeStore = new MemoryResumeStateStore();
    const client = await connect(pair.first.url, {
      token: TOKEN,
      resumeStore,
      resumeKey: "k",
      reconnect: false,
    });
    const counted = await client.submit("count", { n: 3 });
    assert.deepEqual((await counted.result).result, { count: 3 });
    const sleeping = await client.submit("sleep", { ms: 600_000 });
    for await (const event of sleeping) if (event.payload.kind === "status") break;
    const sessionId = client.sessionId;
    const state = (await resumeStore.load("k"))!;
    // The first process dies without a word; the second has run all along.
    await pair.first.kill();
    await client.close();
    pair.first.stop = () => Promise.resolve({ code: 0, output: "" });

    const frames = await rawSession(pair.second.url, {
      arcp: "1.1",
      id: "msg_resume",
      type: "session.hello",
      payload: {
        client: { name: "multi-process-test", version: "1.0.0" },
        auth: { scheme: "bearer", token: TOKEN },
        capabilities: { encodings: ["json"], features: [] },
        resume: { session_id: sessionId, resume_token: state.resume_token, last_event_seq: 0 },
      },
    }, (frames) => frames.some((f) => f.type === "job.error" && f.job_id === sleeping.jobId));
    assert.equal(frames[0]!.type, "session.welcome");
    assert.equal(frames[0]!.session_id, sessionId);
    const sequenced = frames.filter((f) => typeof f.event_seq === "number");
    assert.deepEqual(sequenced.map((f) => f.event_seq), sequenced.map((_, i) => i + 1));
    assert.deepEqual(sequenced.filter((f) => f.job_id === counted.jobId).map((f) => f.type), [
      "job.event",
      "job.event",
      "job.event",
      "job.result",
    ]);
    const lost = sequenced.at(-1)!;
    assert.equal(lost.job_id, sleeping.jobId);
    assert.equal((lost.payload as { code: string }).code, "INTERNAL_ERROR");
    assert.equal((lost.payload as { retryable: boolean }).retryable, true);
  }, 30_000),
);
