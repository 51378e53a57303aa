// A subscriber from another session (spec 1.1 §7.6) sees a job's event only
// once it is in the job's session log: while the append is held, it sees
// nothing, and an event the store never takes it never sees.

import assert from "node:assert/strict";
import { Runtime, staticTokens } from "../../runtime.ts";
import { DenoKvStore } from "../../store/deno_kv.ts";
import type { StoredEvent } from "../../store/types.ts";
import { webSocketTransport } from "../../transports/websocket.ts";
import type { Frame } from "../../transports/types.ts";
import { bounded, rawOver, serveHttp, socketOpened, TOKENS } from "../_helpers.ts";
import type { RawConnection } from "../_raw.ts";

/** A Deno KV store whose appends to one session's log wait on `gate`, or fail while `failing`. */
class GatedLogStore extends DenoKvStore {
  held: string | undefined;
  gate: Promise<void> | undefined;
  failing = false;
  /** Resolved when an append to the held session's log arrives. */
  arrived = Promise.withResolvers<void>();

  override async compareAndAppend(
    sessionId: string,
    events: readonly StoredEvent[],
  ): Promise<number> {
    if (sessionId === this.held) {
      this.arrived.resolve();
      await this.gate;
      if (this.failing) throw new Error("disk full");
    }
    return await super.compareAndAppend(sessionId, events);
  }
}

const features = ["subscribe", "list_jobs"];

function payloadOf(frame: Frame): Record<string, unknown> {
  return frame.payload as Record<string, unknown>;
}

function isHeld(frame: Frame): boolean {
  return frame.type === "job.event" &&
    (payloadOf(frame).body as { message?: unknown } | undefined)?.message === "held";
}

/**
 * What reaches `raw` before the answer to a request sent now: a frame sent
 * to its session before the request was read comes first.
 */
async function framesBeforeReply(raw: RawConnection): Promise<Frame[]> {
  const id = await raw.request("session.list_jobs", {});
  return await raw.until((frame) => payloadOf(frame).request_id === id);
}

async function withRuntime(
  test: (
    parts: {
      store: GatedLogStore;
      submitter: RawConnection;
      subscriber: RawConnection;
      jobId: string;
      release(): void;
    },
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "arcp-stored-before-seen-" });
  const kv = await Deno.openKv(`${dir}/runtime.kv`);
  const release = Promise.withResolvers<void>();
  try {
    const store = new GatedLogStore(kv);
    const runtime = new Runtime({
      store,
      authenticate: staticTokens({ ...TOKENS }),
      subscribePolicy: () => true,
      agents: [{
        name: "one-event",
        async handler(_input: unknown, ctx) {
          await release.promise;
          await ctx.log("info", "held");
          return "done";
        },
      }],
      upgradeWebSocket: (request) => Deno.upgradeWebSocket(request),
      logger: { debug() {}, warn() {}, error() {} },
    });
    const server = await serveHttp(runtime.fetch);
    const open = async (token: string) => {
      const socket = new WebSocket(`ws://127.0.0.1:${server.port}/arcp`);
      await socketOpened(socket);
      const raw = rawOver(webSocketTransport(socket));
      await raw.hello(token, { features });
      return raw;
    };
    try {
      const submitter = await open("t-alice");
      const subscriber = await open("t-bob");
      await submitter.submit("one-event");
      const jobId = (await submitter.expect("job.accepted")).job_id as string;
      await subscriber.request("job.subscribe", { job_id: jobId });
      await subscriber.expect("job.subscribed");
      store.held = submitter.sessionId;
      await test({ store, submitter, subscriber, jobId, release: () => release.resolve() });
      await submitter.close();
      await subscriber.close();
    } finally {
      release.resolve();
      await runtime.close();
      await server[Symbol.asyncDispose]();
    }
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(
  "a subscriber on another connection sees an event only once its append to the log completes",
  bounded(() =>
    withRuntime(async ({ store, submitter, subscriber, jobId, release }) => {
      const gate = Promise.withResolvers<void>();
      store.gate = gate.promise;
      release();
      await store.arrived.promise;
      // The event is emitted and its append waits: the subscriber has nothing yet.
      const before = await framesBeforeReply(subscriber).finally(() => gate.resolve());
      assert.deepEqual(before.filter((frame) => frame.job_id === jobId), []);
      const seen = await subscriber.until((frame) => frame.type === "job.result");
      assert.deepEqual(seen.filter((frame) => frame.job_id === jobId).map((f) => f.type), [
        "job.event",
        "job.result",
      ]);
      assert.ok(isHeld(seen[0]!));
      const own = await submitter.until((frame) => frame.type === "job.result");
      assert.ok(own.some(isHeld));
    }), 20_000),
);

Deno.test(
  "a subscriber never sees an event the log refused; it is told the subscription ended",
  bounded(() =>
    withRuntime(async ({ store, submitter, subscriber, jobId, release }) => {
      const gate = Promise.withResolvers<void>();
      store.gate = gate.promise;
      store.failing = true;
      release();
      await store.arrived.promise;
      gate.resolve();
      // The submitter's session cannot store its events: its connection ends.
      await submitter.ended();
      const seen = await subscriber.until((frame) =>
        frame.type === "session.error" || frame.type === "job.error" || frame.type === "job.result"
      );
      assert.deepEqual(seen.filter(isHeld), []);
      const last = seen.at(-1)!;
      assert.equal(last.type, "session.error", JSON.stringify(last));
      assert.equal(last.job_id, jobId);
      assert.match(payloadOf(last).message as string, /can no longer be stored/);
      // The subscriber's own session goes on.
      assert.deepEqual((await framesBeforeReply(subscriber)).filter(isHeld), []);
    }), 20_000),
);
