// The runtime in headless Chromium: runtime_page.ts runs a Runtime on the
// page's IndexedDB and serves a client of the same page over the memory
// transport; this test checks the job streamed, ended, and was stored.

import assert from "node:assert/strict";
import { openPage, skipWithoutChromium } from "./_chromium.ts";
import type { RuntimePageResult } from "./runtime_page.ts";

Deno.test({
  name: "a runtime in Chromium on IndexedDB serves a client of the same page",
  ignore: skipWithoutChromium("the runtime in Chromium"),
  async fn() {
    await using host = await openPage(new URL("./runtime_page.ts", import.meta.url), {
      title: "ARCP runtime in the page",
    });
    await host.page.goto(host.url.href);
    const seen = await host.result<RuntimePageResult>();

    assert.match(seen.sessionId, /^sess_/);
    assert.deepEqual(seen.events, [
      ...[1, 2, 3, 4].map((current) => ({ kind: "progress", body: { current, total: 4 } })),
      {
        kind: "log",
        body: { level: "info", message: "counted in the page", attributes: { n: 4 } },
      },
    ]);
    assert.deepEqual(seen.result, { counted: 4 });
    assert.deepEqual(seen.stored, {
      status: "success",
      agent: "count",
      terminal: "job.result",
      lastSeq: seen.lastEventSeq,
    });
    assert.deepEqual(host.problems, [], "errors in the page");
  },
});
