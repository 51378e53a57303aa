import assert from "node:assert/strict";
import {
  DenoKvStore,
  type KvAtomicLike,
  type KvLike,
  openDenoKvStore,
} from "../../store/deno_kv.ts";
import { serialize } from "node:v8";
import { keySize, valueSize } from "../../store/_kv_limits.ts";
import type { StoredEvent } from "../../store/types.ts";
import { jobRecord, runtimeStoreConformance, sessionRecord, storedEvent } from "./conformance.ts";

const tempDir = await Deno.makeTempDir({ prefix: "arcp_kv_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tempDir, { recursive: true }));
let files = 0;
const tempFile = () => `${tempDir}/${++files}.kv`;

runtimeStoreConformance("DenoKvStore (:memory:)", () => openDenoKvStore(":memory:"));
runtimeStoreConformance("DenoKvStore (file)", () => openDenoKvStore(tempFile()));
runtimeStoreConformance("DenoKvStore (given KV, prefix)", async () => {
  const kv = await Deno.openKv(":memory:");
  // Something outside the prefix the store must never see or touch.
  await kv.set(["session", "sess_outside"], sessionRecord("sess_outside"));
  return new class extends DenoKvStore {
    override async close(): Promise<void> {
      await super.close();
      assert.ok((await kv.get(["session", "sess_outside"])).value, "outside the prefix");
      kv.close();
    }
  }(kv, { prefix: ["tenant", 7] });
});

function events(from: number, to: number): StoredEvent[] {
  return Array.from({ length: to - from + 1 }, (_, i) => storedEvent(from + i));
}

async function seqs(store: DenoKvStore, sessionId: string): Promise<number[]> {
  const read: number[] = [];
  for await (const event of store.read(sessionId, { after: 0 })) read.push(event.event_seq);
  return read;
}

/** A KV that counts commits and can run something just before one. */
function instrumented(kv: KvLike, beforeCommit?: (commit: number) => Promise<void>) {
  const counter = { commits: 0 };
  const wrap = (op: KvAtomicLike): KvAtomicLike => ({
    check: (...checks) => wrap(op.check(...checks)),
    set: (key, value) => wrap(op.set(key, value)),
    delete: (key) => wrap(op.delete(key)),
    async commit() {
      const commit = ++counter.commits;
      await beforeCommit?.(commit);
      return op.commit();
    },
  });
  const like: KvLike = {
    get: (key) => kv.get(key),
    list: (selector, options) => kv.list(selector, options),
    atomic: () => wrap(kv.atomic()),
    close: () => kv.close(),
  };
  return { kv: like, counter };
}

/** A value's size as the KV measures it, from V8's own serializer. */
const exact = (value: unknown) => serialize(value).length;

Deno.test("keySize() and valueSize() meet the KV's own limits exactly", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const longest = ["log", "€".repeat(100), "x".repeat(2_048 - 5 - 302 - 2)];
    assert.equal(keySize(longest), 2_048);
    await kv.set(longest, 1);
    await assert.rejects(kv.set([...longest.slice(0, 2), `${longest[2]}x`], 1), TypeError);
    const value = { text: "é€".repeat(10_000), pad: "" };
    let n = 65_536 - exact(value);
    do value.pad = "x".repeat(n--); while (exact(value) > 65_536);
    assert.equal(exact(value), 65_536);
    // Within the limit valueSize may be a bound; past it, it is exact.
    assert.ok(valueSize(value) <= 65_536);
    await kv.set(["v"], value);
    value.pad += "x";
    assert.equal(valueSize(value), 65_537);
    await assert.rejects(kv.set(["v"], value), TypeError);
  } finally {
    kv.close();
  }
});

Deno.test("DenoKvStore stores an event over the 64 KiB value limit in parts, reads, trims and deletes it whole", async () => {
  const store = await openDenoKvStore(":memory:");
  try {
    const big = (seq: number, size: number) => {
      const event = storedEvent(seq);
      event.payload = {
        kind: "result_chunk",
        ts: "2026-01-01T00:00:00Z",
        body: { result_id: "res_1", chunk_seq: seq, data: "é".repeat(size), more: true },
      };
      return event;
    };
    // 1 MiB of two-byte characters: the spec's largest chunk, well past one value.
    const events = [storedEvent(1), big(2, 1 << 19), storedEvent(3), big(4, 70_000)];
    assert.ok(valueSize(events[1]) > 65_536 && valueSize(events[3]) > 65_536);
    await store.append("s", events);
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 4 });
    const read = [];
    for await (const event of store.read("s", { after: 0 })) read.push(event);
    assert.deepEqual(read, events);
    // Appending again skips them, as any stored event.
    await store.append("s", events);
    await store.trim("s", { through: 2 });
    const rest = [];
    for await (const event of store.read("s", { after: 0 })) rest.push(event);
    assert.deepEqual(rest, events.slice(2));
    await store.deleteSession("s");
    assert.deepEqual(await seqs(store, "s"), []);
    // The largest value the KV takes is stored as it is.
    const fits = storedEvent(1);
    const room = 65_536 - exact(fits);
    fits.payload = { ...fits.payload as object, pad: "y".repeat(room - 9) };
    assert.equal(exact(fits), 65_536);
    await store.append("t", [fits]);
    assert.deepEqual(await seqs(store, "t"), [1]);
  } finally {
    await store.close();
  }
});

Deno.test("DenoKvStore packs a 2,500-event batch in chunks across commits and stores it all", async () => {
  const raw = await Deno.openKv(":memory:");
  const { kv, counter } = instrumented(raw);
  const store = new DenoKvStore(kv);
  try {
    await store.append("s", events(1, 2_500));
    assert.ok(counter.commits >= 2, `${counter.commits} commits`);
    let values = 0;
    for await (const _ of raw.list({ prefix: ["log", "s"] })) values++;
    assert.ok(values <= 2_500 / 50, `${values} log values for 2,500 events`);
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 2_500 });
    const read = await seqs(store, "s");
    assert.equal(read.length, 2_500);
    assert.ok(read.every((seq, i) => seq === i + 1));
    // Large events split by size, not only by count.
    const padded = events(2_501, 2_520).map((event) => ({ ...event, pad: "z".repeat(60_000) }));
    const before = counter.commits;
    await store.append("s", padded);
    assert.ok(counter.commits - before >= 2, "1.2 MB cannot go in one commit");
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 2_520 });
    // Trimming 2,500 events deletes in several commits.
    await store.trim("s", { through: 2_500 });
    assert.deepEqual((await seqs(store, "s")).length, 20);
    let left = 0;
    for await (const _ of raw.list({ prefix: ["log", "s"] })) left++;
    assert.equal(left, 20);
  } finally {
    raw.close();
  }
});

Deno.test("DenoKvStore re-checks the log when another writer appends first", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    const other = new DenoKvStore(raw);
    const theirs = (seq: number) => ({ ...storedEvent(seq), id: `theirs_${seq}` });
    const { kv } = instrumented(raw, async (commit) => {
      if (commit === 1) await other.append("s", [theirs(1), theirs(2)]);
    });
    const store = new DenoKvStore(kv);
    await store.append("s", events(1, 3));
    const ids = [];
    for await (const event of store.read("s", { after: 0 })) ids.push(event.id);
    assert.deepEqual(ids, ["theirs_1", "theirs_2", storedEvent(3).id]);
    // Two stores racing on one session leave one contiguous log.
    const a = store.append("t", events(1, 1_500));
    const b = other.append("t", events(1, 1_500).map((event) => theirs(event.event_seq)));
    await Promise.all([a, b]);
    assert.deepEqual(await store.bounds("t"), { first: 1, last: 1_500 });
    const read = await seqs(store, "t");
    assert.ok(read.length === 1_500 && read.every((seq, i) => seq === i + 1));
    await assert.rejects(other.append("t", [storedEvent(1_502)]), RangeError);
  } finally {
    raw.close();
  }
});

Deno.test("DenoKvStore keeps everything across closing and reopening the file", async () => {
  const path = tempFile();
  const first = await openDenoKvStore(path);
  await first.append("sess_1", events(1, 5));
  await first.trim("sess_1", { through: 2 });
  await first.putSession(sessionRecord("sess_1"));
  await first.putJob(jobRecord("job_1", { status: "pending" }));
  const claim = {
    principal: "alice",
    key: "k",
    job_id: "job_1",
    fingerprint: "fp",
    expires_at: "2026-01-02T00:00:00.000Z",
  };
  assert.equal(await first.claimIdempotencyKey(claim, "2026-01-01T00:00:00.000Z"), undefined);
  await first.close();

  const second = await openDenoKvStore(path);
  try {
    assert.deepEqual(await second.bounds("sess_1"), { first: 3, last: 5 });
    assert.deepEqual(await seqs(second, "sess_1"), [3, 4, 5]);
    assert.deepEqual(await second.getSession("sess_1"), sessionRecord("sess_1"));
    assert.deepEqual(await second.getJob("job_1"), jobRecord("job_1", { status: "pending" }));
    const unfinished = [];
    for await (const job of second.listUnfinishedJobs()) unfinished.push(job.job_id);
    assert.deepEqual(unfinished, ["job_1"]);
    assert.deepEqual(
      await second.claimIdempotencyKey({ ...claim, job_id: "job_2" }, "2026-01-01T00:00:00.000Z"),
      claim,
    );
    await second.append("sess_1", events(6, 6));
    assert.deepEqual(await second.bounds("sess_1"), { first: 3, last: 6 });
  } finally {
    await second.close();
  }
});

Deno.test("DenoKvStore refuses a key over 2 KiB with RangeError", async () => {
  const store = await openDenoKvStore(":memory:");
  try {
    const claim = {
      principal: "alice",
      key: "k".repeat(3_000),
      job_id: "job_1",
      fingerprint: "fp",
      expires_at: "2026-01-02T00:00:00.000Z",
    };
    await assert.rejects(store.claimIdempotencyKey(claim, "2026-01-01T00:00:00.000Z"), RangeError);
  } finally {
    await store.close();
  }
});

Deno.test("DenoKvStore stores job and session records over the 64 KiB value limit in parts, across a reopen", async () => {
  const path = tempFile();
  const bigResult = "r".repeat(70_000);
  const terminal = { ...storedEvent(2), type: "job.result", payload: { result: bigResult } };
  const running = jobRecord("job_big");
  const done = jobRecord("job_big", {
    status: "success",
    last_event_seq: 2,
    terminal: terminal as NonNullable<ReturnType<typeof jobRecord>["terminal"]>,
  });
  const reasons = Object.fromEntries(
    Array.from({ length: 40 }, (_, i) => [`job_${i}`, "x".repeat(2_000)]),
  );
  const session = { ...sessionRecord("sess_big"), cancel_requests: reasons };
  assert.ok(valueSize(done) > 65_536 && valueSize(session) > 65_536);
  let store = await openDenoKvStore(path);
  try {
    await store.putJob(running);
    await store.putJob(done);
    await store.putSession(session);
    // Replacing a large record by another leaves only the new one's parts.
    await store.updateSession!("sess_big", (current) => ({ ...current!, acked_seq: 5 }));
  } finally {
    await store.close();
  }
  store = await openDenoKvStore(path);
  try {
    assert.deepEqual(await store.getJob("job_big"), done);
    const listed = await store.listJobs({ principal: "alice", limit: 10 });
    assert.deepEqual(listed.jobs, [done]);
    const unfinished = [];
    for await (const job of store.listUnfinishedJobs()) unfinished.push(job);
    assert.deepEqual(unfinished, []);
    assert.deepEqual(await store.getSession("sess_big"), { ...session, acked_seq: 5 });
    const sessions = [];
    for await (const record of store.listSessions()) sessions.push(record);
    assert.deepEqual(sessions, [{ ...session, acked_seq: 5 }]);
    const found = await store.getSessionByToken(session.resume_token_sha256);
    assert.deepEqual(found, { ...session, acked_seq: 5 }, "found by its token, joined from parts");
    // A small record replaces a large one, and deleting the session leaves no parts.
    await store.putJob(running);
    await store.deleteSession("sess_big");
  } finally {
    await store.close();
  }
  const kv = await Deno.openKv(path);
  try {
    const parts = [];
    for await (const entry of kv.list({ prefix: ["record_part"] })) parts.push(entry.key);
    assert.deepEqual(parts, []);
    const tokens = [];
    for await (const entry of kv.list({ prefix: ["session_token"] })) tokens.push(entry.key);
    assert.deepEqual(tokens, [], "the deleted session's token index entry went with it");
  } finally {
    kv.close();
  }
});

Deno.test("DenoKvStore indexes sessions stored before the token index once, at the first lookup", async () => {
  const path = tempFile();
  const kv = await Deno.openKv(path);
  try {
    // As an earlier version stored them: the records alone.
    const old = { ...sessionRecord("sess_old"), previous_token_sha256: "cd".repeat(32) };
    await kv.set(["session", "sess_old"], old);
    await kv.set(["session", "sess_bob"], {
      ...sessionRecord("sess_bob", "bob"),
      resume_token_sha256: "ef".repeat(32),
    });
    const first = new DenoKvStore(kv);
    assert.deepEqual(await first.getSessionByToken("cd".repeat(32)), old);
    assert.equal((await first.getSessionByToken("ef".repeat(32)))?.session_id, "sess_bob");
    assert.notEqual((await kv.get(["session_token_index"])).value, null);
    // Indexed for good: another store on the database looks up without listing anything.
    let lists = 0;
    const counted: KvLike = {
      get: (key) => kv.get(key),
      list: (selector, options) => {
        lists++;
        return kv.list(selector, options);
      },
      atomic: () => kv.atomic(),
      close: () => {},
    };
    const second = new DenoKvStore(counted);
    assert.deepEqual(await second.getSessionByToken(old.resume_token_sha256), old);
    assert.equal(await second.getSessionByToken("00".repeat(32)), undefined);
    assert.equal(lists, 0);
  } finally {
    kv.close();
  }
});

Deno.test("DenoKvStore stores each event as its JSON text in UTF-8 and reads logs written with objects", async () => {
  const path = tempFile();
  // A log as earlier versions wrote it: each event an object, the bounds beside it.
  const old = await Deno.openKv(path);
  await old.atomic()
    .set(["log", "sess_1", 1], storedEvent(1))
    .set(["log", "sess_1", 2], storedEvent(2))
    .set(["log_meta", "sess_1"], { first: 1, last: 2 })
    .commit();
  old.close();

  const store = await openDenoKvStore(path);
  try {
    const large = storedEvent(4);
    large.payload = { kind: "log", body: { message: "é".repeat(70_000) } };
    await store.append("sess_1", [...events(1, 3), large]);
    const read: StoredEvent[] = [];
    for await (const event of store.read("sess_1", { after: 0 })) read.push(event);
    assert.deepEqual(read, [...events(1, 3), large]);
  } finally {
    await store.close();
  }
  const kv = await Deno.openKv(path);
  try {
    // Old values stay as they were; a new one is the event's JSON text.
    assert.deepEqual((await kv.get(["log", "sess_1", 1])).value, storedEvent(1));
    assert.deepEqual(
      (await kv.get(["log", "sess_1", 3])).value,
      new TextEncoder().encode(JSON.stringify(storedEvent(3))),
    );
    assert.deepEqual((await kv.get(["log", "sess_1", 4])).value, { event_seq: 4, kv_parts: 3 });
  } finally {
    kv.close();
  }
});

Deno.test("DenoKvStore stores an event of exactly 64 KiB of JSON in one value, one byte more in parts", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new DenoKvStore(kv);
  try {
    const sized = (seq: number, bytes: number) => {
      const event = storedEvent(seq);
      event.payload = { kind: "log", body: { message: "" } };
      const message = "x".repeat(bytes - new TextEncoder().encode(JSON.stringify(event)).length);
      event.payload = { kind: "log", body: { message } };
      return event;
    };
    const fits = sized(1, 65_536);
    const over = sized(2, 65_537);
    await store.append("sess_1", [fits, over]);
    assert.ok((await kv.get(["log", "sess_1", 1])).value instanceof Uint8Array);
    assert.deepEqual((await kv.get(["log", "sess_1", 2])).value, { event_seq: 2, kv_parts: 2 });
    const read: StoredEvent[] = [];
    for await (const event of store.read("sess_1", { after: 0 })) read.push(event);
    assert.deepEqual(read, [fits, over]);
  } finally {
    await store.close();
    kv.close();
  }
});

Deno.test("DenoKvStore keeps a batch in chunks keyed by their last event_seq; reads and trims inside one", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new DenoKvStore(kv);
  const decoder = new TextDecoder();
  try {
    // An object from an earlier version, one event alone, then a chunk of 2..6.
    await kv.atomic().set(["log", "s", 1], storedEvent(1)).set(["log_meta", "s"], {
      first: 1,
      last: 1,
    }).commit();
    await store.append("s", events(2, 6));
    await store.append("s", events(7, 7));
    const chunk = (await kv.get(["log", "s", 6])).value as Uint8Array;
    assert.deepEqual(JSON.parse(decoder.decode(chunk)), events(2, 6));
    assert.deepEqual(
      JSON.parse(decoder.decode((await kv.get(["log", "s", 7])).value as Uint8Array)),
      storedEvent(7),
    );
    const readAfter = async (after: number) => {
      const read: number[] = [];
      for await (const event of store.read("s", { after })) read.push(event.event_seq);
      return read;
    };
    assert.deepEqual(await readAfter(0), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(await readAfter(3), [4, 5, 6, 7]);
    assert.deepEqual(await readAfter(6), [7]);
    // A trim inside the chunk keeps the chunk; its trimmed events are not read.
    await store.trim("s", { through: 4 });
    assert.deepEqual(await store.bounds("s"), { first: 5, last: 7 });
    assert.deepEqual(await readAfter(0), [5, 6, 7]);
    assert.ok((await kv.get(["log", "s", 6])).value, "the chunk holding 5 and 6 stays");
    assert.equal((await kv.get(["log", "s", 1])).value, null);
    await store.trim("s", { through: 6 });
    assert.equal((await kv.get(["log", "s", 6])).value, null);
    assert.deepEqual(await readAfter(0), [7]);
  } finally {
    await store.close();
    kv.close();
  }
});

Deno.test("DenoKvStore checks an append against its own last commit without a read, and a stale one against the log", async () => {
  const raw = await Deno.openKv(":memory:");
  let gets = 0;
  const counting: KvLike = { ...instrumented(raw).kv, get: (key) => (gets++, raw.get(key)) };
  const mine = new DenoKvStore(counting);
  const other = new DenoKvStore(raw);
  try {
    await mine.append("s", events(1, 2));
    const before = gets;
    await mine.append("s", events(3, 4));
    assert.equal(gets, before, "the second append reads nothing");
    // Another writer moves the log: the remembered meta is stale, the commit's check says so.
    await other.append("s", events(5, 6));
    assert.equal(await mine.compareAndAppend("s", events(5, 5)), 0);
    assert.equal(await mine.compareAndAppend("s", events(7, 8)), 2);
    // A trim forgets it, so the next append reads the bounds anew.
    await mine.trim("s", { through: 3 });
    const trimmed = gets;
    await mine.append("s", events(9, 9));
    assert.ok(gets > trimmed);
    assert.deepEqual(await seqs(mine, "s"), [4, 5, 6, 7, 8, 9]);
  } finally {
    raw.close();
  }
});
