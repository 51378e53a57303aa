// Runs every scenario of scenarios.ts over every transport.

import { NOT_YET_IMPLEMENTED, SCENARIOS } from "./scenarios.ts";
import { bounded, TRANSPORT_KINDS } from "./_helpers.ts";

for (const kind of TRANSPORT_KINDS) {
  for (const scenario of SCENARIOS) {
    Deno.test(`${scenario.name} [${kind}]`, bounded(() => scenario.run(kind)));
  }
  for (const scenario of NOT_YET_IMPLEMENTED) {
    Deno.test({
      name: `${scenario.name} [${kind}] (not implemented yet)`,
      ignore: true,
      fn: bounded(() => scenario.run(kind)),
    });
  }
}
