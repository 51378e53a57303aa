// A connection the runtime drops for a reason is told that reason first, as
// a session.error, over a real WebSocket on 127.0.0.1: the client's
// ConnectionClosedError then carries the code and message.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { ConnectionClosedError } from "../../protocol/errors.ts";
import { Runtime, staticTokens } from "../../runtime.ts";
import { DenoKvStore } from "../../store/deno_kv.ts";
import type { StoredEvent } from "../../store/types.ts";
import { bounded, serveHttp, TOKENS } from "../_helpers.ts";

/** A Deno KV store whose log appends fail for good once `failing` is set. */
class FailingLogStore extends DenoKvStore {
  failing = false;
  override compareAndAppend(sessionId: string, events: readonly StoredEvent[]): Promise<number> {
    if (this.failing) return Promise.reject(new Error("disk full"));
    return super.compareAndAppend(sessionId, events);
  }
}

Deno.test(
  "a session whose store fails for good is dropped with a session.error: the client's error carries INTERNAL_ERROR and why",
  bounded(async () => {
    const dir = await Deno.makeTempDir({ prefix: "arcp-dropped-" });
    const kv = await Deno.openKv(`${dir}/runtime.kv`);
    try {
      const store = new FailingLogStore(kv);
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
            return null;
          },
        }],
        upgradeWebSocket: (request) => Deno.upgradeWebSocket(request),
        logger: { debug() {}, warn() {}, error() {} },
      });
      await using server = await serveHttp(runtime.fetch);
      try {
        const client = await connect(`ws://127.0.0.1:${server.port}/arcp`, {
          token: "t-alice",
          reconnect: false,
        });
        const job = await client.submit("ticker");
        const reader = job.events.getReader();
        await reader.read();
        reader.releaseLock();
        store.failing = true;
        const error = await job.result.then(
          () => assert.fail("the job cannot succeed"),
          (error: unknown) => error,
        );
        assert.ok(error instanceof ConnectionClosedError, String(error));
        assert.equal(error.code, "INTERNAL_ERROR");
        assert.match(error.message, /Cannot store the events of session .*: disk full/);
        await client.close().catch(() => {});
      } finally {
        await runtime.close();
      }
    } finally {
      kv.close();
      await Deno.remove(dir, { recursive: true });
    }
  }, 20_000),
);
