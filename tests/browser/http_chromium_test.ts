// The client in headless Chromium over the HTTP binding (docs/http-binding.md)
// against a runtime in this Deno process on 127.0.0.1, which refuses every
// WebSocket upgrade: http_page.ts runs a streamed and a cancelled job with
// `transport: "http"`, then with the default `"auto"`, which falls back.

import assert from "node:assert/strict";
import { demoAgents } from "../../cli/demo_agents.ts";
import { Runtime, staticTokens } from "../../runtime.ts";
import { openPage, skipWithoutChromium } from "./_chromium.ts";
import type { HttpPageResult } from "./http_page.ts";

const TOKEN = "t-browser-http";

Deno.test({
  name: "a client in Chromium runs jobs over the HTTP binding, and falls back to it when the " +
    "WebSocket upgrade is refused",
  ignore: skipWithoutChromium("the client in Chromium over HTTP"),
  async fn() {
    // No upgradeWebSocket: runtime.fetch answers every upgrade 501.
    await using runtime = new Runtime({
      authenticate: staticTokens({ [TOKEN]: "browser" }),
      agents: demoAgents(),
    });
    let upgrades = 0;
    let streams = 0;
    await using host = await openPage(new URL("./http_page.ts", import.meta.url), {
      title: "ARCP client over HTTP",
      handler(request) {
        if (request.headers.get("upgrade") === "websocket") upgrades++;
        else if (request.method === "POST" && !request.headers.has("arcp-stream")) streams++;
        return runtime.fetch(request);
      },
    });
    await host.page.goto(new URL(`?token=${TOKEN}`, host.url).href);
    const seen = await host.result<HttpPageResult>();

    for (const [name, session] of Object.entries(seen)) {
      assert.match(session.sessionId, /^sess_/, name);
      assert.deepEqual(session.counts, [1, 2, 3, 4, 5], name);
      assert.deepEqual(session.result, { count: 5 }, name);
      assert.equal(session.cancelCode, "CANCELLED", name);
    }
    assert.notEqual(seen.http.sessionId, seen.auto.sessionId);
    assert.equal(upgrades, 1, "only the auto client tried a WebSocket");
    assert.equal(streams, 2, "one event stream per client, never reopened");
  },
});
