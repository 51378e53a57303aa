// The Deno KV file behind `serve --store kv`: opened with a one-line reason
// when it cannot be (a directory, a missing directory, no permission, not a
// database), and watched while serving, since a file deleted or replaced
// under a running SQLite database takes every later write with it.

import { type DenoKvStore, openDenoKvStore } from "../store/deno_kv.ts";

/** Milliseconds between two looks at the KV file's identity. */
const WATCH_INTERVAL_MS = 1000;

/** An OS error's own words, without its number and path. */
function words(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(
    / \(os error \d+\).*$/,
    "",
  );
}

/** Why the KV file at `path` cannot be opened, in a few words. */
async function reason(path: string, error: unknown): Promise<string> {
  const message = error instanceof Error ? error.message : String(error);
  if (/not a database/i.test(message)) {
    return "it is not a Deno KV database (a corrupt file, or another kind of file)";
  }
  let exists = true;
  try {
    if ((await Deno.stat(path)).isDirectory) return "it is a directory";
  } catch (statError) {
    if (!(statError instanceof Deno.errors.NotFound)) return words(statError);
    exists = false;
    const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
    try {
      await Deno.stat(parent);
    } catch {
      return `its directory "${parent}" does not exist`;
    }
  }
  try {
    // The file system's own word for it, e.g. "Permission denied"; a file
    // made to find out is removed, or the next start would open it as new.
    const options = exists ? { read: true, write: true } : { write: true, createNew: true };
    (await Deno.open(path, options)).close();
    if (!exists) await Deno.remove(path);
  } catch (openError) {
    return words(openError);
  }
  return message;
}

/**
 * Opens a store on the KV file at `path` and reads from it once, so that a
 * damaged file is found at start, not at the first client.
 *
 * @throws {Error} a one-line message naming the path and the reason.
 */
export async function openKvFile(path: string): Promise<DenoKvStore> {
  let store: DenoKvStore | undefined;
  try {
    store = await openDenoKvStore(path);
    await store.bounds("");
    return store;
  } catch (error) {
    await store?.close();
    throw new Error(`Cannot open the Deno KV file "${path}": ${await reason(path, error)}`);
  }
}

/** A file's identity: it changes when the file is deleted, or replaced by another. */
async function identity(path: string): Promise<string | undefined> {
  try {
    const info = await Deno.stat(path);
    return `${info.dev}:${info.ino}`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    return `unreadable: ${words(error)}`;
  }
}

/**
 * Calls `gone` once, with a one-line reason, if the file at `path` is
 * deleted or replaced; checks every second until `signal` aborts.
 */
export async function watchKvFile(
  path: string,
  signal: AbortSignal,
  gone: (why: string) => void,
): Promise<void> {
  const original = await identity(path);
  const timer = setInterval(async () => {
    const now = await identity(path);
    if (signal.aborted || now === original) return;
    clearInterval(timer);
    const what = now === undefined
      ? "was deleted"
      : now.startsWith("unreadable: ")
      ? `can no longer be read (${now.slice(12)})`
      : "was replaced";
    gone(`The Deno KV file "${path}" ${what} while serving`);
  }, WATCH_INTERVAL_MS);
  signal.addEventListener("abort", () => clearInterval(timer), { once: true });
}
