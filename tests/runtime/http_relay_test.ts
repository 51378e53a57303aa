// The HTTP binding's hand-over between instances (runtime/_http_relay.ts)
// on a real Deno KV file, and the order it feeds (transports/_http_order.ts):
// POSTs kept for a stream elsewhere are taken once, in Arcp-Seq order.

import assert from "node:assert/strict";
import { systemClock } from "../../protocol/clock.ts";
import { HttpRelay } from "../../runtime/_http_relay.ts";
import { openDenoKvStore } from "../../store/deno_kv.ts";
import type { RecordStore } from "../../store/types.ts";
import { PostOrder } from "../../transports/_http_order.ts";

async function withKv(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "arcp-http-relay-" });
  try {
    await fn(`${dir}/runtime.kv`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function relay(store: RecordStore, id: string): HttpRelay {
  return new HttpRelay(store, id, { clock: systemClock, pollMs: 10, onError: () => {} });
}

Deno.test("a POST for a stream on another instance is kept once, checked, and taken in order", async () => {
  await withKv(async (path) => {
    const storeA = await openDenoKvStore(path);
    const storeB = await openDenoKvStore(path);
    try {
      const a = relay(storeA, "inst_a");
      const b = relay(storeB, "inst_b");
      assert.equal(await b.forward("s1", "tok", 1, ["x"]), "unknown", "no such stream yet");
      await a.opened("s1", "tok");
      assert.equal(await b.forward("s1", "other", 1, ["x"]), "unauthorized");
      assert.equal(await b.forward("s1", undefined, 1, ["x"]), "unauthorized");
      assert.equal(await b.forward("s1", "tok", 2, ["b1", "b2"]), "accepted");
      assert.equal(await b.forward("s1", "tok", 1, ["a"]), "accepted");
      assert.equal(await b.forward("s1", "tok", 1, ["a again"]), "duplicate");
      assert.deepEqual(await a.take("s1", 1), [
        { seq: 1, texts: ["a"] },
        { seq: 2, texts: ["b1", "b2"] },
      ]);
      assert.deepEqual(await a.take("s1", 1), [], "taken once");
      await a.closed("s1");
      assert.equal(await b.forward("s1", "tok", 3, ["late"]), "unknown", "an ended stream");
      assert.deepEqual(await a.take("s1", 1), []);
    } finally {
      storeA.close();
      storeB.close();
    }
  });
});

Deno.test("streams of instances no longer alive are swept with their inboxes", async () => {
  await withKv(async (path) => {
    const store = await openDenoKvStore(path);
    try {
      const dead = relay(store, "inst_dead");
      const live = relay(store, "inst_live");
      await dead.opened("gone", undefined);
      await live.opened("kept", undefined);
      assert.equal(await live.forward("gone", undefined, 1, ["x"]), "accepted");
      await live.sweep(new Set(["inst_live"]));
      assert.equal(await live.forward("gone", undefined, 2, ["y"]), "unknown");
      assert.deepEqual(await dead.take("gone", 1), [], "its inbox went with it");
      assert.equal(await dead.forward("kept", undefined, 1, ["z"]), "accepted");
    } finally {
      store.close();
    }
  });
});

Deno.test("a POST ahead of one handed over waits for it, in order; one ahead of none is a gap", async () => {
  const delivered: string[] = [];
  const inbox: { seq: number; texts: string[] }[] = [];
  const order = new PostOrder((text) => delivered.push(text), {
    take: (from) => Promise.resolve(inbox.splice(0).filter((entry) => entry.seq >= from)),
  }, (error) => assert.fail(String(error)));
  assert.equal(await order.deliver(1, ["one"]), "delivered");
  assert.equal(await order.deliver(1, ["one again"]), "duplicate");
  inbox.push({ seq: 2, texts: ["two (elsewhere)"] });
  assert.equal(await order.deliver(3, ["three"]), "delivered");
  assert.deepEqual(delivered, ["one", "two (elsewhere)", "three"]);
  assert.equal(await order.deliver(5, ["five"]), "gap", "4 never came");
  assert.equal(await order.deliver(4, ["four"]), "delivered");
  assert.deepEqual(delivered.at(-1), "four");
  order.end();
  assert.equal(await order.deliver(5, ["five"]), "ended");
});
