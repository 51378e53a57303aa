// Browser entry of indexeddb_chromium_test.ts: runs the runtime store
// conformance cases against the page's real IndexedDB, each case on a fresh
// database that is deleted afterwards, and publishes the results as
// `globalThis.__results` (one `{ name, ok, error, ms }` per case), then sets
// `globalThis.__done`. A failure outside the cases lands in `__fatal`.
// Bundled with `node:assert/strict` mapped to ./assert.ts; no Deno API here.

import {
  type IDBDatabaseLike,
  type IDBFactoryLike,
  IndexedDbStore,
  openIndexedDbStore,
} from "../../store/indexeddb.ts";
import type { RuntimeStore } from "../../store/types.ts";
import { runtimeStoreCases } from "../store/conformance.ts";

/** What the page publishes for one case. */
export interface CaseResult {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

interface PageGlobals {
  __results?: CaseResult[];
  __done?: boolean;
  __fatal?: string;
}

/** How long one case may take before it counts as hung. */
const CASE_TIMEOUT_MS = 20_000;

interface RequestLike {
  result: unknown;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
  onblocked?: (() => void) | null;
  onupgradeneeded?: (() => void) | null;
}

interface Factory extends IDBFactoryLike {
  deleteDatabase(name: string): RequestLike;
}

const page = globalThis as unknown as PageGlobals & { indexedDB?: Factory };

function describe(error: unknown): string {
  if (error instanceof Error) {
    // V8's stack starts with "Name: message"; keep the message where it does not.
    const stack = error.stack ?? "";
    return stack.includes(error.message) ? stack : `${error.name}: ${error.message}\n${stack}`;
  }
  return String(error);
}

function deleteDatabase(factory: Factory, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = factory.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
    // Blocked: a connection is still open, so the store did not close it.
    request.onblocked = () =>
      reject(new Error(`deleting database "${name}" is blocked: a connection was left open`));
  });
}

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
  const factory = page.indexedDB;
  if (factory === undefined) throw new Error("no global indexedDB in this page");
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

run().then(
  (results) => {
    page.__results = results;
  },
  (error) => {
    page.__fatal = describe(error);
  },
).finally(() => {
  page.__done = true;
});
