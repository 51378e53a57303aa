// A subscriber that joins a job after some chunks of its streamed result went
// by (spec 1.1 §7.6, §8.4): the job's success reaches it, and the result's
// bytes are refused as unavailable to it, not as a corrupt stream. Over a
// real WebSocket on 127.0.0.1.

import assert from "node:assert/strict";
import type { AgentContext } from "../../runtime/context.ts";
import { bounded, startHarness } from "../_helpers.ts";

const WHOLE = "first half, second half";

Deno.test(
  "a subscriber joining mid-stream gets the job's success, and RESUME_WINDOW_EXPIRED for its bytes",
  bounded(async () => {
    const gate = Promise.withResolvers<void>();
    // Chunk 0 goes before the gate opens, the others after.
    const halves = async (_input: unknown, ctx: AgentContext) => {
      const writer = ctx.resultStream({ encoding: "utf8" }).getWriter();
      await writer.write(WHOLE.slice(0, 12));
      await gate.promise;
      await writer.write(WHOLE.slice(12));
      await writer.close();
      return "two halves";
    };
    await using harness = await startHarness("websocket", {
      runtime: { resultChunkBytes: 8 },
      agents: [{ name: "halves", handler: halves }],
    });
    const submitter = await harness.connect();
    const job = await submitter.submit("halves");
    const events = job[Symbol.asyncIterator]();
    assert.equal((await events.next()).value?.payload.kind, "result_chunk");

    const late = await (await harness.connect()).subscribe(job.jobId);
    const replayed = await (await harness.connect()).subscribe(job.jobId, { history: true });
    gate.resolve();

    assert.equal((await job.result).summary, "two halves");
    assert.equal(await job.resultText(), WHOLE);
    assert.equal(await replayed.resultText(), WHOLE);
    const result = await late.result;
    assert.equal(result.summary, "two halves");
    assert.equal(result.result_size, WHOLE.length);
    await assert.rejects(late.resultBytes(), {
      name: "ArcpError",
      code: "RESUME_WINDOW_EXPIRED",
      message: `Streamed result ${result.result_id} is not available to this subscriber: ` +
        `chunk 0 was emitted before the events it received (subscribe with history while ` +
        `the runtime still holds the job's events)`,
    });
  }),
);
