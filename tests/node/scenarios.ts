// The scenario suite on Node.js: the runtime hosted through Hono's Node.js
// server and WebSocket adapters (_hono_node.ts), a client on Node's own
// WebSocket and fetch, over both bindings. tests/transports/node_test.ts
// bundles this file for Node.js and runs it with `node --test`.

import { test } from "node:test";
import { SCENARIOS } from "../scenarios.ts";
import { bounded, useTestHost } from "../_helpers.ts";
import { honoNodeHost } from "./_hono_node.ts";

useTestHost(honoNodeHost);

for (const kind of ["websocket", "http"] as const) {
  for (const scenario of SCENARIOS) {
    test(`${scenario.name} [${kind}]`, { timeout: 30_000 }, bounded(() => scenario.run(kind)));
  }
}
