// The suite every EventStore must pass, whatever its backend (STYLE §26).
// Call it from a <store>_test.ts with a factory that returns a fresh store.

import assert from "node:assert/strict";
import type { EventStore, StoredEvent } from "../../store/types.ts";

/** Makes a fresh, empty store; called once per test. */
export type EventStoreFactory = () => EventStore | Promise<EventStore>;

/** A stored `job.event` envelope with sequence number `seq`. */
export function storedEvent(seq: number, jobId = "job_1"): StoredEvent {
  return {
    arcp: "1.1",
    id: `msg_${jobId}_${seq}`,
    type: "job.event",
    session_id: "sess_1",
    job_id: jobId,
    event_seq: seq,
    payload: {
      kind: "log",
      ts: "2026-01-01T00:00:00.000Z",
      body: { level: "info", message: `event ${seq}` },
    },
  };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function events(from: number, to: number): StoredEvent[] {
  return range(from, to).map((seq) => storedEvent(seq));
}

async function seqs(store: EventStore, sessionId: string, after = 0): Promise<number[]> {
  const read: number[] = [];
  for await (const event of store.read(sessionId, { after })) read.push(event.event_seq);
  return read;
}

/** Registers the conformance tests for the store `name` made by `factory`. */
export function eventStoreConformance(name: string, factory: EventStoreFactory): void {
  const test = (behaviour: string, fn: (store: EventStore) => Promise<void>) =>
    Deno.test({
      name: `${name} ${behaviour}`,
      async fn() {
        const store = await factory();
        try {
          await fn(store);
        } finally {
          await store.close?.();
        }
      },
    });

  test("reads back appended events in event_seq order, unchanged", async (store) => {
    const appended = events(1, 5);
    await store.append("s", appended.slice(0, 2));
    await store.append("s", appended.slice(2));
    const read: StoredEvent[] = [];
    for await (const event of store.read("s", { after: 0 })) read.push(event);
    assert.deepEqual(read, appended);
  });

  test("reads only the events after `after`", async (store) => {
    await store.append("s", events(1, 5));
    assert.deepEqual(await seqs(store, "s", 2), [3, 4, 5]);
    assert.deepEqual(await seqs(store, "s", 5), []);
    assert.deepEqual(await seqs(store, "s", 99), []);
  });

  test("reads nothing for an unknown session", async (store) => {
    assert.deepEqual(await seqs(store, "nobody"), []);
  });

  test("keeps sessions apart", async (store) => {
    await store.append("a", events(1, 3));
    await store.append("b", events(1, 1));
    assert.deepEqual(await seqs(store, "a"), [1, 2, 3]);
    assert.deepEqual(await seqs(store, "b"), [1]);
    await store.trim("a", { through: 3 });
    assert.deepEqual(await seqs(store, "b"), [1]);
  });

  test("reports bounds: empty, after appends, after trims", async (store) => {
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 0 });
    await store.append("s", events(1, 4));
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 4 });
    await store.trim("s", { through: 2 });
    assert.deepEqual(await store.bounds("s"), { first: 3, last: 4 });
    await store.trim("s", { through: 4 });
    assert.deepEqual(await store.bounds("s"), { first: 5, last: 4 }, "empty: first is last + 1");
  });

  test("trim drops events through the given seq and keeps the rest", async (store) => {
    await store.append("s", events(1, 6));
    await store.trim("s", { through: 3 });
    assert.deepEqual(await seqs(store, "s"), [4, 5, 6]);
    assert.deepEqual(await seqs(store, "s", 4), [5, 6]);
    await store.trim("s", { through: 2 });
    assert.deepEqual(await seqs(store, "s"), [4, 5, 6], "trimming below first changes nothing");
    await store.trim("nobody", { through: 10 });
    assert.deepEqual(await store.bounds("nobody"), { first: 1, last: 0 });
  });

  test("appending continues the sequence after a trim", async (store) => {
    await store.append("s", events(1, 3));
    await store.trim("s", { through: 3 });
    await store.append("s", events(4, 5));
    assert.deepEqual(await seqs(store, "s"), [4, 5]);
    assert.deepEqual(await store.bounds("s"), { first: 4, last: 5 });
  });

  test("append is idempotent: already-stored seqs are skipped, not replaced", async (store) => {
    await store.append("s", events(1, 3));
    await store.append("s", events(1, 3));
    const replacement = { ...storedEvent(2), id: "msg_other" };
    await store.append("s", [replacement, ...events(3, 5)]);
    assert.deepEqual(await seqs(store, "s"), [1, 2, 3, 4, 5]);
    const second: StoredEvent[] = [];
    for await (const event of store.read("s", { after: 1 })) second.push(event);
    assert.equal(second[0]!.id, storedEvent(2).id);
    // Re-appending trimmed seqs is not a gap either.
    await store.trim("s", { through: 5 });
    await store.append("s", events(1, 5));
    assert.deepEqual(await store.bounds("s"), { first: 6, last: 5 });
  });

  test("append rejects a batch that would leave a gap with RangeError", async (store) => {
    await assert.rejects(store.append("s", [storedEvent(2)]), RangeError);
    await store.append("s", events(1, 2));
    await assert.rejects(store.append("s", [storedEvent(4)]), RangeError);
    assert.deepEqual(await seqs(store, "s"), [1, 2]);
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 2 });
  });

  test("streams events appended while a read is in progress", async (store) => {
    await store.append("s", events(1, 2));
    const iterator = store.read("s", { after: 0 })[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).value?.event_seq, 1);
    await store.append("s", events(3, 4));
    const rest: number[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      rest.push(next.value.event_seq);
    }
    assert.deepEqual(rest, [2, 3, 4]);
  });

  test("stops a read when its signal aborts", async (store) => {
    await store.append("s", events(1, 5));
    const controller = new AbortController();
    const read: number[] = [];
    for await (const event of store.read("s", { after: 0, signal: controller.signal })) {
      read.push(event.event_seq);
      if (event.event_seq === 2) controller.abort();
    }
    assert.deepEqual(read, [1, 2]);
  });

  test("stores nothing of a batch it rejects", async (store) => {
    await store.append("s", events(1, 1));
    await assert.rejects(store.append("s", [storedEvent(2), storedEvent(4)]), RangeError);
    assert.deepEqual(await seqs(store, "s"), [1]);
    assert.deepEqual(await store.bounds("s"), { first: 1, last: 1 });
  });
}
