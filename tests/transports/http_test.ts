// The HTTP binding (docs/http-binding.md) on a real Deno.serve on 127.0.0.1:
// the wire (event ids, headers, status codes), resume by Last-Event-ID, a
// stream cut by a proxy mid-job, and the client's fallback from WebSocket.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { ConnectionClosedError } from "../../protocol/errors.ts";
import { Runtime, type RuntimeOptions, staticTokens } from "../../runtime.ts";
import { SseParser } from "../../transports/_http_wire.ts";
import { HEADER_SEQ, HEADER_STREAM } from "../../transports/http_server.ts";
import type { Frame } from "../../transports/types.ts";
import { bounded, envelope, helloFrame, serveHttp, within } from "../_helpers.ts";
import { startTcpProxy } from "./_tcp_proxy.ts";

const TOKEN = "t-http";

/** A runtime with a `count` agent, served by `Deno.serve(runtime.fetch)`. */
async function served(options: Partial<RuntimeOptions> = {}) {
  const gate = { release: Promise.withResolvers<void>() };
  const runtime = new Runtime({
    authenticate: staticTokens({ [TOKEN]: "alice", "t-other": "alice" }),
    agents: [{
      name: "count",
      async handler(input: { n: number; gated?: boolean }, ctx) {
        for (let i = 1; i <= input.n; i++) {
          if (input.gated && i === Math.floor(input.n / 2)) await gate.release.promise;
          await ctx.log("info", "count", { i });
        }
        return { n: input.n };
      },
    }],
    ...options,
  });
  const server = await serveHttp(runtime.fetch);
  const { port } = server;
  return {
    runtime,
    port,
    gate,
    url: `http://127.0.0.1:${port}/arcp`,
    async [Symbol.asyncDispose]() {
      await runtime.close();
      await server[Symbol.asyncDispose]();
    },
  };
}

/** A raw stream: the opening response, and its events read one by one with their ids. */
async function openRaw(url: string, body: Frame, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", ...headers },
    body: JSON.stringify(body),
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser(1 << 20);
  const ids: (number | undefined)[] = [];
  let queue: Frame[] = [];
  let raw = "";
  let seq = 0;
  return {
    response,
    id: response.headers.get(HEADER_STREAM)!,
    ids,
    /** Everything the stream carried, as text, comments and ids included. */
    text: () => raw,
    async next(): Promise<Frame | undefined> {
      while (queue.length === 0) {
        const { value, done } = await within(reader.read(), "the next event");
        if (done) return undefined;
        raw += value;
        for (const match of value.matchAll(/^(id: (\d+)\n)?data: /gm)) {
          ids.push(match[2] === undefined ? undefined : Number(match[2]));
        }
        queue = parser.feed(value).map((data) => JSON.parse(data));
      }
      return queue.shift();
    },
    async until(type: string): Promise<Frame> {
      for (;;) {
        const frame = await this.next();
        if (frame === undefined) throw new Error(`stream ended before ${type}`);
        if (frame.type === type) return frame;
      }
    },
    post(frame: Frame | string, headers: Record<string, string> = {}) {
      return fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${TOKEN}`,
          [HEADER_STREAM]: response.headers.get(HEADER_STREAM)!,
          [HEADER_SEQ]: String(++seq),
          ...headers,
        },
        body: typeof frame === "string" ? frame : JSON.stringify(frame),
      });
    },
    cancel: () => reader.cancel(),
  };
}

Deno.test(
  "a POST opens an event stream: unbuffered headers, each event's SSE id its event_seq",
  bounded(async () => {
    await using s = await served();
    const raw = await openRaw(s.url, helloFrame(TOKEN));
    assert.equal(raw.response.status, 200);
    assert.match(raw.response.headers.get("content-type")!, /^text\/event-stream/);
    assert.equal(raw.response.headers.get("x-accel-buffering"), "no");
    assert.match(raw.response.headers.get("cache-control")!, /no-transform/);
    assert.match(raw.id, /^[0-9a-f]{32}$/);
    const welcome = await raw.until("session.welcome");
    const sessionId = welcome.session_id as string;
    const submit = await raw.post(
      envelope("job.submit", { agent: "count", input: { n: 3 } }, { session_id: sessionId }),
    );
    assert.equal(submit.status, 202);
    const frames: Frame[] = [];
    for (let f = await raw.next(); f !== undefined; f = await raw.next()) {
      frames.push(f);
      if (f.type === "job.result") break;
    }
    const sequenced = frames.filter((f) => typeof f.event_seq === "number");
    assert.ok(sequenced.length >= 4, JSON.stringify(frames));
    // One id per sequenced frame, equal to its event_seq; none on the others.
    const all = [welcome, ...frames];
    assert.deepEqual(raw.ids, all.map((f) => f.event_seq as number | undefined));
    assert.match(raw.text(), /^: arcp\n\n/);
    await raw.cancel();
  }),
);

Deno.test(
  "POSTs are answered by status: 404 unknown stream, 401 another bearer, 400/409 bad Arcp-Seq, " +
    "204 a resent one, 415 another type, 413 a body over twice maxFrameBytes",
  bounded(async () => {
    await using s = await served({ maxFrameBytes: 4096 });
    const raw = await openRaw(s.url, helloFrame(TOKEN));
    await raw.until("session.welcome");
    const ping = () => envelope("session.ping", { nonce: "n", sent_at: new Date().toISOString() });
    const status = async (response: Promise<Response>) => {
      const answered = await response;
      await answered.body?.cancel();
      return answered.status;
    };
    assert.equal(await status(raw.post(ping(), { [HEADER_STREAM]: "0".repeat(32) })), 404);
    assert.equal(await status(raw.post(ping(), { authorization: "Bearer t-other" })), 401);
    assert.equal(await status(raw.post(ping(), { [HEADER_SEQ]: "x" })), 400);
    assert.equal(await status(raw.post(ping(), { [HEADER_SEQ]: "9" })), 409);
    assert.equal(await status(raw.post(ping(), { [HEADER_SEQ]: "1" })), 202);
    assert.equal(await status(raw.post(ping(), { [HEADER_SEQ]: "1" })), 204, "already delivered");
    assert.equal(
      await status(raw.post(ping(), { "content-type": "text/plain", [HEADER_SEQ]: "2" })),
      415,
    );
    assert.equal(await status(raw.post("x".repeat(9000), { [HEADER_SEQ]: "2" })), 413);
    // Only one pong: the resent POST delivered nothing.
    assert.equal((await raw.until("session.pong")).type, "session.pong");
    assert.equal(await status(raw.post(ping(), { [HEADER_SEQ]: "2" })), 202);
    assert.equal((await raw.until("session.pong")).type, "session.pong");
    await raw.cancel();
  }),
);

Deno.test(
  "Last-Event-ID is the resume cursor: the replay starts after it; one disagreeing with the hello is 400",
  bounded(async () => {
    await using s = await served();
    const first = await openRaw(s.url, helloFrame(TOKEN));
    const welcomed = await first.until("session.welcome");
    const sessionId = welcomed.session_id as string;
    const token = (welcomed.payload as { resume_token: string }).resume_token;
    await first.post(
      envelope("job.submit", { agent: "count", input: { n: 5 } }, { session_id: sessionId }),
    );
    await first.until("job.result");
    await first.cancel();
    const resume = { session_id: sessionId, resume_token: token };
    const disagreeing = await fetch(s.url, {
      method: "POST",
      headers: { "content-type": "application/json", "last-event-id": "2" },
      body: JSON.stringify(
        helloFrame(TOKEN, { extra: { resume: { ...resume, last_event_seq: 1 } } }),
      ),
    });
    assert.equal(disagreeing.status, 400);
    assert.match(await disagreeing.text(), /Last-Event-ID 2 differs/);
    const second = await openRaw(s.url, helloFrame(TOKEN, { extra: { resume } }), {
      "last-event-id": "2",
    });
    const next = await second.next();
    assert.equal(next?.type, "session.welcome", JSON.stringify(next));
    const replayed = await second.next();
    assert.equal(replayed?.event_seq, 3, "the replay starts right after Last-Event-ID");
    await second.cancel();
  }),
);

Deno.test(
  "past maxConnections an opening POST is answered 503 naming the cap",
  bounded(async () => {
    await using s = await served({ maxConnections: 1 });
    const raw = await openRaw(s.url, helloFrame(TOKEN));
    await raw.until("session.welcome");
    const refused = await fetch(s.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(helloFrame(TOKEN)),
    });
    assert.equal(refused.status, 503);
    assert.match(await refused.text(), /Too many connections: maxConnections is 1/);
    await raw.cancel();
  }),
);

Deno.test(
  "a client over HTTP whose stream a proxy cuts mid-job resumes with Last-Event-ID and gets every event once",
  bounded(async () => {
    await using s = await served();
    await using proxy = startTcpProxy(s.port);
    await using client = await connect(`http://127.0.0.1:${proxy.port}/arcp`, {
      token: TOKEN,
      transport: "http",
      reconnect: { initialDelayMs: 1, maxDelayMs: 20 },
    });
    const job = await client.submit("count", { n: 400, gated: true });
    const counts: number[] = [];
    let cut = false;
    for await (const event of job) {
      counts.push((event.payload.body as { attributes: { i: number } }).attributes.i);
      if (!cut && counts.length === 150) {
        cut = true;
        proxy.cut();
        s.gate.release.resolve();
      }
    }
    assert.deepEqual(counts, Array.from({ length: 400 }, (_, i) => i + 1));
    assert.deepEqual((await job.result).result, { n: 400 });
    const resumes = proxy.requests.filter((head) => /^last-event-id: \d+$/im.test(head));
    assert.ok(resumes.length >= 1, `no resuming request: ${proxy.requests.join("\n---\n")}`);
    assert.doesNotMatch(proxy.requests.join("\n"), /^POST \S*t-http/m, "no token in a URL");
  }, 30_000),
);

Deno.test(
  'transport "auto" falls back to HTTP when the WebSocket upgrade is refused, and keeps it',
  bounded(async () => {
    // No upgradeWebSocket: runtime.fetch refuses every upgrade with 501.
    await using s = await served();
    await using client = await connect(s.url, { token: TOKEN });
    const job = await client.submit("count", { n: 3 });
    assert.deepEqual((await job.result).result, { n: 3 });
    await assert.rejects(
      connect(s.url, { token: TOKEN, transport: "websocket", reconnect: false }),
      (error) => error instanceof ConnectionClosedError && /501/.test(error.message),
    );
  }),
);

Deno.test(
  'transport "auto" falls back to HTTP when the socket closes before the welcome',
  bounded(async () => {
    await using s = await served();
    const listening = Promise.withResolvers<Deno.NetAddr>();
    // Upgrades, then closes every socket at once: a proxy that lets the
    // upgrade through but not the frames.
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: listening.resolve },
      (request) => {
        if (request.headers.get("upgrade") !== "websocket") return s.runtime.fetch(request);
        const { socket, response } = Deno.upgradeWebSocket(request);
        socket.onopen = () => socket.close(1011, "no frames here");
        return response;
      },
    );
    const { port } = await listening.promise;
    try {
      const client = await connect(`http://127.0.0.1:${port}/arcp`, {
        token: TOKEN,
        transport: "auto",
      });
      const job = await client.submit("count", { n: 2 });
      assert.deepEqual((await job.result).result, { n: 2 });
      await client.close();
    } finally {
      await server.shutdown();
    }
  }),
);
