// A resume that takes a session over from a connection still open, over
// real WebSockets: the session's record says attached while the new
// connection holds it, and says detached, from then, once that one closes.

import assert from "node:assert/strict";
import { bounded, eventually, startHarness } from "../_helpers.ts";
import { envelope } from "../_raw.ts";

Deno.test(
  "a resume taking over a live connection leaves the session attached, and its later detach is dated then",
  bounded(async () => {
    await using harness = await startHarness("websocket");
    const first = await harness.raw();
    await first.hello();
    const sessionId = first.sessionId!;
    const second = await harness.raw();
    await second.handshake(envelope("session.resume", {
      session_id: sessionId,
      resume_token: first.resumeToken,
      last_event_seq: 0,
    }));
    // The first connection is told why it is closed, then closed.
    const [error] = (await first.ended()).filter((frame) => frame.type === "session.error");
    assert.equal((error?.payload as { code?: string } | undefined)?.code, "INVALID_REQUEST");
    // The session answers on the second connection, so every write of the first is done.
    await second.request("session.ping", { nonce: "n1", sent_at: new Date().toISOString() });
    await second.expect("session.pong");
    const held = await harness.store.getSession(sessionId);
    assert.equal(held?.detached_at, null, "the session is attached to the second connection");
    // So that a detach dated at the takeover is told apart from one dated at the close.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const beforeClose = Date.now();
    await second.close();
    let detachedAt: string | null | undefined;
    await eventually(async () => {
      detachedAt = (await harness.store.getSession(sessionId))?.detached_at;
      return typeof detachedAt === "string";
    }, "the session stored as detached");
    assert.ok(
      Date.parse(detachedAt!) >= beforeClose,
      `detached at ${detachedAt}, before the close at ${new Date(beforeClose).toISOString()}`,
    );
  }),
);
