// A runtime on a Deno KV file stores each event as the very JSON text it
// sends: what a raw WebSocket receives is, byte for byte, in the log.

import assert from "node:assert/strict";
import { Runtime, staticTokens } from "../../runtime.ts";
import { openDenoKvStore } from "../../store/deno_kv.ts";
import { serveHttp, TOKENS } from "../_helpers.ts";
import { envelope, helloFrame, within } from "../_raw.ts";

Deno.test("a runtime on a Deno KV file stores each event as the text its WebSocket sent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "arcp-kv-event-text-" });
  const path = `${dir}/runtime.kv`;
  const store = await openDenoKvStore(path);
  const long = "café ☕ ".repeat(200);
  const runtime = new Runtime({
    store,
    authenticate: staticTokens({ ...TOKENS }),
    upgradeWebSocket: (request) => Deno.upgradeWebSocket(request),
    agents: [{
      name: "talk",
      handler: async (_input: unknown, ctx) => {
        await ctx.log("info", "short");
        await ctx.log("info", long);
        return { echoed: long };
      },
    }],
  });
  const texts: string[] = [];
  let sessionId = "";
  try {
    await using server = await serveHttp(runtime.fetch);
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/arcp`);
    const ended = Promise.withResolvers<void>();
    socket.onopen = () => socket.send(JSON.stringify(helloFrame()));
    socket.onmessage = (message) => {
      const text = message.data as string;
      const frame = JSON.parse(text);
      if (frame.type === "session.welcome") {
        sessionId = frame.session_id;
        socket.send(JSON.stringify(envelope("job.submit", { agent: "talk", input: {} }, {
          session_id: sessionId,
        })));
      }
      if (frame.event_seq !== undefined) texts.push(text);
      if (frame.type === "job.result" || frame.type === "job.error") ended.resolve();
    };
    socket.onerror = () => ended.reject(new Error("the WebSocket failed"));
    await within(ended.promise, "the job's result", 10_000);
    const closed = new Promise((resolve) => socket.onclose = resolve);
    socket.close();
    await closed;
  } finally {
    await runtime.close();
    await store.close();
  }
  try {
    assert.equal(texts.length, 3);
    const kv = await Deno.openKv(path);
    try {
      // The log keeps the texts in chunks (a JSON array of several, or one alone).
      const decoder = new TextDecoder();
      let stored = "";
      for await (const entry of kv.list({ prefix: ["log", sessionId] })) {
        assert.ok(entry.value instanceof Uint8Array, `${entry.key.join("/")} is stored as text`);
        stored += decoder.decode(entry.value) + "\n";
      }
      for (const text of texts) {
        const seq = JSON.parse(text).event_seq;
        assert.ok(stored.includes(text), `event_seq ${seq} is stored as the text sent`);
      }
    } finally {
      kv.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
