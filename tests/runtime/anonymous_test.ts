import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { Runtime } from "../../runtime.ts";
import { anonymous } from "../../runtime/auth.ts";
import { memoryTransportPair } from "../../transports/memory.ts";
import { bounded } from "../_helpers.ts";

Deno.test("anonymous() makes every hello the anonymous principal, token or not", async () => {
  const authenticate = anonymous();
  for (
    const auth of [
      { scheme: "bearer", token: undefined },
      { scheme: "bearer", token: "anything" },
      { scheme: undefined, token: undefined },
      { scheme: "basic", token: "" },
    ]
  ) {
    assert.deepEqual(await authenticate(auth), { id: "anonymous" });
  }
});

Deno.test("anonymous() uses the given principal", async () => {
  const authenticate = anonymous({ principal: "guest" });
  assert.deepEqual(await authenticate({ scheme: "bearer", token: undefined }), { id: "guest" });
});

Deno.test("anonymous() refuses an empty principal", () => {
  assert.throws(() => anonymous({ principal: "" }), TypeError);
});

Deno.test(
  "a runtime with anonymous() serves clients without a token, all as one principal",
  bounded(async () => {
    await using runtime = new Runtime({
      authenticate: anonymous(),
      agents: [{ name: "whoami", handler: (_input, ctx) => Promise.resolve(ctx.principal.id) }],
    });
    const [firstClient, firstRuntime] = memoryTransportPair();
    const [secondClient, secondRuntime] = memoryTransportPair();
    runtime.accept(firstRuntime);
    runtime.accept(secondRuntime);
    await using first = await connect(firstClient);
    await using second = await connect(secondClient, { token: "ignored" });
    const job = await first.submit("whoami");
    assert.equal((await job.result).result, "anonymous");
    // The sessions share a principal, so one sees the other's jobs.
    const listed: string[] = [];
    for await (const page of second.listJobs()) listed.push(...page.jobs.map((j) => j.job_id));
    assert.ok(listed.includes(job.jobId));
  }),
);
