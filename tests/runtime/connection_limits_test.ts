// What a connection costs before it has a session, over real WebSockets on
// 127.0.0.1: a deadline for the handshake, a cap on connections, and a
// resume that cannot make the runtime scan the store.

import assert from "node:assert/strict";
import { Runtime, staticTokens } from "../../runtime.ts";
import type { SessionRecord } from "../../store/types.ts";
import { webSocketTransport } from "../../transports/websocket.ts";
import {
  bounded,
  envelope,
  eventually,
  RecordingStore,
  serveHttp,
  socketClosed,
  socketOpened,
  startHarness,
  TOKENS,
} from "../_helpers.ts";
import { assertSessionWorks } from "../scenarios/_shared.ts";
import type { Frame } from "../../transports/types.ts";

/** Sends a WebSocket upgrade over plain TCP and returns the HTTP response's text. */
async function upgradeResponse(port: number): Promise<string> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = [
      "GET /arcp HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
      "",
      "",
    ].join("\r\n");
    await connection.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(4096);
    const read = await connection.read(buffer);
    return new TextDecoder().decode(buffer.subarray(0, read ?? 0));
  } finally {
    connection.close();
  }
}

Deno.test(
  "a connection without session.hello within helloTimeoutMs gets UNAUTHENTICATED naming the deadline and is closed",
  bounded(async () => {
    await using h = await startHarness("websocket", { runtime: { helloTimeoutMs: 200 } });
    const silent = await h.raw();
    const error = await silent.expectError("UNAUTHENTICATED");
    assert.match(String(error.message), /helloTimeoutMs is 200/);
    assert.deepEqual(await silent.ended(), []);
    // One that said hello in time is not affected, long after the deadline.
    const prompt = await h.raw();
    await prompt.hello();
    await new Promise((resolve) => setTimeout(resolve, 600));
    await assertSessionWorks(prompt);
  }),
);

Deno.test(
  "past maxConnections, runtime.fetch answers 503 naming the cap; a freed slot is usable again",
  bounded(async () => {
    await using h = await startHarness("websocket", { runtime: { maxConnections: 2 } });
    const port = Number(new URL((h as unknown as { url: string }).url).port);
    const first = await h.raw();
    await first.hello();
    const second = await h.raw();
    await second.hello();
    const refused = await upgradeResponse(port);
    assert.match(refused, /^HTTP\/1\.1 503/);
    assert.match(refused, /Too many connections: maxConnections is 2/);
    await first.close();
    await eventually(
      async () => /^HTTP\/1\.1 101/.test(await upgradeResponse(port)),
      "a slot to free up",
    );
    await assertSessionWorks(second);
  }),
);

Deno.test(
  "past maxConnections, accept() sends session.error naming the cap and closes the transport",
  bounded(async () => {
    await using runtime = new Runtime({
      authenticate: staticTokens({ ...TOKENS }),
      agents: [{ name: "echo", handler: (input) => Promise.resolve({ echoed: input }) }],
      maxConnections: 1,
    });
    await using server = await serveHttp((request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      void runtime.accept(webSocketTransport(socket));
      return response;
    });
    const open = async () => {
      const socket = new WebSocket(`ws://127.0.0.1:${server.port}/arcp`);
      const frames: Frame[] = [];
      socket.onmessage = (event) => frames.push(JSON.parse(event.data));
      await socketOpened(socket);
      return { socket, frames };
    };
    const first = await open();
    const second = await open();
    await socketClosed(second.socket);
    assert.equal(second.frames.length, 1);
    const payload = second.frames[0]!.payload as Record<string, unknown>;
    assert.equal(payload.code, "INTERNAL_ERROR");
    assert.match(String(payload.message), /Too many connections: maxConnections is 1/);
    first.socket.close();
    await socketClosed(first.socket);
  }),
);

/** A store that counts full scans of its sessions. */
class ScanCountingStore extends RecordingStore {
  scans = 0;

  override listSessions(): AsyncIterable<SessionRecord> {
    this.scans++;
    return super.listSessions();
  }
}

Deno.test(
  "a resume that names no session and carries no bearer token is refused without scanning the store",
  bounded(async () => {
    const store = new ScanCountingStore();
    await using h = await startHarness("websocket", { store });
    const first = await h.raw();
    await first.hello();
    const token = first.resumeToken!;
    await first.close();
    // Recovery at start scans once; nothing after it may.
    const scansAtStart = store.scans;
    const raw = await h.raw();
    const bare = envelope("session.resume", { resume_token: token, last_event_seq: 0 });
    await raw.send(bare);
    const error = await raw.expectError("INVALID_REQUEST");
    assert.match(String(error.message), /"session_id" is missing/);
    assert.equal(error.request_id, bare.id);
    assert.equal(store.scans, scansAtStart);
    // The session_id may come in the envelope, as 1.1's wire format has it.
    const named = envelope("session.resume", { resume_token: token, last_event_seq: 0 }, {
      session_id: first.sessionId,
    });
    const welcome = await raw.handshake(named);
    assert.equal(welcome.session_id, first.sessionId);
    assert.equal(store.scans, scansAtStart);
    await assertSessionWorks(raw);
  }),
);
