// The client in headless Chromium against a runtime in this Deno process,
// over a real WebSocket on 127.0.0.1: client_page.ts submits, streams,
// cancels and meets errors (AGENT_NOT_AVAILABLE, an agent that throws), and
// this test checks what it saw.

import assert from "node:assert/strict";
import { demoAgents } from "../../cli/demo_agents.ts";
import { Runtime, staticTokens } from "../../runtime.ts";
import { MemoryStore } from "../../store/memory.ts";
import { openPage, skipWithoutChromium } from "./_chromium.ts";
import type { ClientPageResult } from "./client_page.ts";

const TOKEN = "t-browser";

Deno.test({
  name: "a client in Chromium submits, streams, cancels and gets errors over a WebSocket",
  ignore: skipWithoutChromium("the client in Chromium"),
  async fn() {
    const store = new MemoryStore();
    let upgrades = 0;
    await using runtime = new Runtime({
      authenticate: staticTokens({ [TOKEN]: "browser" }),
      agents: demoAgents(),
      store,
      upgradeWebSocket(request) {
        upgrades++;
        return Deno.upgradeWebSocket(request);
      },
    });
    await using host = await openPage(new URL("./client_page.ts", import.meta.url), {
      title: "ARCP client over WebSocket",
      handler: runtime.fetch,
    });
    // A port nothing listens on (it was free a moment ago).
    const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const refused = free.addr.port;
    free.close();
    await host.page.goto(new URL(`?token=${TOKEN}&refused=${refused}`, host.url).href);
    const seen = await host.result<ClientPageResult>();

    assert.match(seen.sessionId, /^sess_/);
    assert.ok(await store.getSession(seen.sessionId), "the runtime knows the page's session");
    assert.equal(upgrades, 1, "one WebSocket, never reconnected");
    assert.deepEqual(new Set(seen.agents), new Set(demoAgents().map((agent) => agent.name)));

    assert.equal(seen.count.agent, "count");
    assert.deepEqual(
      seen.count.events,
      [1, 2, 3, 4, 5].map((current) => ({
        kind: "progress",
        body: { current, total: 5, units: "steps" },
      })),
    );
    assert.deepEqual(seen.count.result, { count: 5 });

    assert.equal(seen.cancel.firstEvent, "status");
    assert.equal(seen.cancel.error.arcpError, true);
    assert.equal(seen.cancel.error.code, "CANCELLED");
    assert.equal(seen.cancel.error.message, "cancelled by the page");
    assert.equal(seen.cancel.eventsAfterCancel, 0);

    assert.equal(seen.unknownAgent.arcpError, true);
    assert.equal(seen.unknownAgent.code, "AGENT_NOT_AVAILABLE");
    assert.match(seen.unknownAgent.message, /no-such-agent/);

    assert.equal(seen.failing.arcpError, true);
    assert.equal(seen.failing.code, "INTERNAL_ERROR");
    assert.match(seen.failing.message, /boom in the page/);

    // Chromium's WebSocket does not say why it failed: the HTTP request that follows does.
    const origin = new URL(host.url).host;
    assert.equal(
      seen.wrongPath.message,
      `Cannot connect to ws://${origin}/wrong: HTTP 404 Not Found: ${origin} serves nothing at ` +
        `/wrong (wrong path? an ARCP runtime usually serves /arcp)`,
    );
    assert.match(
      seen.refused.message,
      new RegExp(
        `^Cannot connect to ws://127\\.0\\.0\\.1:${refused}/arcp: cannot reach 127\\.0\\.0\\.1:${refused} \\(`,
      ),
    );

    // What Chromium logs for the two failed connections and their HTTP requests, and only that.
    const expected = [
      `WebSocket connection to 'ws://${origin}/wrong' failed: `,
      "Failed to load resource: the server responded with a status of 404 (Not Found)",
      `WebSocket connection to 'ws://127.0.0.1:${refused}/arcp' failed: `,
      "Failed to load resource: net::ERR_CONNECTION_REFUSED",
    ];
    assert.deepEqual(
      host.problems.filter((problem) => !expected.some((text) => problem.includes(text))),
      [],
      "errors in the page",
    );
  },
});
