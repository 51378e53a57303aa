// The runtime hosted on Node.js 22 through Hono's Node.js server and
// WebSocket adapters (`@hono/node-server`, `@hono/node-ws`, mounted with
// hono.ts), run from the Deno suite: the scenario suite under `node --test`,
// with clients on Node's own WebSocket and fetch, over both bindings.
// Skipped, with a warning, where Node.js 22 is not installed (see
// tests/_node.ts).

import assert from "node:assert/strict";
import { bundleForNode, NODE } from "../_node.ts";
import { SCENARIOS } from "../scenarios.ts";

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
