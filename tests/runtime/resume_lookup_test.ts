// A resume finds its session by key, over real WebSockets on 127.0.0.1,
// with thousands of other sessions stored: the flat form (a `resume_token`
// on the hello, no session id) through the store's token index, a named
// resume by its id, and neither ever lists the stored sessions.

import assert from "node:assert/strict";
import { Runtime, staticTokens } from "../../runtime.ts";
import { openDenoKvStore } from "../../store/deno_kv.ts";
import { MemoryStore } from "../../store/memory.ts";
import type { RuntimeStore, SessionRecord, Store } from "../../store/types.ts";
import { webSocketTransport } from "../../transports/websocket.ts";
import {
  bounded,
  helloFrame,
  rawOver,
  serveHttp,
  socketOpened,
  standardAgents,
  TOKEN,
  TOKENS,
} from "../_helpers.ts";
import { assertSessionWorks } from "../scenarios/_shared.ts";

/** `store`, with counts of the calls that read sessions. */
function counting(store: RuntimeStore) {
  const calls = { listSessions: 0, getSessionByToken: 0, getSession: 0 };
  const counted = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      if (property in calls) calls[property as keyof typeof calls]++;
      return value.bind(target);
    },
  });
  return { store: counted, calls };
}

/** Stores `count` sessions of two principals, each with a random token hash, as a busy runtime has. */
async function crowd(store: RuntimeStore, count: number): Promise<void> {
  const hex = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0"))
      .join("");
  for (let i = 0; i < count; i++) {
    const record: SessionRecord = {
      session_id: `sess_crowd_${String(i).padStart(5, "0")}`,
      principal: i % 2 === 0 ? "alice" : "bob",
      resume_token_sha256: hex(),
      previous_token_sha256: i % 3 === 0 ? hex() : null,
      resume_window_sec: 600,
      created_at: new Date().toISOString(),
      detached_at: new Date().toISOString(),
      acked_seq: 0,
    };
    await store.putSession(record);
  }
}

/** A runtime on `store`, served over WebSocket on 127.0.0.1; `raw()` opens a raw connection. */
async function served(store: Store) {
  const runtime = new Runtime({
    store,
    authenticate: staticTokens({ ...TOKENS }),
    agents: standardAgents(),
    upgradeWebSocket: (request) => Deno.upgradeWebSocket(request),
  });
  const server = await serveHttp(runtime.fetch);
  const raws: ReturnType<typeof rawOver>[] = [];
  return {
    async raw() {
      const socket = new WebSocket(`ws://127.0.0.1:${server.port}/arcp`);
      await socketOpened(socket);
      const raw = rawOver(webSocketTransport(socket));
      raws.push(raw);
      return raw;
    },
    async [Symbol.asyncDispose]() {
      for (const raw of raws) await raw.close().catch(() => {});
      await runtime.close();
      await server[Symbol.asyncDispose]();
    },
  };
}

/** The flat resume form: `resume_token` and `last_event_seq` on the hello, with a bearer token. */
function flatResume(token: string, lastEventSeq = 0, bearer = TOKEN) {
  return helloFrame(bearer, { extra: { resume_token: token, last_event_seq: lastEventSeq } });
}

async function resumesByKey(base: RuntimeStore, crowdSize: number): Promise<void> {
  await crowd(base, crowdSize);
  const { store, calls } = counting(base);
  await using runtime = await served(store);
  const first = await runtime.raw();
  await first.hello();
  const sessionId = first.sessionId!;
  const token1 = first.resumeToken!;
  await first.run("echo", "before the drop");
  await first.close();
  // Recovery at start lists the sessions once; no resume may list them again.
  const listedAtStart = calls.listSessions;

  // Flat form: found by the token alone, and the log is replayed.
  const second = await runtime.raw();
  const resumed = await second.handshake(flatResume(token1));
  assert.equal(resumed.session_id, sessionId);
  const replay = await second.until((frame) => frame.type === "job.result");
  assert.equal(replay.at(-1)!.type, "job.result");
  const token2 = second.resumeToken!;
  assert.notEqual(token2, token1);
  // Dropped before speaking: the client may never have seen token2, so token1 still works.
  await second.close();
  const third = await runtime.raw();
  assert.equal(
    (await third.handshake(flatResume(token1, second.lastEventSeq))).session_id,
    sessionId,
  );
  const token3 = third.resumeToken!;
  // Speaking on the new connection confirms the rotation: token1 and token2 are refused now.
  await assertSessionWorks(third);
  await third.close();
  for (const stale of [token1, token2]) {
    const refused = await runtime.raw();
    await refused.send(flatResume(stale));
    assert.equal(
      (await refused.expectError("RESUME_WINDOW_EXPIRED")).message,
      'Session "?" is unknown or has expired',
    );
    await refused.close();
  }
  // Another principal's bearer token does not find alice's session by its token.
  const bob = await runtime.raw();
  await bob.send(flatResume(token3, 0, "t-bob"));
  await bob.expectError("RESUME_WINDOW_EXPIRED");
  await bob.close();

  // A wrong token for an existing session id: that session alone is read.
  const lookupsBefore = calls.getSessionByToken;
  const readsBefore = calls.getSession;
  const wrong = await runtime.raw();
  await wrong.send(
    helloFrame(null, {
      extra: { resume: { session_id: sessionId, resume_token: "rt_bogus", last_event_seq: 0 } },
    }),
  );
  assert.match(String((await wrong.expectError("UNAUTHENTICATED")).message), /resume token/);
  await wrong.close();
  assert.equal(calls.getSessionByToken, lookupsBefore, "a named resume needs no token lookup");
  assert.ok(calls.getSession - readsBefore <= 2, "a named resume reads its own record only");

  const last = await runtime.raw();
  assert.equal(
    (await last.handshake(flatResume(token3, third.lastEventSeq))).session_id,
    sessionId,
  );
  await assertSessionWorks(last);
  assert.equal(calls.listSessions, listedAtStart, "no resume listed the stored sessions");
  assert.ok(calls.getSessionByToken >= 5, "flat resumes went through the token index");
}

Deno.test(
  "a flat resume among 5,000 stored sessions finds its session by token, never listing sessions (memory store)",
  bounded(() => resumesByKey(new MemoryStore(), 5_000), 30_000),
);

Deno.test(
  "a flat resume among 300 stored sessions finds its session by token, never listing sessions (Deno KV file)",
  bounded(async () => {
    const dir = await Deno.makeTempDir({ prefix: "arcp-resume-lookup-" });
    const store = await openDenoKvStore(`${dir}/runtime.kv`);
    try {
      await resumesByKey(store, 300);
    } finally {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  }, 60_000),
);

Deno.test(
  "a store of only the two narrow contracts serves the flat resume form through the token index",
  bounded(async () => {
    const inner = new MemoryStore();
    let sessionLists = 0;
    const narrow: Store = {
      append: (id, events) => inner.append(id, events),
      read: (id, options) => inner.read(id, options),
      trim: (id, options) => inner.trim(id, options),
      bounds: (id) => inner.bounds(id),
      drop: (id) => inner.drop(id),
      get: (key) => inner.get(key),
      set: (key, value, options) => inner.set(key, value, options),
      delete: (key, options) => inner.delete(key, options),
      list: (prefix, options) => {
        if (prefix.length === 1 && prefix[0] === "session") sessionLists++;
        return inner.list(prefix, options);
      },
    };
    await using runtime = await served(narrow);
    const first = await runtime.raw();
    await first.hello();
    await first.close();
    const listedAtStart = sessionLists;
    const second = await runtime.raw();
    const welcome = await second.handshake(flatResume(first.resumeToken!));
    assert.equal(welcome.session_id, first.sessionId);
    await assertSessionWorks(second);
    // Sessions stored before the index are indexed once, at the first lookup; never again.
    const listed = sessionLists;
    assert.ok(listed <= listedAtStart + 1, `listed sessions ${listed - listedAtStart} times`);
    await second.close();
    const third = await runtime.raw();
    assert.equal(
      (await third.handshake(flatResume(second.resumeToken!))).session_id,
      first.sessionId,
    );
    assert.equal(sessionLists, listed);
  }),
);
