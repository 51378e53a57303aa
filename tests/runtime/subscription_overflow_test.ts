// A subscriber that stops acknowledging fills its session's buffer: the
// runtime ends the subscription, tells it with a session.error naming the
// job, and the job and its submitter go on (spec 1.1 §7.6, 1.0 §14).

import assert from "node:assert/strict";
import { ArcpError } from "../../protocol/errors.ts";
import type { AgentContext } from "../../runtime.ts";
import { bounded, startHarness } from "../_helpers.ts";

Deno.test(
  "a subscription whose buffer overflows ends with INTERNAL_ERROR on the subscriber; the job goes on",
  bounded(async () => {
    const release = Promise.withResolvers<void>();
    await using h = await startHarness("memory", {
      agents: [{
        name: "chatty",
        handler: async (_input: unknown, ctx: AgentContext) => {
          await release.promise;
          for (let i = 0; i < 200; i++) await ctx.log("info", `line ${i}`);
          return { lines: 200 };
        },
      }],
      runtime: { maxBufferedEvents: 50, ackWindow: 20, subscribePolicy: () => true },
    });
    const alice = await h.connect();
    const bob = await h.connect({ token: "t-bob", autoAck: false });
    const job = await alice.submit("chatty");
    const watched = await bob.subscribe(job.jobId);
    release.resolve();
    let read = 0;
    for await (const _ of job) read++;
    assert.deepEqual((await job.result).result, { lines: 200 });
    assert.equal(read, 200);
    await assert.rejects(watched.result, (error: unknown) => {
      assert.ok(error instanceof ArcpError);
      assert.equal(error.code, "INTERNAL_ERROR");
      assert.match(error.message, /buffer is full/);
      return true;
    });
  }),
);
