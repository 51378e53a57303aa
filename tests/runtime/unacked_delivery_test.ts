// A client that did not negotiate `ack` receives jobs of any length: the
// transport paces the agent, and the session keeps only the latest
// maxBufferedEvents of what it delivered for resume (spec 1.1 §6.3, §6.5;
// 1.0 §14). A detached session holds its agents instead of growing, until a
// client resumes or its resume window passes.

import assert from "node:assert/strict";
import type { RuntimeStore } from "../../store/types.ts";
import { Runtime, type RuntimeOptions, staticTokens } from "../../runtime.ts";
import { openDenoKvStore } from "../../store/deno_kv.ts";
import type { Frame } from "../../transports/types.ts";
import { webSocketTransport } from "../../transports/websocket.ts";
import { TestClock } from "../_clock.ts";
import {
  bounded,
  eventually,
  type RawConnection,
  rawOver,
  serveHttp,
  socketClosed,
  socketOpened,
  startHarness,
  TOKEN,
} from "../_helpers.ts";
import {
  isTerminal,
  pausingAgent,
  type PausingInput,
  payloadOf,
  progressOf,
  range,
  resumeOf,
  seqsOf,
} from "../scenarios/_shared.ts";

Deno.test(
  "without ack, a job of 5,000 events passes a 1,000-event buffer whole and in order; a resume from before the trimmed log is RESUME_WINDOW_EXPIRED",
  bounded(async () => {
    const agent = pausingAgent();
    await using h = await startHarness("websocket", {
      agents: [agent.definition],
      runtime: { maxBufferedEvents: 1_000 },
    });
    const raw = await h.raw();
    await raw.hello(TOKEN, { features: [] });
    const frames = await raw.run("stream", { n: 5_000 } satisfies PausingInput);
    assert.equal(frames.at(-1)!.type, "job.result", JSON.stringify(frames.at(-1)));
    assert.deepEqual(progressOf(frames), range(1, 5_000));
    assert.deepEqual(seqsOf(frames), range(1, 5_001));
    assert.deepEqual(agent.state.emitErrors, []);

    // The log keeps at most the latest 1,000 events.
    await h.store.trimmedThrough(raw.sessionId!, 5_001 - 1_000);
    const { first, last } = await h.store.bounds(raw.sessionId!);
    assert.equal(last, 5_001);
    assert.ok(last - first + 1 <= 1_000, `the log holds ${first} to ${last}`);

    const early = await h.raw();
    await early.send(resumeOf(raw, 10));
    const expired = await early.expectError("RESUME_WINDOW_EXPIRED");
    assert.match(expired.message as string, /Cannot resume after event_seq 10/);
    assert.equal(await early.next(), undefined, "the connection is closed");

    // What the log still holds is replayed.
    const late = await h.raw();
    await late.handshake(resumeOf(raw, 4_901));
    assert.deepEqual(seqsOf(await late.until((f) => f.event_seq === 5_001)), range(4_902, 5_001));
  }),
);

/** `store`, except that it never deletes a session (nor so its log). */
function keepingSessions(store: RuntimeStore): RuntimeStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === "deleteSession") return () => Promise.resolve();
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A runtime on a Deno KV file in a fresh directory, served over WebSocket on 127.0.0.1. */
async function servedOnKv(options: Partial<RuntimeOptions>, { keepExpired = false } = {}) {
  const dir = await Deno.makeTempDir({ prefix: "arcp-delivery-" });
  const store = await openDenoKvStore(`${dir}/runtime.kv`);
  const runtime = new Runtime({
    ...options,
    // An expired session's log is deleted a resume window after its last job
    // ends; a test that reads the log afterwards keeps it.
    store: keepExpired ? keepingSessions(store) : store,
    authenticate: staticTokens({ [TOKEN]: "alice" }),
    upgradeWebSocket: Deno.upgradeWebSocket,
  });
  const server = await serveHttp(runtime.fetch);
  const { port } = server;
  const sockets: WebSocket[] = [];
  return {
    store,
    async raw(): Promise<RawConnection> {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/arcp`);
      sockets.push(socket);
      await socketOpened(socket);
      return rawOver(webSocketTransport(socket));
    },
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.close();
      await Promise.all(sockets.map(socketClosed));
      await runtime.close();
      await server[Symbol.asyncDispose]();
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Runs `stream` to its pause after event 50 on a connection without ack,
 * then drops the connection and waits until the runtime stored the session
 * as detached.
 */
async function detachedAt50(served: Awaited<ReturnType<typeof servedOnKv>>) {
  const first = await served.raw();
  await first.hello(TOKEN, { features: [] });
  await first.submit("stream", { n: 1_000, pauses: [50] } satisfies PausingInput);
  const jobId = (await first.expect("job.accepted")).job_id as string;
  await first.until((f) => f.event_seq === 50);
  await first.close();
  await eventually(
    async () => (await served.store.getSession(first.sessionId!))?.detached_at != null,
    "the session to be stored detached",
  );
  return { first, jobId };
}

Deno.test(
  "without a client, a session's agents wait past three quarters of maxBufferedEvents; a resume gets every event once and the job completes",
  bounded(async () => {
    const agent = pausingAgent();
    await using served = await servedOnKv({ agents: [agent.definition], maxBufferedEvents: 200 });
    const { first } = await detachedAt50(served);
    agent.release(0);
    // Held 150 events (three quarters of the cap) past what the dropped connection took.
    await eventually(
      async () => (await served.store.bounds(first.sessionId!)).last >= 200,
      "the agent to run on",
    );
    assert.equal(agent.state.finished, 0, "the agent is held while no client takes its events");
    assert.ok((await served.store.bounds(first.sessionId!)).last <= 201);

    const second = await served.raw();
    await second.handshake(resumeOf(first, 50));
    const frames = await second.until(isTerminal);
    assert.equal(frames.at(-1)!.type, "job.result", JSON.stringify(frames.at(-1)));
    assert.deepEqual(progressOf(frames), range(51, 1_000));
    assert.deepEqual(seqsOf(frames), range(51, 1_001));
    assert.deepEqual(agent.state.emitErrors, []);
  }),
);

Deno.test(
  "a session left without a client past its resume window ends its held job with INTERNAL_ERROR naming the cap; nothing is dropped",
  bounded(async () => {
    const agent = pausingAgent();
    const clock = new TestClock();
    await using served = await servedOnKv({
      agents: [agent.definition],
      maxBufferedEvents: 200,
      resumeWindowSec: 1,
      clock,
    }, { keepExpired: true });
    const { first, jobId } = await detachedAt50(served);
    agent.release(0);
    let terminal: Record<string, unknown> | undefined;
    await eventually(async () => {
      // The resume window passes on the clock (again, if the detach came late).
      await clock.advance(1_000);
      terminal = (await served.store.getJob(jobId))?.terminal;
      return terminal !== undefined;
    }, "the held job to end");
    assert.equal(terminal!.type, "job.error");
    assert.equal(payloadOf(terminal as Frame).code, "INTERNAL_ERROR");
    assert.match(
      payloadOf(terminal as Frame).message as string,
      /buffer is full.*resume window.*maxBufferedEvents is 200/,
    );
    // The end is stored on the job before it is appended to the log.
    const endSeq = (terminal as Frame).event_seq as number;
    await eventually(
      async () => (await served.store.bounds(first.sessionId!)).last >= endSeq,
      "the end to be logged",
    );
    // Every event before the end is in the log, after the 50 the client read.
    const stored: number[] = [];
    for await (const event of served.store.read(first.sessionId!, { after: 50 })) {
      stored.push(event.event_seq);
    }
    assert.deepEqual(stored, range(51, stored.at(-1)!));
    assert.equal(stored.at(-1), (terminal as Frame).event_seq);
  }),
);
