// The runtime hosted on Node.js 22 through Hono's Node.js server and
// WebSocket adapters (`@hono/node-server`, `@hono/node-ws`, mounted with
// hono.ts), run from the Deno suite: the scenario suite under `node --test`,
// with clients on Node's own WebSocket and fetch, over both bindings; and a
// Deno client against such a runtime in a Node.js process.
// Skipped, with a warning, where Node.js 22 is not installed (see
// tests/_node.ts).

import assert from "node:assert/strict";
import { fixtureServer } from "../_bun.ts";
import { bundleForNode, NODE } from "../_node.ts";
import { SCENARIOS } from "../scenarios.ts";
import { EXPECTED_SUMMARY, runClientSession } from "../bun/_cross.ts";

Deno.test({
  name: "every scenario passes over both bindings against a runtime Hono hosts on Node.js 22",
  ignore: NODE === undefined,
  async fn() {
    await using bundle = await bundleForNode("tests/node/scenarios.ts");
    const { code, stdout, stderr } = await new Deno.Command(NODE!, {
      args: ["--test", "--test-reporter=tap", bundle.path],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, `node --test failed:\n${output}`);
    assert.match(output, /^# fail 0$/m, output);
    const passed = Number(/^# pass (\d+)$/m.exec(output)?.[1] ?? 0);
    assert.equal(passed, SCENARIOS.length * 2, `every scenario over both bindings:\n${output}`);
  },
});

Deno.test({
  name: "a Deno client runs jobs over both bindings from a runtime Hono hosts on Node.js 22",
  ignore: NODE === undefined,
  async fn() {
    await using bundle = await bundleForNode("tests/node/fixture_server.ts");
    const server = await fixtureServer(
      new Deno.Command(NODE!, {
        args: [bundle.path],
        env: { NO_COLOR: "1" },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn(),
    );
    try {
      assert.deepEqual(await runClientSession(server.url), EXPECTED_SUMMARY);
      const http = server.url.replace(/^ws:/, "http:");
      assert.deepEqual(await runClientSession(http, { transport: "http" }), EXPECTED_SUMMARY);
      // Closing stdin asks the server to close its runtime and stop serving.
      const { code, stdout, stderr } = await server.stop();
      assert.equal(code, 0, `the Node.js server failed:\n${stdout}${stderr}`);
      assert.match(stdout, /^stopped$/m);
    } finally {
      await server.kill();
    }
  },
});
