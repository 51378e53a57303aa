/**
 * Leased file access for agents on Deno (spec §9): the portable
 * {@linkcode AgentContext} has no file system, and this adapter adds one
 * whose every call is checked against the job's `fs.read` / `fs.write`
 * lease. Deno only (it uses `Deno.*`); portable code never imports it.
 *
 * Each call is one tool call of the job (spec §8.2): `tool_call` with the
 * path as given, then `tool_result` with the path acted on and a size, or
 * with the error. Before any disk access the path is canonicalised (see
 * `canonicalizePath`: absolute, percent-decoded once, `.`/`..` resolved) and
 * authorised synchronously (spec §9.3); then its symbolic links are resolved
 * with `Deno.realPath` and the real path is authorised again, so a link
 * inside the lease that points outside it is refused. The operation is
 * performed on that real path. A refusal is `PERMISSION_DENIED`,
 * `LEASE_EXPIRED` or `BUDGET_EXHAUSTED` exactly as for `ctx.tool`: a
 * `tool_result` error, thrown to the agent as an `ArcpError`, and the job
 * goes on (except after expiry, which ends it, spec 1.1 §9.5). A failure of
 * the disk itself (no such file, not a directory) is thrown as
 * `INTERNAL_ERROR` with the Deno error as `cause`.
 *
 * Limits, stated plainly:
 * - Grant the real path of a directory (`Deno.realPath`): a lease on
 *   `/tmp/x/**` covers nothing where `/tmp` is itself a link.
 * - Resolving links and then opening the file are two steps. A process that
 *   can write inside the leased tree can swap a checked component for a link
 *   in between, and Deno offers no `O_NOFOLLOW`/`openat` to close that gap.
 * - A hard link or a bind mount inside the tree is indistinguishable from a
 *   file that belongs there.
 * - Names holding a percent-escape (`a%41.txt`) are read as their decoded
 *   spelling, like every leased path, so such files cannot be reached.
 *
 * Confine the process too (`deno run --allow-read=… --allow-write=…`, or an
 * OS sandbox): the lease is the protocol's boundary, not a sandbox.
 *
 * @example Read a file through the lease; a path outside it is refused
 * ```ts
 * import { Runtime, staticTokens } from "@arcp/arcp/runtime";
 * import { denoFs } from "@arcp/arcp/runtime/fs-deno";
 * import { connect } from "@arcp/arcp/client";
 * import { memoryTransportPair } from "@arcp/arcp/transports/memory";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.writeTextFile(`${dir}/notes.txt`, "hello");
 * await using runtime = new Runtime({
 *   authenticate: staticTokens({ t: "alice" }),
 *   agents: [{
 *     name: "reader",
 *     handler: async (input: { path: string }, ctx) => {
 *       const fs = denoFs(ctx);
 *       const text = await fs.readTextFile(input.path);
 *       const denied = await fs.readTextFile("/etc/hostname").catch((error) => error.code);
 *       return { text, denied };
 *     },
 *   }],
 * });
 * const [clientSide, runtimeSide] = memoryTransportPair();
 * runtime.accept(runtimeSide);
 * await using client = await connect(clientSide, { token: "t" });
 * const job = await client.submit("reader", { path: `${dir}/notes.txt` }, {
 *   leaseRequest: { "fs.read": [`${dir}/**`] },
 * });
 * assert.deepEqual((await job.result).result, { text: "hello", denied: "PERMISSION_DENIED" });
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { canonicalizePath } from "../protocol/canonical.ts";
import { ArcpError } from "../protocol/errors.ts";
import { isGlobSubset } from "../protocol/glob.ts";
import type { Lease } from "../protocol/messages.ts";
import type { AgentContext } from "./context.ts";

export type { AgentContext } from "./context.ts";

/** What the adapter needs of an agent's context: its enforced operations and its lease. */
export type FsContext = Pick<AgentContext, "authorize" | "tool" | "signal" | "lease">;

/** Options of {@linkcode DenoFs.writeFile} and {@linkcode DenoFs.writeTextFile}. */
export interface FsWriteOptions {
  /**
   * Append to the file instead of replacing its content.
   * @default {false}
   */
  append?: boolean;
  /**
   * Fail if the file already exists.
   * @default {false}
   */
  createNew?: boolean;
}

/**
 * File operations bound to one job's lease, made by {@linkcode denoFs}.
 * Paths must be absolute. Every method is one `tool_call`/`tool_result`
 * pair and throws an `ArcpError`: `PERMISSION_DENIED` (outside the lease,
 * through a link leading out of it, or a path that cannot be canonicalised),
 * `LEASE_EXPIRED`, `BUDGET_EXHAUSTED`, or `INTERNAL_ERROR` for a disk error.
 */
export interface DenoFs {
  /** Reads a file's bytes (`fs.read`; tool `fs.read`). */
  readFile(path: string): Promise<Uint8Array>;
  /** Reads a file as UTF-8 text, invalid bytes replaced (`fs.read`; tool `fs.read`). */
  readTextFile(path: string): Promise<string>;
  /** Writes bytes, creating the file if needed (`fs.write`; tool `fs.write`). */
  writeFile(path: string, data: Uint8Array, options?: FsWriteOptions): Promise<void>;
  /** Writes text as UTF-8 (`fs.write`; tool `fs.write`). */
  writeTextFile(path: string, text: string, options?: FsWriteOptions): Promise<void>;
  /**
   * Lists a directory, in the order the system gives (`fs.read`; tool
   * `fs.read_dir`). The listing reveals the names inside: it needs `fs.read`
   * on the directory itself, or on every name directly inside it (so a lease
   * of `/data/**` lets `/data` be listed, and `/` or `/data/..` not).
   */
  readDir(path: string): Promise<Deno.DirEntry[]>;
  /** Describes a file or directory, links followed (`fs.read`; tool `fs.stat`). */
  stat(path: string): Promise<Deno.FileInfo>;
}

type FsCapability = "fs.read" | "fs.write";

/**
 * Where an operation on the canonical path `path` really lands. A file to be
 * written may not exist yet: then its directory is resolved instead, and a
 * dangling link in its place is refused, since the write would follow it.
 */
async function realTarget(path: string, capability: FsCapability): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch (error) {
    if (capability === "fs.read" || !(error instanceof Deno.errors.NotFound)) throw error;
  }
  const slash = path.lastIndexOf("/");
  const parent = await Deno.realPath(path.slice(0, slash) || "/");
  const target = `${parent === "/" ? "" : parent}/${path.slice(slash + 1)}`;
  const dangling = await Deno.lstat(target).then(() => true, () => false);
  if (dangling) {
    throw new ArcpError(
      "PERMISSION_DENIED",
      `fs.write of "${path}" denied: it is a symbolic link to a missing file`,
      { details: { capability, target: path } },
    );
  }
  return target;
}

/**
 * Runs `operate` as one enforced tool call: `ctx.tool` emits `tool_call`
 * and authorises the path as given; the real path is authorised again
 * before `operate` touches it; `tool_result` carries `describe`'s summary.
 * A `listing` is authorised as {@linkcode listingTarget} says.
 */
async function leased<T>(
  ctx: FsContext,
  call: { tool: string; capability: FsCapability; path: string; listing?: boolean },
  operate: (target: string) => Promise<T>,
  describe: (value: T) => Record<string, unknown>,
): Promise<T> {
  const { tool, capability, path } = call;
  const checked = (canonical: string) =>
    call.listing === true ? listingTarget(ctx.lease, canonical) : canonical;
  let value: T;
  await ctx.tool(tool, async () => {
    // Already authorised by ctx.tool, so this canonicalisation cannot fail.
    const target = await realTarget(canonicalizePath(path), capability);
    const real = checked(target);
    // Refusals name the path as given: where a link leads out of the lease is not told.
    let authorized: string;
    try {
      authorized = ctx.authorize(capability, real);
    } catch (error) {
      if (!(error instanceof ArcpError && error.code === "PERMISSION_DENIED")) throw error;
      throw new ArcpError(
        "PERMISSION_DENIED",
        `${capability} of "${path}" denied: its real path is outside the lease`,
        { details: { capability, target: path } },
      );
    }
    if (authorized !== real) {
      // A real name with a percent-escape: what was authorised is another file.
      throw new ArcpError(
        "PERMISSION_DENIED",
        `${capability} of "${path}" denied: its real path is not canonical`,
        { details: { capability, target: path } },
      );
    }
    value = await operate(target);
    return { path: target, ...describe(value) };
  }, {
    args: { path },
    capability,
    target: call.listing === true ? listingTargetOf(ctx.lease, path) : path,
  });
  return value!;
}

/**
 * The target a listing of the canonical directory `dir` is authorised as:
 * `dir/*` when one `fs.read` pattern covers every name directly inside it
 * (the lease then matches that literal name too), else `dir` itself.
 */
function listingTarget(lease: Lease, dir: string): string {
  const names = `${dir === "/" ? "" : dir}/*`;
  const covered = (lease["fs.read"] ?? []).some((pattern) => isGlobSubset(names, pattern));
  return covered ? names : dir;
}

/** {@linkcode listingTarget} of a path as given; one that cannot be canonicalised is checked as is. */
function listingTargetOf(lease: Lease, path: string): string {
  let canonical: string;
  try {
    canonical = canonicalizePath(path);
  } catch {
    return path;
  }
  return listingTarget(lease, canonical);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Gives an agent file operations enforced by its lease (spec §9.1, §9.3).
 * See the module documentation for the checks and their limits.
 *
 * @param ctx The agent's context (any object with its `authorize`, `tool`,
 *   `signal` and `lease`); reads and writes stop when its `signal` aborts.
 * @returns The operations, bound to `ctx`.
 * @example Write needs `fs.write`; `fs.read` is not enough
 * ```ts
 * import type { AgentHandler } from "@arcp/arcp/runtime";
 * import { denoFs } from "@arcp/arcp/runtime/fs-deno";
 * import { ArcpError } from "@arcp/arcp";
 *
 * // Submitted with { "fs.read": ["/data/**"], "fs.write": ["/data/out/**"] }.
 * export const copier: AgentHandler<{ from: string; to: string }, number> = async (input, ctx) => {
 *   const fs = denoFs(ctx);
 *   const bytes = await fs.readFile(input.from);
 *   try {
 *     await fs.writeFile(input.to, bytes);
 *   } catch (error) {
 *     if (error instanceof ArcpError && error.code === "PERMISSION_DENIED") return 0;
 *     throw error;
 *   }
 *   return bytes.length;
 * };
 * ```
 */
export function denoFs(ctx: FsContext): DenoFs {
  const readFile = (path: string): Promise<Uint8Array> =>
    leased(
      ctx,
      { tool: "fs.read", capability: "fs.read", path },
      (target) => Deno.readFile(target, { signal: ctx.signal }),
      (bytes) => ({ bytes: bytes.length }),
    );
  const writeFile = (path: string, data: Uint8Array, options: FsWriteOptions = {}) =>
    leased(
      ctx,
      { tool: "fs.write", capability: "fs.write", path },
      (target) => Deno.writeFile(target, data, { ...options, signal: ctx.signal }),
      () => ({ bytes: data.length }),
    );
  return {
    readFile,
    readTextFile: async (path) => decoder.decode(await readFile(path)),
    writeFile,
    writeTextFile: (path, text, options) => writeFile(path, encoder.encode(text), options),
    readDir: (path) =>
      leased(
        ctx,
        { tool: "fs.read_dir", capability: "fs.read", path, listing: true },
        (target) => Array.fromAsync(Deno.readDir(target)),
        (entries) => ({ entries: entries.length }),
      ),
    stat: (path) =>
      leased(
        ctx,
        { tool: "fs.stat", capability: "fs.read", path },
        (target) => Deno.stat(target),
        (info) => ({ is_file: info.isFile, is_directory: info.isDirectory, size: info.size }),
      ),
  };
}
