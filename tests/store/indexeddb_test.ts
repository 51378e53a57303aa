import assert from "node:assert/strict";
import { IDBFactory, IDBKeyRange } from "npm:fake-indexeddb@^6.2.8";
import { type IDBDatabaseLike, IndexedDbStore, openIndexedDbStore } from "../../store/indexeddb.ts";
import { SCHEMA_VERSION } from "../../store/_idb.ts";
import { transact } from "../../internal/idb.ts";
import { jobRecord, runtimeStoreConformance, sessionRecord, storedEvent } from "./conformance.ts";

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

Deno.test("IndexedDbStore moves the records an earlier schema stored into its records", async () => {
  const factory = new IDBFactory();
  // A database with the version-3 schema: an object store per kind of record.
  const open = factory.open("arcp", 3);
  open.onupgradeneeded = () => {
    const db = open.result;
    for (const name of ["events", "log_meta", "session_tokens"]) db.createObjectStore(name);
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
  assert.throws(
    () => new IndexedDbStore(old, { keyRange: IDBKeyRange }),
    (error: Error) => error instanceof TypeError && /no "records" object store/.test(error.message),
  );
  const record = { ...sessionRecord("sess_old"), previous_token_sha256: "cd".repeat(32) };
  const running = jobRecord("job_1", { status: "running" });
  const done = jobRecord("job_2", { status: "success" });
  const claim = {
    principal: "alice",
    key: "k",
    job_id: "job_1",
    fingerprint: "f",
    expires_at: "2999-01-01T00:00:00.000Z",
  };
  const credential = {
    credential_id: "cred_1",
    job_id: "job_1",
    principal: "alice",
    issued_at: "2026-01-01T00:00:00.000Z",
    state: "issued" as const,
    attempts: 0,
  };
  await transact(old, ["sessions", "jobs", "idempotency", "credentials"], "readwrite", (tx) => {
    tx.objectStore("sessions").put(record);
    tx.objectStore("sessions").put({
      ...sessionRecord("sess_other", "bob"),
      resume_token_sha256: "ef".repeat(32),
    });
    tx.objectStore("jobs").put(running);
    tx.objectStore("jobs").put(done);
    tx.objectStore("idempotency").put(claim);
    tx.objectStore("credentials").put(credential);
    return Promise.resolve();
  });
  old.close();
  const upgraded = await openIndexedDbStore("arcp", factory, { keyRange: IDBKeyRange });
  try {
    assert.deepEqual(await upgraded.getSession("sess_old"), record);
    assert.deepEqual(await upgraded.getSessionByToken(record.resume_token_sha256), record);
    assert.deepEqual(await upgraded.getSessionByToken("cd".repeat(32)), record);
    assert.deepEqual(await upgraded.getJob("job_2"), done);
    const listed = await upgraded.listJobs({ principal: running.principal, limit: 10 });
    assert.deepEqual(listed.jobs.map((job) => job.job_id), ["job_1", "job_2"]);
    const unfinished = [];
    for await (const job of upgraded.listUnfinishedJobs()) unfinished.push(job.job_id);
    assert.deepEqual(unfinished, ["job_1"]);
    const again = await upgraded.claimIdempotencyKey(
      { ...claim, job_id: "job_9" },
      "2026-01-01T00:00:00.000Z",
    );
    assert.deepEqual(again, claim);
    const credentials = [];
    for await (const entry of upgraded.listCredentials()) credentials.push(entry);
    assert.deepEqual(credentials, [credential]);
    await upgraded.deleteSession("sess_old");
    assert.equal(await upgraded.getSessionByToken("cd".repeat(32)), undefined);
  } finally {
    await upgraded.close();
  }
});
