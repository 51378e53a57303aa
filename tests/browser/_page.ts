// The page side of the Chromium tests (see _chromium.ts for the host side):
// a page script runs its work with `publish`, which sets `globalThis.__result`
// (or `__fatal` with the error's stack) and then `__done`; it waits for the
// host with `waitForHost`, and reaches for the page's IndexedDB through
// `pageIndexedDB`. Bundled into each page; no Deno API here.

import type { IDBFactoryLike } from "../../store/indexeddb.ts";

interface PageGlobals {
  __result?: unknown;
  __fatal?: string;
  __done?: boolean;
  __phase?: string;
  __release?: (name: string) => void;
}

const page = globalThis as unknown as PageGlobals;

/** An error's name, message and stack, for the host's failure message. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    // V8's stack starts with "Name: message"; keep the message where it does not.
    const stack = error.stack ?? "";
    return stack.includes(error.message) ? stack : `${error.name}: ${error.message}\n${stack}`;
  }
  return String(error);
}

/** Runs `run` and publishes what it returns (JSON-serialisable) or how it failed. */
export function publish(run: () => Promise<unknown>): void {
  run().then(
    (result) => {
      page.__result = result;
    },
    (error) => {
      page.__fatal = describe(error);
    },
  ).finally(() => {
    page.__done = true;
  });
}

/** Tells the host how far the page got; it waits with `host.phase(phase)`. */
export function reachPhase(phase: string): void {
  page.__phase = phase;
}

const released = new Set<string>();
const waiting = new Map<string, () => void>();
page.__release = (name) => {
  released.add(name);
  waiting.get(name)?.();
};

/** Resolves once the host calls `host.release(name)`. */
export function waitForHost(name: string): Promise<void> {
  if (released.has(name)) return Promise.resolve();
  return new Promise((resolve) => waiting.set(name, resolve));
}

/** The parts of an `IDBRequest` the pages use. */
export interface RequestLike {
  result: unknown;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
  onblocked?: (() => void) | null;
  onupgradeneeded?: (() => void) | null;
}

/** The page's `indexedDB`, as far as the pages use it. */
export interface Factory extends IDBFactoryLike {
  deleteDatabase(name: string): RequestLike;
}

/** The page's global `indexedDB`. */
export function pageIndexedDB(): Factory {
  const factory = (globalThis as { indexedDB?: Factory }).indexedDB;
  if (factory === undefined) throw new Error("no global indexedDB in this page");
  return factory;
}

/**
 * Deletes database `name`. A connection still open blocks that: it fails
 * then, unless `waitIfBlocked`, which waits for the connection to close
 * (a closed connection stays open until its transactions finish).
 */
export function deleteDatabase(
  factory: Factory,
  name: string,
  options: { waitIfBlocked?: boolean } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = factory.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
    if (options.waitIfBlocked) return;
    request.onblocked = () =>
      reject(new Error(`deleting database "${name}" is blocked: a connection was left open`));
  });
}
