// The runtime store conformance suite against real IndexedDB in headless
// Chromium: store_page.ts runs every case in the page (see _chromium.ts for
// how it is bundled, served and opened) and the test checks each passed.

import assert from "node:assert/strict";
import { openPage, skipWithoutChromium } from "./_chromium.ts";
import type { CaseResult } from "./store_page.ts";

/** The whole suite in the page, both variants; it takes a few seconds. */
const SUITE_TIMEOUT_MS = 90_000;

Deno.test({
  name: "IndexedDbStore passes the runtime store conformance suite in headless Chromium",
  ignore: skipWithoutChromium("IndexedDbStore in Chromium"),
  async fn() {
    await using host = await openPage(new URL("./store_page.ts", import.meta.url), {
      title: "IndexedDbStore conformance",
    });
    await host.page.goto(host.url.href);
    const results = await host.result<CaseResult[]>(SUITE_TIMEOUT_MS);

    const failed = results.filter((result) => !result.ok);
    assert.deepEqual(
      failed.map((result) => result.name),
      [],
      `${failed.length} of ${results.length} cases failed in Chromium:\n` +
        failed.map((result) => `- ${result.name}\n    ${result.error}`).join("\n"),
    );
    assert.ok(results.length > 0, "the page ran no cases");
    assert.deepEqual(host.problems, [], "errors in the page");
    const ms = results.reduce((sum, result) => sum + result.ms, 0);
    console.log(`${results.length} cases passed in Chromium's IndexedDB in ${ms} ms`);
  },
});
