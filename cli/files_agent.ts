/**
 * The `files` demo agent: walks a real directory tree and counts lines, words
 * and bytes per file extension, as `wc` would. Deno only (it reads files).
 *
 * @module
 */

import { canonicalizePath } from "../protocol/canonical.ts";
import { ArcpError } from "../protocol/errors.ts";
import { globToRegExp } from "../protocol/glob.ts";
import type { AgentContext } from "../runtime/context.ts";
import { type DenoFs, denoFs } from "../runtime/fs_deno.ts";

/** Input of the `files` agent. */
export interface FilesInput {
  /**
   * Directory to walk: an absolute path, or one relative to the runtime's
   * working directory. It is listed as given, so give its real path (links
   * resolved), which is what the lease is checked against.
   */
  root: string;
  /** Glob over paths relative to `root` (`*` one segment, `**` any). @default {"**"} */
  pattern?: string;
  /** Directory names never entered. @default {[".git", "node_modules"]} */
  exclude?: string[];
}

/** `wc`-style counts. */
export interface Counts {
  /** Text files counted (binary files are skipped). */
  files: number;
  /** Newline bytes, as `wc -l` counts them. */
  lines: number;
  /** Runs of non-space bytes, as `wc -w` counts them. */
  words: number;
  /** Size in bytes, as `wc -c` counts it. */
  bytes: number;
}

/** Result of the `files` agent. */
export interface FilesReport extends Counts {
  /** The directory walked, canonical (absolute, `.` and `..` resolved, no trailing slash). */
  root: string;
  /** The glob matched, `**` when none was given. */
  pattern: string;
  /** Counts per extension (`.ts`, `.md`, or `""` for none). */
  by_extension: Record<string, Counts>;
  /** Matching files skipped as binary (they contain a NUL byte). */
  skipped: string[];
  /**
   * Matching files the job could not read, refused by the lease or
   * unreadable, and subdirectories it could not list (as `name/`).
   */
  denied: string[];
}

/**
 * Counts lines (newline bytes), words (runs of non-space bytes, with space as
 * in the C locale: space, \t, \n, \v, \f, \r) and bytes, exactly as
 * `LC_ALL=C wc` does.
 *
 * @param bytes File content.
 * @returns Lines, words and bytes.
 */
export function countText(bytes: Uint8Array): Omit<Counts, "files"> {
  let lines = 0;
  let words = 0;
  let inWord = false;
  for (const byte of bytes) {
    if (byte === 0x0a) lines++;
    const space = byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return { lines, words, bytes: bytes.length };
}

/**
 * The files under `root/prefix` (paths relative to `root`, sorted), listed
 * through the lease: a subdirectory the lease refuses is added to `denied`
 * as `name/` and not entered. A refused `root` throws.
 */
async function walk(
  fs: DenoFs,
  root: string,
  options: { exclude: ReadonlySet<string>; denied: string[] },
  prefix = "",
): Promise<string[]> {
  let entries: Deno.DirEntry[];
  try {
    entries = await fs.readDir(prefix === "" ? root : `${root}/${prefix}`);
  } catch (error) {
    if (prefix === "" || (error instanceof ArcpError && error.code === "LEASE_EXPIRED")) {
      throw error;
    }
    options.denied.push(`${prefix}/`);
    return [];
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const found: string[] = [];
  for (const entry of entries) {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory && !options.exclude.has(entry.name)) {
      found.push(...await walk(fs, root, options, path));
    } else if (entry.isFile) found.push(path);
  }
  return found;
}

function extensionOf(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? "" : name.slice(dot);
}

/**
 * The `files` agent (exact contract of `cli.ts serve --demo`): walks `root`
 * and reads each file through the lease with the Deno file adapter, so each
 * directory listing (tool `fs.read_dir`) and each file read (tool `fs.read`)
 * is a `tool_call`/`tool_result` pair; emits a `progress` event per file
 * and returns the per-extension counts. Submit it with an `fs.read` lease
 * covering `root`, such as `root/**`: no name outside the lease reaches the
 * client.
 *
 * @param input Root, pattern and excluded directory names.
 * @param ctx The job context.
 * @returns The report.
 * @throws {ArcpError} `PERMISSION_DENIED` (or `LEASE_EXPIRED`) when the
 *   lease does not let `root` be listed, `INVALID_REQUEST` when `root` is
 *   not a directory that can be listed.
 */
export async function filesAgent(input: FilesInput, ctx: AgentContext): Promise<FilesReport> {
  if (typeof input?.root !== "string") {
    throw new ArcpError("INVALID_REQUEST", 'The files agent needs input { root: "<directory>" }');
  }
  const fs = denoFs(ctx);
  // Relative to where the runtime runs, as a shell would.
  const given = input.root.startsWith("/") ? input.root : `${Deno.cwd()}/${input.root}`;
  let root: string;
  try {
    root = canonicalizePath(given);
  } catch (error) {
    throw new ArcpError(
      "INVALID_REQUEST",
      `Cannot walk "${input.root}": ${(error as Error).message}`,
    );
  }
  const pattern = input.pattern ?? "**";
  const matcher = globToRegExp(pattern);
  const denied: string[] = [];
  let paths: string[];
  try {
    const exclude = new Set(input.exclude ?? [".git", "node_modules"]);
    paths = (await walk(fs, root, { exclude, denied })).filter((p) => matcher.test(p));
  } catch (error) {
    // The lease's refusal as is; past it, the root is leased and its failure may be told.
    if (error instanceof ArcpError && error.code !== "INTERNAL_ERROR") throw error;
    const cause = error instanceof ArcpError ? error.cause ?? error : error;
    throw new ArcpError("INVALID_REQUEST", `Cannot walk "${root}": ${(cause as Error).message}`);
  }
  const report: FilesReport = {
    root,
    pattern,
    files: 0,
    lines: 0,
    words: 0,
    bytes: 0,
    by_extension: {},
    skipped: [],
    denied,
  };
  await ctx.status("walking", `${paths.length} files match ${pattern}`);
  for (const [index, path] of paths.entries()) {
    ctx.signal.throwIfAborted();
    const file = `${root}/${path}`;
    let bytes: Uint8Array;
    try {
      // Through the lease (spec §9.3): fs.read must cover the file; a refusal
      // is a tool_result error and the walk goes on.
      bytes = await fs.readFile(file);
    } catch {
      report.denied.push(path);
      await ctx.progress(index + 1, { total: paths.length, units: "files", message: path });
      continue;
    }
    if (bytes.includes(0)) report.skipped.push(path);
    else {
      const counts = countText(bytes);
      const extension = extensionOf(path);
      const bucket = report.by_extension[extension] ??= { files: 0, lines: 0, words: 0, bytes: 0 };
      for (const target of [bucket, report]) {
        target.files++;
        target.lines += counts.lines;
        target.words += counts.words;
        target.bytes += counts.bytes;
      }
    }
    await ctx.progress(index + 1, { total: paths.length, units: "files", message: path });
  }
  return report;
}
