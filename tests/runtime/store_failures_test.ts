// A job's end is stored before any client sees it, on a real Deno KV file
// behind a real WebSocket: a result over the KV's 64 KiB value limit is
// kept whole, and a store that refuses the end for good turns it into an
// INTERNAL_ERROR that the client, session.list_jobs and a restart all agree on.

import assert from "node:assert/strict";
import { type Client, connect } from "../../client.ts";
import { ArcpError } from "../../protocol/errors.ts";
import { Runtime, staticTokens } from "../../runtime.ts";
import { DenoKvStore, openDenoKvStore } from "../../store/deno_kv.ts";
import type { JobRecord, RuntimeStore, StoredEvent } from "../../store/types.ts";
import {
  eventually,
  helloFrame,
  rawOver,
  serveHttp,
  socketOpened,
  standardAgents,
  TOKENS,
} from "../_helpers.ts";
import { webSocketTransport } from "../../transports/websocket.ts";

const TOKEN = "t-alice";

/** A runtime on `store`, served over WebSocket on 127.0.0.1, with a client connected. */
async function served(store: RuntimeStore, errors: unknown[][] = []) {
  const runtime = new Runtime({
    store,
    authenticate: staticTokens({ ...TOKENS }),
    agents: standardAgents(),
    upgradeWebSocket: (request) => Deno.upgradeWebSocket(request),
    logger: { debug() {}, warn() {}, error: (...args: unknown[]) => errors.push(args) },
  });
  const server = await serveHttp(runtime.fetch);
  const url = `ws://127.0.0.1:${server.port}/arcp`;
  const client = await connect(url, { token: TOKEN, reconnect: false });
  return {
    runtime,
    client,
    url,
    async [Symbol.asyncDispose]() {
      await client.close().catch(() => {});
      await runtime.close();
      await server[Symbol.asyncDispose]();
    },
  };
}

async function listed(client: Client, jobId: string) {
  for await (const page of client.listJobs()) {
    const job = page.jobs.find((job) => job.job_id === jobId);
    if (job !== undefined) return job;
  }
  return undefined;
}

async function withKvFile(test: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "arcp-store-failures-" });
  try {
    await test(`${dir}/runtime.kv`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("echo of a 70,000-character input on a Deno KV file: success for the client, in list_jobs and after a restart", () =>
  withKvFile(async (path) => {
    const input = "é".repeat(70_000);
    const errors: unknown[][] = [];
    let jobId: string;
    {
      const store = await openDenoKvStore(path);
      await using running = await served(store, errors);
      const job = await running.client.submit("echo", input);
      jobId = job.jobId;
      assert.deepEqual((await job.result).result, { echoed: input, version: "2.0.0" });
      // Stored before it was sent: the listing agrees at once.
      assert.equal((await listed(running.client, jobId))?.status, "success");
      await running[Symbol.asyncDispose]();
      await store.close();
    }
    assert.deepEqual(errors, []);
    const store = await openDenoKvStore(path);
    try {
      await using restarted = await served(store);
      assert.equal((await listed(restarted.client, jobId))?.status, "success");
      const stored = await store.getJob(jobId);
      const payload = stored?.terminal?.payload as { result?: unknown } | undefined;
      assert.deepEqual(payload?.result, { echoed: input, version: "2.0.0" });
    } finally {
      await store.close();
    }
  }));

/** A Deno KV store whose `putJob` refuses the records `refuse` picks, as a store failing for good would. */
class RefusingStore extends DenoKvStore {
  constructor(kv: Deno.Kv, readonly refuse: (record: JobRecord) => boolean) {
    super(kv);
  }
  override putJob(record: JobRecord): Promise<void> {
    if (this.refuse(record)) return Promise.reject(new Error("disk I/O error"));
    return super.putJob(record);
  }
}

Deno.test("a job whose result the store refuses ends with INTERNAL_ERROR, and the store says so", () =>
  withKvFile(async (path) => {
    const kv = await Deno.openKv(path);
    const errors: unknown[][] = [];
    let jobId: string;
    try {
      const store = new RefusingStore(kv, (record) => record.status === "success");
      await using running = await served(store, errors);
      const job = await running.client.submit("echo", "hello");
      jobId = job.jobId;
      const error = await job.result.then(() => undefined, (error) => error);
      assert.ok(error instanceof ArcpError, String(error));
      assert.equal(error.code, "INTERNAL_ERROR");
      assert.match(error.message, /Cannot store the end of job .*: disk I\/O error/);
      assert.equal((await listed(running.client, jobId))?.status, "error");
      // The log holds the error the client saw, and never the refused result.
      const logged: StoredEvent[] = [];
      for await (const event of store.read(running.client.sessionId, { after: 0 })) {
        logged.push(event);
      }
      assert.deepEqual(logged.map((event) => event.type), ["job.error"]);
    } finally {
      kv.close();
    }
    assert.match(String(errors[0]?.[0]), /cannot store the end of job .*INTERNAL_ERROR/);
    const store = await openDenoKvStore(path);
    try {
      const stored = await store.getJob(jobId);
      assert.equal(stored?.status, "error");
      assert.equal(stored?.terminal?.type, "job.error");
    } finally {
      await store.close();
    }
  }));

Deno.test("a job whose end the store refuses in any form is listed as failed, and a restart fails it too", () =>
  withKvFile(async (path) => {
    const kv = await Deno.openKv(path);
    let jobId: string;
    try {
      const store = new RefusingStore(kv, (record) => record.terminal !== undefined);
      await using running = await served(store);
      const job = await running.client.submit("echo", "hello");
      jobId = job.jobId;
      await assert.rejects(job.result, (error: ArcpError) => error.code === "INTERNAL_ERROR");
      // The store still says running; this runtime knows better and says so.
      assert.equal((await store.getJob(jobId))?.status, "running");
      assert.equal((await listed(running.client, jobId))?.status, "error");
    } finally {
      kv.close();
    }
    const store = await openDenoKvStore(path);
    try {
      await using restarted = await served(store);
      assert.equal((await listed(restarted.client, jobId))?.status, "error");
    } finally {
      await store.close();
    }
  }));

Deno.test("client-chosen strings that key stored records are refused by name or not found, never a store failure", () =>
  withKvFile(async (path) => {
    const store = await openDenoKvStore(path);
    try {
      await using running = await served(store);
      const socket = new WebSocket(running.url);
      await socketOpened(socket);
      const raw = rawOver(webSocketTransport(socket));
      try {
        await raw.hello(TOKEN, { features: ["list_jobs", "subscribe"] });
        const long = "k".repeat(3_000);
        const refused = async (type: string, payload: Record<string, unknown>) => {
          const id = await raw.request(type, payload);
          const reply = await raw.expect("session.error");
          assert.equal((reply.payload as { request_id?: string }).request_id, id);
          return reply.payload as { code: string; message: string };
        };
        const submit = await refused("job.submit", { agent: "echo", idempotency_key: long });
        assert.equal(submit.code, "INVALID_REQUEST");
        assert.match(submit.message, /idempotency_key: it is 3000 bytes, over the limit of 512/);
        const list = await refused("session.list_jobs", { cursor: long });
        assert.equal(list.code, "INVALID_REQUEST");
        assert.match(list.message, /cursor: it is 3000 bytes, over the limit of 512/);
        assert.equal((await refused("job.subscribe", { job_id: long })).code, "JOB_NOT_FOUND");
        assert.equal((await refused("job.cancel", { job_id: long })).code, "JOB_NOT_FOUND");
        // The session still works, on the same store.
        const frames = await raw.run("echo", "still here");
        assert.equal(frames.at(-1)?.type, "job.result");
      } finally {
        await raw.close();
      }
    } finally {
      await store.close();
    }
  }));

/** A Deno KV store whose log appends fail for good once `failing` is set. */
class FailingLogStore extends DenoKvStore {
  failing = false;
  override compareAndAppend(sessionId: string, events: readonly StoredEvent[]): Promise<number> {
    if (this.failing) return Promise.reject(new Error("disk full"));
    return super.compareAndAppend(sessionId, events);
  }
}

Deno.test("a session whose events the store refuses for good is dropped, and its jobs end with INTERNAL_ERROR", () =>
  withKvFile(async (path) => {
    const kv = await Deno.openKv(path);
    const errors: unknown[][] = [];
    try {
      const store = new FailingLogStore(kv);
      const stopped = Promise.withResolvers<unknown>();
      const runtime = new Runtime({
        store,
        authenticate: staticTokens({ ...TOKENS }),
        agents: [{
          name: "ticker",
          async handler(_input: unknown, ctx) {
            while (!ctx.signal.aborted) {
              await ctx.progress(1).catch(() => {});
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
            stopped.resolve(ctx.signal.reason);
            return null;
          },
        }],
        upgradeWebSocket: (request) => Deno.upgradeWebSocket(request),
        logger: { debug() {}, warn() {}, error: (...args: unknown[]) => errors.push(args) },
      });
      await using server = await serveHttp(runtime.fetch);
      try {
        const socket = new WebSocket(`ws://127.0.0.1:${server.port}/arcp`);
        await socketOpened(socket);
        const raw = rawOver(webSocketTransport(socket));
        await raw.hello(TOKEN);
        await raw.submit("ticker");
        const jobId = (await raw.expect("job.accepted")).job_id as string;
        await raw.expect("job.event");
        store.failing = true;
        // The connection ends instead of going on without the events.
        await raw.ended();
        const reason = await stopped.promise as ArcpError;
        assert.equal(reason.code, "INTERNAL_ERROR");
        assert.match(reason.message, /Cannot store the events of session .*: disk full/);
        await eventually(
          async () => (await store.getJob(jobId))?.status === "error",
          "the job's record to say it failed",
          10_000,
        );
        const record = (await store.getJob(jobId))!;
        assert.match(
          (record.terminal?.payload as { message: string }).message,
          /Cannot store the events of session/,
        );
        assert.match(String(errors[0]?.[0]), /the store failed for session/);
      } finally {
        await runtime.close();
      }
    } finally {
      kv.close();
    }
  }));

/** A Deno KV store that cannot write session records. */
class NoSessionsStore extends DenoKvStore {
  override updateSession(): Promise<undefined> {
    return Promise.reject(new Error("read-only file system"));
  }
}

Deno.test("a hello whose session the store cannot record is refused with INTERNAL_ERROR, not welcomed", () =>
  withKvFile(async (path) => {
    const kv = await Deno.openKv(path);
    try {
      const store = new NoSessionsStore(kv);
      const runtime = new Runtime({
        store,
        authenticate: staticTokens({ ...TOKENS }),
        upgradeWebSocket: (request) => Deno.upgradeWebSocket(request),
        logger: { debug() {}, warn() {}, error() {} },
      });
      await using server = await serveHttp(runtime.fetch);
      try {
        const socket = new WebSocket(`ws://127.0.0.1:${server.port}/arcp`);
        await socketOpened(socket);
        const raw = rawOver(webSocketTransport(socket));
        await raw.send(helloFrame(TOKEN));
        const reply = await raw.expect("session.error");
        assert.equal((reply.payload as { code: string }).code, "INTERNAL_ERROR");
        await raw.close();
      } finally {
        await runtime.close();
      }
    } finally {
      kv.close();
    }
  }));
