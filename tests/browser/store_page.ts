// Browser entry of indexeddb_chromium_test.ts: runs the runtime store
// conformance cases against the page's real IndexedDB, each case on a fresh
// database that is deleted afterwards, and publishes the results (one
// `{ name, ok, error, ms }` per case) with _page.ts.
// Bundled with `node:assert/strict` mapped to ./assert.ts; no Deno API here.

import { type IDBDatabaseLike, IndexedDbStore, openIndexedDbStore } from "../../store/indexeddb.ts";
import type { RuntimeStore } from "../../store/types.ts";
import { runtimeStoreCases } from "../store/conformance.ts";
import { deleteDatabase, describe, type Factory, pageIndexedDB, publish } from "./_page.ts";

/** What the page publishes for one case. */
export interface CaseResult {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

/** How long one case may take before it counts as hung. */
const CASE_TIMEOUT_MS = 20_000;

/** Opens `name` with the store's schema, as a page that owns its database would. */
function openOwnDatabase(factory: Factory, name: string): Promise<IDBDatabaseLike> {
  return new Promise((resolve, reject) => {
    const open = factory.open(name, 1);
    open.onupgradeneeded = () => IndexedDbStore.createSchema(open.result);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish within ${CASE_TIMEOUT_MS} ms`)),
      CASE_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Variant {
  label: string;
  open(factory: Factory, name: string): Promise<RuntimeStore>;
}

const VARIANTS: Variant[] = [
  {
    // The global indexedDB and IDBKeyRange, found by default.
    label: "IndexedDbStore (Chromium)",
    open: (_factory, name) => openIndexedDbStore(name),
  },
  {
    label: "IndexedDbStore (Chromium, given database)",
    async open(factory, name) {
      const db = await openOwnDatabase(factory, name);
      return new class extends IndexedDbStore {
        override async close(): Promise<void> {
          await super.close();
          db.close();
        }
      }(db);
    },
  },
];

async function run(): Promise<CaseResult[]> {
  const factory = pageIndexedDB();
  const results: CaseResult[] = [];
  let n = 0;
  for (const variant of VARIANTS) {
    for (const { name, fn } of runtimeStoreCases()) {
      const dbName = `arcp_conformance_${++n}`;
      const started = performance.now();
      const result: CaseResult = { name: `${variant.label} ${name}`, ok: true, ms: 0 };
      try {
        await withTimeout(
          (async () => {
            const store = await variant.open(factory, dbName);
            try {
              await fn(store);
            } finally {
              await store.close?.();
            }
          })(),
          "the case",
        );
        await withTimeout(deleteDatabase(factory, dbName), "deleting its database");
      } catch (error) {
        result.ok = false;
        result.error = describe(error);
      }
      result.ms = Math.round(performance.now() - started);
      results.push(result);
    }
  }
  return results;
}

publish(run);
