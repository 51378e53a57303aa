// Revocation survives a crash (spec 1.1 §14): a real runtime process with a
// Deno KV store issues credentials at a key gateway, is killed with SIGKILL,
// and once started again on the same file revokes every credential it left
// live, without any client connecting.

import assert from "node:assert/strict";
import { connect } from "../client.ts";
import { eventually } from "./_helpers.ts";
import { startListening } from "./_serve.ts";

const fixture = new URL("./fixtures/credential_runtime.ts", import.meta.url).pathname;

/** A key gateway: PUT mints a key, DELETE revokes it, unless told to answer 503. */
function startGateway() {
  const live = new Map<string, string>();
  const revocationAttempts: string[] = [];
  const state = { failing: false };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const id = new URL(request.url).pathname.split("/").at(-1)!;
    if (request.method === "PUT") {
      const key = `sk-gw-${crypto.randomUUID()}`;
      live.set(id, key);
      return Response.json({ key });
    }
    revocationAttempts.push(id);
    if (state.failing) return new Response("unavailable", { status: 503 });
    live.delete(id);
    return new Response(null, { status: 204 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    live,
    revocationAttempts,
    state,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

Deno.test("credentials left live by a killed runtime are revoked when it restarts on its Deno KV file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "arcp-credential-restart-" });
  const kvPath = `${dir}/runtime.kv`;
  await using gateway = startGateway();
  let runtime = await startListening([fixture, kvPath, gateway.url]);
  try {
    const client = await connect(runtime.url, { token: "t-alice", reconnect: false });
    // One job ends while the gateway refuses revocations; one is running at the crash.
    gateway.state.failing = true;
    const finished = await client.submit("hold", { ms: 1 });
    await finished.result;
    const running = await client.submit("hold", {});
    const ids = [finished, running].map((job) => job.accepted.job_id);
    assert.equal(ids.length, 2);
    assert.equal(gateway.live.size, 2);
    await eventually(
      () => Promise.resolve(gateway.revocationAttempts.length >= 2),
      "the runtime to retry the finished job's revocation",
    );
    await runtime.kill();
    assert.equal(gateway.live.size, 2, "nothing revoked the credentials before the crash");

    gateway.state.failing = false;
    runtime = await startListening([fixture, kvPath, gateway.url]);
    await eventually(
      () => Promise.resolve(gateway.live.size === 0),
      "the restarted runtime to revoke both credentials",
      10_000,
    );
    await client.close().catch(() => {});
  } finally {
    await runtime.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
