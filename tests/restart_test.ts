// Durability across a runtime crash: a real `cli.ts serve` process on a Deno
// KV file is killed with SIGKILL and started again on the same file.

import assert from "node:assert/strict";
import { connect, MemoryResumeStateStore } from "../client.ts";
import { rawSession, startServe } from "./_serve.ts";

const TOKEN = "restart-token";

Deno.test("a runtime restarted on its Deno KV file keeps sessions, logs and finished jobs, and fails the jobs it lost", async () => {
  const dir = await Deno.makeTempDir({ prefix: "arcp-restart-" });
  const kvPath = `${dir}/runtime.kv`;
  const resumeStore = new MemoryResumeStateStore();
  let served = await startServe(TOKEN, kvPath);
  try {
    const client = await connect(served.url, {
      token: TOKEN,
      resumeStore,
      resumeKey: "k",
      reconnect: false,
    });
    const counted = await client.submit("count", { n: 3 });
    for await (const _ of counted);
    assert.deepEqual((await counted.result).result, { count: 3 });
    const sleeping = await client.submit("sleep", { ms: 600_000 });
    for await (const event of sleeping) if (event.payload.kind === "status") break;
    const sessionId = client.sessionId;
    const state = (await resumeStore.load("k"))!;
    // Crash: no shutdown path runs, the running job is simply gone.
    await served.kill();
    await client.close();

    served = await startServe(TOKEN, kvPath);
    const frames = await rawSession(served.url, {
      arcp: "1.1",
      id: "msg_resume",
      type: "session.hello",
      payload: {
        client: { name: "restart-test", version: "1.0.0" },
        auth: { scheme: "bearer", token: TOKEN },
        capabilities: { encodings: ["json"], features: ["list_jobs"] },
        resume: { session_id: sessionId, resume_token: state.resume_token, last_event_seq: 0 },
      },
    }, (frames) => frames.some((f) => f.type === "job.error" && f.job_id === sleeping.jobId));

    const welcome = frames[0]!;
    assert.equal(welcome.type, "session.welcome");
    assert.equal(welcome.session_id, sessionId);
    const sequenced = frames.filter((f) => typeof f.event_seq === "number");
    assert.deepEqual(sequenced.map((f) => f.event_seq), sequenced.map((_, i) => i + 1));
    const countedFrames = sequenced.filter((f) => f.job_id === counted.jobId);
    assert.deepEqual(countedFrames.map((f) => f.type), [
      "job.event",
      "job.event",
      "job.event",
      "job.result",
    ]);
    const lost = sequenced.at(-1)!;
    assert.equal(lost.type, "job.error");
    assert.equal(lost.job_id, sleeping.jobId);
    assert.deepEqual(
      { ...(lost.payload as Record<string, unknown>), message: undefined },
      { final_status: "error", code: "INTERNAL_ERROR", retryable: true, message: undefined },
    );

    // A new session of the same principal lists both jobs with their final state.
    await using observer = await connect(served.url, { token: TOKEN, reconnect: false });
    const listed = [];
    for await (const page of observer.listJobs()) listed.push(...page.jobs);
    const status = Object.fromEntries(listed.map((job) => [job.job_id, job.status]));
    assert.equal(status[counted.jobId], "success");
    assert.equal(status[sleeping.jobId], "error");
  } finally {
    const stopped = await served.stop();
    assert.equal(stopped.code, 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve --store kv: echo of a 70,000-character input is a success for the client, list_jobs and a SIGKILL restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "arcp-restart-" });
  const kvPath = `${dir}/runtime.kv`;
  const input = "x".repeat(70_000);
  const statusOf = async (url: string, jobId: string) => {
    await using client = await connect(url, { token: TOKEN, reconnect: false });
    for await (const page of client.listJobs()) {
      const job = page.jobs.find((job) => job.job_id === jobId);
      if (job !== undefined) return job.status;
    }
    return undefined;
  };
  let served = await startServe(TOKEN, kvPath);
  try {
    await using client = await connect(served.url, { token: TOKEN, reconnect: false });
    const job = await client.submit("echo", input);
    const { result } = await job.result;
    assert.ok((result as { echoed?: string }).echoed === input, "the whole input echoed");
    assert.equal(await statusOf(served.url, job.jobId), "success");
    await client.close();
    await served.kill();
    served = await startServe(TOKEN, kvPath);
    assert.equal(await statusOf(served.url, job.jobId), "success");
  } finally {
    const stopped = await served.stop();
    assert.equal(stopped.code, 0, stopped.output);
    await Deno.remove(dir, { recursive: true });
  }
});
