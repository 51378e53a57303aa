import assert from "node:assert/strict";
import postgres from "postgres";
import { openPostgresStore, type PostgresStore } from "../../store/postgres.ts";
import type { StoredEvent } from "../../store/types.ts";
import { startPostgres } from "../_postgres.ts";
import { runtimeStoreConformance, storedEvent } from "./conformance.ts";

async function readAll(store: PostgresStore, sessionId: string): Promise<StoredEvent[]> {
  const read: StoredEvent[] = [];
  for await (const event of store.read(sessionId, { after: 0 })) read.push(event);
  return read;
}

const server = await startPostgres();

if (typeof server === "string") {
  Deno.test({ name: `PostgresStore: skipped, ${server}`, ignore: true, fn() {} });
} else {
  globalThis.addEventListener("unload", () => server.stop());
  const { url } = server;
  let schemas = 0;
  /** A schema no other test uses. */
  const fresh = () => `t${++schemas}`;

  runtimeStoreConformance("PostgresStore", () => openPostgresStore({ url, schema: fresh() }));

  const events = (from: number, to: number, jobId = "job_1"): StoredEvent[] =>
    Array.from({ length: to - from + 1 }, (_, i) => storedEvent(from + i, jobId));

  Deno.test("PostgresStore: several stores opening one new schema at once all succeed, migrated once", async () => {
    const schema = fresh();
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => openPostgresStore({ url, schema })),
    );
    const sql = postgres(url, { onnotice: () => {} });
    try {
      const rows = await sql.unsafe(`SELECT version FROM "${schema}".migrations`);
      assert.deepEqual(rows.map((row) => row.version), [1]);
      await stores[0]!.append("s", events(1, 2));
      assert.deepEqual(await stores[3]!.bounds("s"), { first: 1, last: 2 });
      // Opening an existing schema again applies nothing and keeps its data.
      const again = await openPostgresStore({ url, schema });
      assert.deepEqual(await again.bounds("s"), { first: 1, last: 2 });
      await again.close();
    } finally {
      for (const store of stores) await store.close();
      await sql.end();
    }
  });

  Deno.test("PostgresStore: a batch that fails part-way stores none of its events", async () => {
    const schema = fresh();
    const store = await openPostgresStore({ url, schema });
    const sql = postgres(url, { onnotice: () => {} });
    try {
      // A row the log does not know of makes the insert of event 3 fail.
      await sql.unsafe(
        `INSERT INTO "${schema}".events (session_id, event_seq, event) VALUES ('s', 3, '{}')`,
      );
      await assert.rejects(store.append("s", events(1, 5)));
      assert.deepEqual(await store.bounds("s"), { first: 1, last: 0 });
      const [row] = await sql.unsafe(
        `SELECT count(*)::int AS n FROM "${schema}".events WHERE event_seq <> 3`,
      );
      assert.equal(row!.n, 0);
    } finally {
      await store.close();
      await sql.end();
    }
  });

  Deno.test("PostgresStore: compareAndAppend from two writers never interleaves their batches", async () => {
    const schema = fresh();
    const writers = [
      await openPostgresStore({ url, schema }),
      await openPostgresStore({ url, schema }),
    ];
    const BATCHES = 15;
    const SIZE = 4;
    try {
      await Promise.all(writers.map(async (store, writer) => {
        for (let batch = 0; batch < BATCHES; batch++) {
          const job = `job_w${writer}_b${batch}`;
          while (true) {
            const { last } = await store.bounds("s");
            if (await store.compareAndAppend("s", events(last + 1, last + SIZE, job)) > 0) break;
          }
        }
      }));
      const read = await readAll(writers[0]!, "s");
      assert.deepEqual(
        read.map((event) => event.event_seq),
        Array.from({ length: 2 * BATCHES * SIZE }, (_, i) => i + 1),
      );
      for (let i = 0; i < read.length; i += SIZE) {
        const jobs = new Set(read.slice(i, i + SIZE).map((event) => event.job_id));
        assert.equal(jobs.size, 1, `events ${i + 1} to ${i + SIZE} come from one batch`);
      }
      assert.equal(new Set(read.map((event) => event.job_id)).size, 2 * BATCHES);
    } finally {
      for (const store of writers) await store.close();
    }
  });

  Deno.test("PostgresStore: a watcher sees another connection's appends, one notification per batch", async () => {
    const schema = fresh();
    const [reader, writer] = [
      await openPostgresStore({ url, schema }),
      await openPostgresStore({ url, schema }),
    ];
    const sql = postgres(url, { onnotice: () => {} });
    const payloads: string[] = [];
    const sentinel = Promise.withResolvers<void>();
    const listening = await sql.listen("arcp_log", (payload) => {
      payloads.push(payload);
      if (payload === `${schema}:sentinel`) sentinel.resolve();
    });
    const controller = new AbortController();
    try {
      const seen: number[] = [];
      const watching = (async () => {
        for await (const bounds of reader.watch("s", { signal: controller.signal })) {
          seen.push(bounds.last);
          if (bounds.last === 150) controller.abort();
        }
      })();
      for (let batch = 0; batch < 3; batch++) {
        await writer.append("s", events(batch * 50 + 1, batch * 50 + 50));
      }
      await watching;
      assert.equal(seen.at(-1), 150);
      // Notifications arrive in commit order: once the sentinel's has, all of the log's have.
      await writer.append("sentinel", events(1, 1));
      await sentinel.promise;
      assert.equal(payloads.filter((p) => p === `${schema}:s`).length, 3);
    } finally {
      controller.abort();
      await listening.unlisten();
      await sql.end();
      await reader.close();
      await writer.close();
    }
  });

  Deno.test("PostgresStore: keys and values holding NUL and U+0001 round-trip, listed in byte order", async () => {
    const store = await openPostgresStore({ url, schema: fresh() });
    try {
      const keys = [["k", "a"], ["k", "a\u0000"], ["k", "a\u0000b"], ["k", "a\u0001"], [
        "k",
        "a\u0002",
      ]];
      for (const key of [...keys].reverse()) {
        assert.equal(await store.set(key, { text: `v\u0000${key[1]}` }, { ifVersion: null }), true);
      }
      const listed = [];
      for await (const entry of store.list(["k"])) listed.push(entry);
      assert.deepEqual(listed.map((entry) => entry.key), keys);
      assert.deepEqual(listed[2]!.value, { text: "v\u0000a\u0000b" });
      const after = [];
      for await (const entry of store.list(["k"], { after: ["k", "a\u0000"] })) {
        after.push(entry.key);
      }
      assert.deepEqual(after, keys.slice(2));
      assert.equal(await store.delete(["k", "a\u0001"], { ifVersion: listed[3]!.version }), true);
      assert.equal(await store.get(["k", "a\u0001"]), undefined);
      assert.deepEqual((await store.get(["k", "a\u0000"]))?.value, { text: "v\u0000a\u0000" });
    } finally {
      await store.close();
    }
  });

  Deno.test("PostgresStore: reads a long log in pages, in order, from any point", async () => {
    const store = await openPostgresStore({ url, schema: fresh() });
    try {
      await store.append("s", events(1, 1_234));
      const read = await readAll(store, "s");
      assert.equal(read.length, 1_234);
      assert.ok(read.every((event, i) => event.event_seq === i + 1));
      // Events of 1 MiB each: pages cut by size, not by count, lose none of them.
      const big = events(1_235, 1_250).map((event) => ({ ...event, pad: "x".repeat(1 << 20) }));
      await store.append("s", big);
      const all = await readAll(store, "s");
      assert.equal(all.length, 1_250);
      assert.ok(all.every((event, i) => event.event_seq === i + 1));
      assert.deepEqual(all.at(-1), big.at(-1));
      const tail = [];
      for await (const event of store.read("s", { after: 1_000 })) tail.push(event.event_seq);
      assert.deepEqual(tail, Array.from({ length: 250 }, (_, i) => 1_001 + i));
    } finally {
      await store.close();
    }
  });

  Deno.test("PostgresStore: a connection the caller gives stays open after close()", async () => {
    const sql = postgres(url, { onnotice: () => {} });
    try {
      const store = await openPostgresStore({ sql, schema: fresh() });
      await store.set(["a", "1"], { n: 1 });
      await store.close();
      const [row] = await sql`SELECT 1 AS one`;
      assert.equal(row!.one, 1);
    } finally {
      await sql.end();
    }
  });

  Deno.test("PostgresStore: a schema name that is not an identifier is refused before connecting", async () => {
    for (const schema of ["", "1abc", 'a"; DROP SCHEMA public; --', "a".repeat(64), "a-b"]) {
      await assert.rejects(openPostgresStore({ url, schema }), TypeError);
    }
  });

  Deno.test("PostgresStore: a database that cannot be reached fails the open", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    listener.close();
    await assert.rejects(
      openPostgresStore({ url: `postgres://postgres@127.0.0.1:${port}/postgres` }),
      /ECONNREFUSED|connect/i,
    );
  });
}
