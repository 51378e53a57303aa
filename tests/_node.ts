// Node.js 22, for the tests that run the SDK under it: where its binary is,
// and the SDK's TypeScript made into one ES module it runs.
//
// The binary is $ARCP_NODE, else .node/node_modules/.bin/node, else `node`
// on PATH when it is version 22 or later. .ci/run installs it into .node/
// from npm; the same command gets it locally:
// `npm i --no-save --prefix .node node@22`. Where none is found the Node.js
// tests are skipped, and say so.
//
// Node.js 22 reads neither TypeScript imports with `.ts` extensions through
// an import map nor `await using`: `deno bundle` makes one module of an
// entry point and its npm packages, and esbuild lowers the syntax Node.js 22
// lacks.

import assert from "node:assert/strict";
import { transform } from "npm:esbuild@0.28.2";

const ROOT = new URL("../", import.meta.url);
const MIN_MAJOR = 22;

function majorOf(binary: string): number | undefined {
  try {
    const { success, stdout } = new Deno.Command(binary, { args: ["--version"] }).outputSync();
    if (!success) return undefined;
    return Number(/^v(\d+)\./.exec(new TextDecoder().decode(stdout))?.[1]);
  } catch {
    return undefined;
  }
}

function findNode(): string | undefined {
  const fromEnv = Deno.env.get("ARCP_NODE");
  if (fromEnv) return fromEnv;
  const candidates = [new URL(".node/node_modules/.bin/node", ROOT).pathname];
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir) candidates.push(`${dir}/node`);
  }
  return candidates.find((binary) => (majorOf(binary) ?? 0) >= MIN_MAJOR);
}

/** The Node.js binary (22 or later), or `undefined` when none is installed. */
export const NODE: string | undefined = findNode();

if (NODE === undefined) {
  console.warn(
    `Node.js ${MIN_MAJOR} is not installed, so the Node.js tests are skipped: set ARCP_NODE, ` +
      `or run \`npm i --no-save --prefix .node node@${MIN_MAJOR}\` (as .ci/run does)`,
  );
}

/** A bundle of a test entry point for Node.js, removed on dispose. */
export interface NodeBundle extends AsyncDisposable {
  /** The bundle's path: one ES module. */
  readonly path: string;
}

/** Bundles `entry` (a path relative to the repository root) into one module Node.js 22 runs. */
export async function bundleForNode(entry: string): Promise<NodeBundle> {
  const dir = await Deno.makeTempDir({ prefix: "arcp-node-" });
  const path = `${dir}/bundle.mjs`;
  try {
    const bundled = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform=deno", "--output", path, entry],
      cwd: ROOT.pathname,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    assert.equal(bundled.code, 0, `deno bundle failed:\n${decode(bundled.stderr)}`);
    const { code } = await transform(await Deno.readTextFile(path), {
      target: `node${MIN_MAJOR}`,
      format: "esm",
      loader: "js",
    });
    await Deno.writeTextFile(path, code);
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  return { path, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}
