// Runs every scenario of scenarios.ts over every transport.

import { SCENARIOS } from "./scenarios.ts";
import { bounded, TRANSPORT_KINDS } from "./_helpers.ts";

for (const kind of TRANSPORT_KINDS) {
  for (const scenario of SCENARIOS) {
    Deno.test(`${scenario.name} [${kind}]`, bounded(() => scenario.run(kind)));
  }
}
