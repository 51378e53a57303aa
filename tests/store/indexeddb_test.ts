import assert from "node:assert/strict";
import { IDBFactory, IDBKeyRange } from "npm:fake-indexeddb@^6.2.8";
import { type IDBDatabaseLike, IndexedDbStore, openIndexedDbStore } from "../../store/indexeddb.ts";
import { runtimeStoreConformance, storedEvent } from "./conformance.ts";

// fake-indexeddb without its `auto` entry: nothing global, so each test gets
// a fresh in-memory factory and passes IDBKeyRange in.
runtimeStoreConformance(
  "IndexedDbStore",
  () => openIndexedDbStore("arcp", new IDBFactory(), { keyRange: IDBKeyRange }),
);

runtimeStoreConformance("IndexedDbStore (given database)", async () => {
  const open = new IDBFactory().open("app", 1);
  open.onupgradeneeded = () => IndexedDbStore.createSchema(open.result);
  const db = await new Promise<IDBDatabaseLike>((resolve, reject) => {
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return new class extends IndexedDbStore {
    override async close(): Promise<void> {
      await super.close();
      db.close();
    }
  }(db, { keyRange: IDBKeyRange });
});

Deno.test("openIndexedDbStore() keeps data across closing and reopening the database", async () => {
  const factory = new IDBFactory();
  const first = await openIndexedDbStore("arcp", factory, { keyRange: IDBKeyRange });
  await first.append("s", [storedEvent(1), storedEvent(2)]);
  await first.close();
  const second = await openIndexedDbStore("arcp", factory, { keyRange: IDBKeyRange });
  try {
    assert.deepEqual(await second.bounds("s"), { first: 1, last: 2 });
  } finally {
    await second.close();
  }
});

Deno.test("IndexedDbStore needs an IDBKeyRange where none is global", async () => {
  const factory = new IDBFactory();
  await assert.rejects(openIndexedDbStore("arcp", factory), TypeError);
  // The database it opened was closed again: a version change is not blocked.
  await new Promise<void>((resolve, reject) => {
    const open = factory.open("arcp", 2);
    open.onsuccess = () => {
      open.result.close();
      resolve();
    };
    open.onerror = () => reject(open.error);
    open.onblocked = () => reject(new Error("blocked"));
  });
});
