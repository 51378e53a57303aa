// How long the client tries to resume a lost session: `ReconnectOptions`'
// `maxElapsedMs` and `maxAttempts` bound it, after which everything pending
// rejects with a message naming the bound and the last failure. Over real
// WebSockets on 127.0.0.1.

import assert from "node:assert/strict";
import { connect, type ReconnectOptions } from "../../client.ts";
import { ConnectionClosedError } from "../../protocol/errors.ts";
import { bounded, envelope, serveHttp } from "../_helpers.ts";

/**
 * A runtime that welcomes one session, drops the connection at once and
 * answers every later connection with HTTP 503: one that went away and does
 * not come back.
 */
async function vanishingRuntime() {
  let served = 0;
  return await serveHttp((request) => {
    if (served++ > 0) return new Response("gone\n", { status: 503 });
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = () => {
      socket.send(JSON.stringify(envelope("session.welcome", {
        runtime: { name: "vanishing", version: "0" },
        resume_token: "rt_1",
        resume_window_sec: 600,
        heartbeat_interval_sec: 30,
        capabilities: { encodings: ["json"], features: [] },
      }, { session_id: "sess_vanishing" })));
      socket.close();
    };
    return response;
  });
}

async function givenUp(reconnect: ReconnectOptions): Promise<ConnectionClosedError> {
  await using server = await vanishingRuntime();
  const url = `ws://127.0.0.1:${server.port}/arcp`;
  const client = await connect(url, { reconnect });
  try {
    for await (const _page of client.listJobs()) break;
  } catch (error) {
    assert.ok(error instanceof ConnectionClosedError, String(error));
    return error;
  } finally {
    await client.close();
  }
  assert.fail("listJobs resolved without a runtime");
}

Deno.test(
  "reconnect.maxElapsedMs and maxAttempts bound the attempts, whichever comes first",
  bounded(async () => {
    const timed = await givenUp({ maxElapsedMs: 1_000 });
    assert.match(
      timed.message,
      /^Cannot resume session sess_vanishing: no connection within 1 s \(\d+ attempts?\); the last failed: Cannot connect to ws:\/\/127\.0\.0\.1:\d+\/arcp: HTTP 503 Service Unavailable /,
    );
    const counted = await givenUp({ maxAttempts: 2, initialDelayMs: 10 });
    assert.match(counted.message, /: gave up after 2 attempts; the last failed: Cannot connect /);
  }, 20_000),
);
