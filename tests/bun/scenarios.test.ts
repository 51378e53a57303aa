// The scenario suite under `bun test`: the same scenarios/*.ts files that
// tests/scenarios_test.ts runs under Deno, with the harness serving its
// "websocket" kind through transports/bun.ts. The Deno suite runs this
// directory (tests/transports/bun_test.ts); by hand, with the npm
// dependencies resolvable by Bun: `bun test tests/bun/`.

import { test } from "node:test";
import { SCENARIOS } from "../scenarios.ts";
import { bounded, TRANSPORT_KINDS } from "../_helpers.ts";

for (const kind of TRANSPORT_KINDS) {
  for (const scenario of SCENARIOS) {
    test(`${scenario.name} [${kind}]`, { timeout: 15_000 }, bounded(() => scenario.run(kind)));
  }
}
