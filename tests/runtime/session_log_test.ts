// Which log a runtime's sessions write is chosen once, from the store: the
// shared log when it offers compare-and-append, else the single-writer log,
// which stores each batch with a plain append, gap-free and in order.

import assert from "node:assert/strict";
import { Runtime, staticTokens, systemClock } from "../../runtime.ts";
import { MemoryStore } from "../../store/memory.ts";
import { DenoKvStore } from "../../store/deno_kv.ts";
import type { RuntimeStore } from "../../store/types.ts";
import { webSocketTransport } from "../../transports/websocket.ts";
import { sessionLogs } from "../../runtime/_session_logs.ts";
import { SharedLog } from "../../runtime/_session_log_shared.ts";
import { SingleWriterLog } from "../../runtime/_session_log_single.ts";
import type { LogSink } from "../../runtime/_session_log.ts";
import { bounded, rawOver, serveHttp, socketOpened, TOKENS } from "../_helpers.ts";
import { envelope } from "../_raw.ts";

/** `store` without `compareAndAppend`, counting the appends it takes. */
function singleWriter(store: RuntimeStore): { store: RuntimeStore; appends: number[] } {
  const appends: number[] = [];
  const view = new Proxy(store, {
    get(target, key) {
      if (key === "compareAndAppend") return undefined;
      if (key === "append") {
        return (sessionId: string, events: readonly { event_seq: number }[]) => {
          appends.push(events.length);
          return target.append(sessionId, events as never);
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: view, appends };
}

const sink: LogSink = {
  storedSeq: 0,
  stored() {},
  admit: (_last, rest) => rest,
  behind() {},
};

Deno.test("sessionLogs() gives the shared log only to a store with compareAndAppend", () => {
  const signal = new AbortController().signal;
  const memory = new MemoryStore();
  const shared = sessionLogs({
    log: memory,
    records: memory,
    pollMs: 1000,
    signal,
    clock: systemClock,
  });
  assert.ok(shared("s", sink) instanceof SharedLog);
  const { store } = singleWriter(memory);
  const single = sessionLogs({
    log: store,
    records: store,
    pollMs: 1000,
    signal,
    clock: systemClock,
  });
  assert.ok(single("s", sink) instanceof SingleWriterLog);
});

Deno.test(
  "over a Deno KV store without compareAndAppend, events are stored by append, gap-free, and resumed in order",
  bounded(async () => {
    const dir = await Deno.makeTempDir({ prefix: "arcp-session-log-" });
    const kv = await Deno.openKv(`${dir}/runtime.kv`);
    try {
      const { store, appends } = singleWriter(new DenoKvStore(kv));
      const runtime = new Runtime({
        store,
        authenticate: staticTokens({ ...TOKENS }),
        agents: [{
          name: "many",
          async handler(_input: unknown, ctx) {
            // Not awaited one by one: the session stores them in batches.
            await Promise.all(Array.from({ length: 600 }, (_, i) => ctx.log("info", `line ${i}`)));
            return "done";
          },
        }],
        upgradeWebSocket: (request) => Deno.upgradeWebSocket(request),
        logger: { debug() {}, warn() {}, error() {} },
      });
      await using server = await serveHttp(runtime.fetch);
      const open = async () => {
        const socket = new WebSocket(`ws://127.0.0.1:${server.port}/arcp`);
        await socketOpened(socket);
        return rawOver(webSocketTransport(socket));
      };
      try {
        const raw = await open();
        await raw.hello("t-alice");
        await raw.submit("many");
        const frames = await raw.until((frame) => frame.type === "job.result");
        const seqs = frames.flatMap((f) => typeof f.event_seq === "number" ? [f.event_seq] : []);
        assert.equal(seqs.length, 601);
        assert.deepEqual(seqs, Array.from({ length: 601 }, (_, i) => i + 1));
        assert.ok(appends.length < seqs.length, `batched: ${appends.length} appends`);
        await raw.close();

        const again = await open();
        await again.handshake(envelope("session.resume", {
          session_id: raw.sessionId,
          resume_token: raw.resumeToken,
          last_event_seq: 0,
        }));
        const replayed = await again.until((frame) => frame.type === "job.result");
        assert.deepEqual(replayed.map((f) => f.event_seq), seqs);
        await again.close();
      } finally {
        await runtime.close();
      }
    } finally {
      kv.close();
      await Deno.remove(dir, { recursive: true });
    }
  }, 30_000),
);
