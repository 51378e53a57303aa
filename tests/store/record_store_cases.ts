// The suite of the keyed record store contract (`RecordStore`): get, set
// with its version check, delete, list by prefix. Plain data, as the other
// suites, so tests/browser/store_page.ts runs it in a real browser too: it
// uses no Deno API and imports nothing but `node:assert/strict` and types.

import assert from "node:assert/strict";
import type { RecordEntry, RecordKey, RecordStore } from "../../store/types.ts";

/** One case of the suite: a behaviour and a check against a fresh, empty store. */
export interface RecordStoreCase {
  /** The behaviour, as it follows the store's name in the test name. */
  name: string;
  /** Checks the behaviour on `store`. */
  fn: (store: RecordStore) => Promise<void>;
}

async function keys(entries: AsyncIterable<RecordEntry>): Promise<RecordKey[]> {
  const listed: RecordKey[] = [];
  for await (const entry of entries) listed.push(entry.key);
  return listed;
}

/** The cases every record store must pass. */
export function recordStoreCases(): RecordStoreCase[] {
  const cases: RecordStoreCase[] = [];
  const test = (name: string, fn: (store: RecordStore) => Promise<void>) => {
    cases.push({ name, fn });
  };

  test("record store: gets what was set, with a version that changes at every write", async (store) => {
    assert.equal(await store.get(["a", "1"]), undefined);
    assert.equal(await store.set(["a", "1"], { n: 1, list: ["x"] }), true);
    const first = await store.get(["a", "1"]);
    assert.deepEqual(first?.key, ["a", "1"]);
    assert.deepEqual(first?.value, { n: 1, list: ["x"] });
    assert.equal(typeof first?.version, "string");
    await store.set(["a", "1"], { n: 2 });
    const second = await store.get(["a", "1"]);
    assert.deepEqual(second?.value, { n: 2 });
    assert.notEqual(second?.version, first?.version);
  });

  test("record store: set with ifVersion writes only at that version, null meaning absent", async (store) => {
    assert.equal(await store.set(["k"], 1, { ifVersion: null }), true);
    assert.equal(await store.set(["k"], 2, { ifVersion: null }), false);
    const entry = await store.get(["k"]);
    assert.equal(await store.set(["k"], 3, { ifVersion: entry!.version }), true);
    assert.equal(await store.set(["k"], 4, { ifVersion: entry!.version }), false);
    assert.equal((await store.get(["k"]))?.value, 3);
  });

  test("record store: delete removes a record, checks ifVersion, and a missing one is no error", async (store) => {
    assert.equal(await store.delete(["nobody"]), true);
    await store.set(["k"], "v");
    const entry = await store.get(["k"]);
    await store.set(["k"], "w");
    assert.equal(await store.delete(["k"], { ifVersion: entry!.version }), false);
    assert.equal((await store.get(["k"]))?.value, "w");
    assert.equal(await store.delete(["k"], { ifVersion: (await store.get(["k"]))!.version }), true);
    assert.equal(await store.get(["k"]), undefined);
    // Re-created, the key never takes back a version it had.
    await store.set(["k"], "v");
    assert.notEqual((await store.get(["k"]))?.version, entry!.version);
    assert.equal(await store.set(["k"], "x", { ifVersion: entry!.version }), false);
  });

  test("record store: lists the longer keys under a prefix, in key order, after a cursor", async (store) => {
    for (
      const key of [["job", "b"], ["job", "a"], ["jobs", "z"], ["job"], ["j", "x"], [
        "job",
        "c",
        "1",
      ]]
    ) {
      await store.set(key, key.join("/"));
    }
    assert.deepEqual(await keys(store.list(["job"])), [["job", "a"], ["job", "b"], [
      "job",
      "c",
      "1",
    ]]);
    assert.deepEqual(await keys(store.list(["job"], { after: ["job", "a"] })), [["job", "b"], [
      "job",
      "c",
      "1",
    ]]);
    assert.deepEqual(await keys(store.list(["job"], { after: ["job", "c", "1"] })), []);
    assert.deepEqual(await keys(store.list(["none"])), []);
    const values = [];
    for await (const entry of store.list(["jobs"])) values.push(entry.value);
    assert.deepEqual(values, ["jobs/z"]);
  });

  test("record store: deleting a key leaves the longer and shorter keys around it", async (store) => {
    await store.set(["tree"], "root");
    await store.set(["tree", "a"], "a");
    await store.set(["tree", "a", "1"], "a1");
    await store.delete(["tree", "a"]);
    assert.equal(await store.get(["tree", "a"]), undefined);
    assert.equal((await store.get(["tree", "a", "1"]))?.value, "a1");
    assert.deepEqual(await keys(store.list(["tree"])), [["tree", "a", "1"]]);
    await store.delete(["tree", "a", "1"]);
    assert.deepEqual(await keys(store.list(["tree"])), []);
    assert.equal((await store.get(["tree"]))?.value, "root");
    await store.set(["tree", "a", "1"], "again");
    assert.deepEqual(await keys(store.list(["tree"])), [["tree", "a", "1"]]);
  });

  test("record store: of concurrent checked writes at one version, exactly one wins", async (store) => {
    await store.set(["counter"], 0);
    const { version } = (await store.get(["counter"]))!;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.set(["counter"], i + 1, { ifVersion: version })),
    );
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal((await store.get(["counter"]))?.value, results.indexOf(true) + 1);
  });

  test("record store: keeps a value larger than 64 KiB whole, and replaces it", async (store) => {
    const big = { text: "x".repeat(200_000), list: Array.from({ length: 1_000 }, (_, i) => i) };
    await store.set(["big", "1"], big);
    assert.deepEqual((await store.get(["big", "1"]))?.value, big);
    const listed = [];
    for await (const entry of store.list(["big"])) listed.push(entry.value);
    assert.deepEqual(listed, [big]);
    await store.set(["big", "1"], "small");
    assert.equal((await store.get(["big", "1"]))?.value, "small");
    await store.delete(["big", "1"]);
    assert.equal(await store.get(["big", "1"]), undefined);
  });

  return cases;
}
