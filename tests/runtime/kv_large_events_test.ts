// Events over Deno KV's 64 KiB value limit, end to end: a streamed result at
// the default chunk size (64 KiB of bytes, base64 in each event) and a long
// log line reach the client whole and in order from a runtime on Deno KV.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { Runtime, staticTokens } from "../../runtime.ts";
import { openDenoKvStore } from "../../store/deno_kv.ts";
import { memoryTransportPair } from "../../transports/memory.ts";

Deno.test("a runtime on Deno KV streams a 300 KB result in default-size chunks and a 100 KB log line", async () => {
  const store = await openDenoKvStore(":memory:");
  const payload = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251);
  const line = "z".repeat(100_000);
  const runtime = new Runtime({
    store,
    authenticate: staticTokens({ t: "alice" }),
    agents: [{
      name: "big",
      handler: async (_input: unknown, ctx) => {
        await ctx.log("info", line);
        const writer = ctx.resultStream().getWriter();
        await writer.write(payload);
        await writer.close();
        return "done";
      },
    }],
  });
  try {
    const [clientSide, runtimeSide] = memoryTransportPair();
    void runtime.accept(runtimeSide);
    await using client = await connect(clientSide, { token: "t" });
    const job = await client.submit("big");
    const kinds: string[] = [];
    for await (const event of job) {
      kinds.push(event.payload.kind);
      if (event.payload.kind === "log") assert.equal(event.payload.body.message, line);
    }
    assert.deepEqual(await job.resultBytes(), payload);
    assert.equal(kinds[0], "log");
    assert.ok(kinds.filter((kind) => kind === "result_chunk").length >= 5);
    // What a resuming client would be replayed is whole too.
    const stored = [];
    for await (const event of store.read(client.sessionId, { after: 0 })) stored.push(event);
    assert.equal((stored[0]!.payload as { body: { message: string } }).body.message, line);
  } finally {
    await runtime.close();
    await store.close();
  }
});
