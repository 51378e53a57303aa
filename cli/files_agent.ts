/**
 * The `files` demo agent: walks a real directory tree and counts lines, words
 * and bytes per file extension, as `wc` would. Deno only (it reads files).
 *
 * @module
 */

import { ArcpError } from "../protocol/errors.ts";
import { globToRegExp } from "../protocol/glob.ts";
import type { AgentContext } from "../runtime/context.ts";
import { denoFs } from "../runtime/fs_deno.ts";

/** Input of the `files` agent. */
export interface FilesInput {
  /** Directory to walk. */
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
  /** The directory walked, without trailing slashes. */
  root: string;
  /** The glob matched, `**` when none was given. */
  pattern: string;
  /** Counts per extension (`.ts`, `.md`, or `""` for none). */
  by_extension: Record<string, Counts>;
  /** Matching files skipped as binary (they contain a NUL byte). */
  skipped: string[];
  /** Matching files the job could not read: refused by the lease, or unreadable. */
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

async function walk(root: string, exclude: ReadonlySet<string>, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  const entries = [];
  for await (const entry of Deno.readDir(prefix === "" ? root : `${root}/${prefix}`)) {
    entries.push(entry);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory && !exclude.has(entry.name)) {
      found.push(...await walk(root, exclude, path));
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
 * The `files` agent (exact contract of `cli.ts serve --demo`): reads each
 * file through the lease with the Deno file adapter (`fs.read`, so a
 * `tool_call`/`tool_result` pair per read), emits a `progress` event per
 * file, and returns the per-extension counts. Submit it with an `fs.read`
 * lease covering `root`. Listing the tree is not a leased operation: only
 * file contents are.
 *
 * @param input Root, pattern and excluded directory names.
 * @param ctx The job context.
 * @returns The report.
 * @throws {ArcpError} `INVALID_REQUEST` when `root` is not a readable directory.
 */
export async function filesAgent(input: FilesInput, ctx: AgentContext): Promise<FilesReport> {
  if (typeof input?.root !== "string") {
    throw new ArcpError("INVALID_REQUEST", 'The files agent needs input { root: "<directory>" }');
  }
  let root: string;
  try {
    // The real path: the lease is checked against where the bytes really are.
    root = await Deno.realPath(input.root);
  } catch (error) {
    throw new ArcpError(
      "INVALID_REQUEST",
      `Cannot walk "${input.root}": ${(error as Error).message}`,
    );
  }
  const pattern = input.pattern ?? "**";
  const matcher = globToRegExp(pattern);
  let paths: string[];
  try {
    paths = (await walk(root, new Set(input.exclude ?? [".git", "node_modules"]))).filter((p) =>
      matcher.test(p)
    );
  } catch (error) {
    throw new ArcpError("INVALID_REQUEST", `Cannot walk "${root}": ${(error as Error).message}`);
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
    denied: [],
  };
  await ctx.status("walking", `${paths.length} files match ${pattern}`);
  const fs = denoFs(ctx);
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
