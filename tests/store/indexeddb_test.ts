import assert from "node:assert/strict";
import { IDBFactory, IDBKeyRange } from "npm:fake-indexeddb@^6.2.8";
import { type IDBDatabaseLike, IndexedDbStore, openIndexedDbStore } from "../../store/indexeddb.ts";
import { SCHEMA_VERSION } from "../../store/_idb.ts";
import { runtimeStoreConformance, sessionRecord, storedEvent } from "./conformance.ts";

// fake-indexeddb without its `auto` entry: nothing global, so each test gets
// a fresh in-memory factory and passes IDBKeyRange in.
runtimeStoreConformance(
  "IndexedDbStore",
  () => openIndexedDbStore("arcp", new IDBFactory(), { keyRange: IDBKeyRange }),
);

runtimeStoreConformance("IndexedDbStore (given database)", async () => {
  const open = new IDBFactory().open("app", 1);
  open.onupgradeneeded = () => IndexedDbStore.createSchema(open.result, open.transaction);
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
    const open = factory.open("arcp", SCHEMA_VERSION + 1);
    open.onsuccess = () => {
      open.result.close();
      resolve();
    };
    open.onerror = () => reject(open.error);
    open.onblocked = () => reject(new Error("blocked"));
  });
});

Deno.test("IndexedDbStore finds sessions stored before the token index, before and after the upgrade", async () => {
  const factory = new IDBFactory();
  // A database with the version-2 schema, which has no session_tokens store.
  const open = factory.open("arcp", 2);
  open.onupgradeneeded = () => {
    const db = open.result;
    for (const name of ["events", "log_meta"]) db.createObjectStore(name);
    db.createObjectStore("sessions", { keyPath: "session_id" });
    const jobs = db.createObjectStore("jobs", { keyPath: "job_id" });
    jobs.createIndex("by_principal", ["principal", "job_id"]);
    jobs.createIndex("by_status", ["status", "job_id"]);
    db.createObjectStore("idempotency", { keyPath: ["principal", "key"] });
    db.createObjectStore("credentials", { keyPath: "credential_id" });
  };
  const old = await new Promise<IDBDatabaseLike>((resolve, reject) => {
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const record = { ...sessionRecord("sess_old"), previous_token_sha256: "cd".repeat(32) };
  const legacy = new IndexedDbStore(old, { keyRange: IDBKeyRange });
  await legacy.putSession(record);
  await legacy.putSession({
    ...sessionRecord("sess_other", "bob"),
    resume_token_sha256: "ef".repeat(32),
  });
  assert.deepEqual(await legacy.getSessionByToken("cd".repeat(32)), record, "found by a scan");
  old.close();
  const upgraded = await openIndexedDbStore("arcp", factory, { keyRange: IDBKeyRange });
  try {
    assert.deepEqual(await upgraded.getSessionByToken(record.resume_token_sha256), record);
    assert.deepEqual(await upgraded.getSessionByToken("cd".repeat(32)), record);
    await upgraded.deleteSession("sess_old");
    assert.equal(await upgraded.getSessionByToken("cd".repeat(32)), undefined);
  } finally {
    await upgraded.close();
  }
});
