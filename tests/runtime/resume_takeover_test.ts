// A resume that takes a session over from a connection still open, over
// real WebSockets: the session's record says attached while the new
// connection holds it, and says detached, from then, once that one closes
// or once the resume fails after the takeover.

import assert from "node:assert/strict";
import { Runtime, staticTokens } from "../../runtime.ts";
import type { Frame } from "../../transports/types.ts";
import { webSocketTransport } from "../../transports/websocket.ts";
import {
  bounded,
  eventually,
  RecordingStore,
  serveHttp,
  socketOpened,
  standardAgents,
  startHarness,
  TOKENS,
} from "../_helpers.ts";
import { envelope, type RawConnection, rawOver } from "../_raw.ts";

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

Deno.test(
  "a resume that takes a live session over and cannot send its welcome leaves the session detached and resumable",
  bounded(async () => {
    const store = new RecordingStore();
    const runtime = new Runtime({
      store,
      authenticate: staticTokens({ ...TOKENS }),
      agents: standardAgents(),
    });
    // The second connection's socket goes away as its welcome is written.
    let connections = 0;
    await using server = await serveHttp((request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      const transport = webSocketTransport(socket);
      const failing = ++connections === 2;
      const writer = transport.writable.getWriter();
      void runtime.accept({
        readable: transport.readable,
        writable: new WritableStream<Frame>({
          write: (frame) =>
            failing && frame.type === "session.welcome"
              ? Promise.reject(new Error("the socket went away"))
              : writer.write(frame),
          close: () => writer.close(),
          abort: (reason) => writer.abort(reason),
        }),
      });
      return response;
    });
    const url = `ws://127.0.0.1:${server.port}/arcp`;
    try {
      const first = await rawSocket(url);
      await first.hello();
      const sessionId = first.sessionId!;
      const resume = envelope("session.resume", {
        session_id: sessionId,
        resume_token: first.resumeToken,
        last_event_seq: 0,
      });
      const second = await rawSocket(url);
      await second.send(resume);
      await second.ended();
      await first.ended();
      await eventually(
        async () => typeof (await store.getSession(sessionId))?.detached_at === "string",
        "the session stored as detached",
      );
      // The token both connections presented still resumes it.
      const third = await rawSocket(url);
      await third.handshake({ ...resume, id: "resume-again" });
      await third.close();
    } finally {
      await runtime.close();
    }
  }),
);

/** A raw connection over a real WebSocket to `url`. */
async function rawSocket(url: string): Promise<RawConnection> {
  const socket = new WebSocket(url);
  await socketOpened(socket);
  return rawOver(webSocketTransport(socket));
}
