// The SDK under Bun, run from the Deno suite: `bun test tests/bun/` (the
// scenario suite and serveBun() on a real Bun.serve), then Deno and Bun on
// the two ends of one WebSocket, each way round. Skipped, with a warning,
// where Bun is not installed (see tests/_bun.ts).

import assert from "node:assert/strict";
import { BUN, bunWorkspace, startBunServer } from "../_bun.ts";
import { TRANSPORT_KINDS } from "../_helpers.ts";
import { SCENARIOS } from "../scenarios.ts";
import { crossRuntime, EXPECTED_SUMMARY, runClientSession } from "../bun/_cross.ts";

const ignore = BUN === undefined;

Deno.test({
  name: "bun test tests/bun/ passes: every scenario and the Bun server adapter under Bun",
  ignore,
  async fn() {
    await using workspace = await bunWorkspace();
    const { code, stdout, stderr } = await workspace.run(["test", "tests/bun/"]);
    const output = `${stdout}${stderr}`;
    assert.equal(code, 0, `bun test failed:\n${output}`);
    const passed = Number(/^\s*(\d+) pass$/m.exec(output)?.[1] ?? 0);
    assert.match(output, /^\s*0 fail$/m, output);
    assert.ok(
      passed > SCENARIOS.length * TRANSPORT_KINDS.length,
      `expected every scenario over every transport to pass, got ${passed}:\n${output}`,
    );
  },
});

Deno.test({
  name: "a Deno client runs jobs, streams, cancels and gets errors from a runtime Bun serves",
  ignore,
  async fn() {
    await using workspace = await bunWorkspace();
    const server = await startBunServer(workspace);
    try {
      assert.deepEqual(await runClientSession(server.url), EXPECTED_SUMMARY);
      // Closing stdin asks the server to close its runtime and stop serving.
      const { code, stdout, stderr } = await server.stop();
      assert.equal(code, 0, `the Bun server failed:\n${stdout}${stderr}`);
      assert.match(stdout, /^stopped$/m);
    } finally {
      await server.kill();
    }
  },
});

Deno.test({
  name: "a Bun client runs jobs, streams, cancels and gets errors from a runtime Deno serves",
  ignore,
  async fn() {
    await using runtime = crossRuntime({ upgradeWebSocket: Deno.upgradeWebSocket });
    const listening = Promise.withResolvers<Deno.NetAddr>();
    await using _server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: listening.resolve },
      runtime.fetch,
    );
    const { port } = await listening.promise;
    await using workspace = await bunWorkspace();
    const { code, stdout, stderr } = await workspace.run([
      "tests/bun/fixture_client.ts",
      `ws://127.0.0.1:${port}/arcp`,
    ]);
    assert.equal(code, 0, `the Bun client failed:\n${stdout}${stderr}`);
    assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1)!), EXPECTED_SUMMARY);
  },
});
