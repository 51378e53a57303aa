/**
 * Bundle-size benchmark: what the client and the runtime weigh in a browser.
 *
 * Run with `deno task bench` (last), or alone with
 * `deno run -A bench/bundle_size.ts`. It builds `dist/client.js` and
 * `dist/runtime.js` with `deno task bundle` (minified ESM for browsers, every
 * dependency included) and prints each one's size minified and gzipped
 * (`CompressionStream("gzip")`, about what a server sends).
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const BUNDLES = ["dist/client.js", "dist/runtime.js"];

async function gzippedSize(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const compressed = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(compressed).arrayBuffer()).byteLength;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`.padStart(10);
}

async function main(): Promise<void> {
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "bundle"],
    cwd: ROOT,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (build.code !== 0) {
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    throw new Error(`deno task bundle failed:\n${decode(build.stdout)}${decode(build.stderr)}`);
  }
  console.log("ARCP bundle sizes (deno bundle --platform=browser --minify)");
  for (const path of BUNDLES) {
    const bytes = await Deno.readFile(new URL(path, ROOT));
    const gzipped = await gzippedSize(bytes);
    console.log(
      `  ${path.padEnd(16)} ${kib(bytes.byteLength)} minified  ${kib(gzipped)} gzipped` +
        `  (${bytes.byteLength} / ${gzipped} bytes)`,
    );
  }
}

await main();
