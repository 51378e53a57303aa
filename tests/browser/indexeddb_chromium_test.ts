// The runtime store conformance suite against real IndexedDB in headless
// Chromium: bundles store_page.ts for the browser (with `node:assert/strict`
// mapped to ./assert.ts), serves it on 127.0.0.1, opens it in Debian's
// /usr/bin/chromium driven by playwright-core, and checks every case passed.
// Skipped where /usr/bin/chromium is missing; .ci/run installs it.

import assert from "node:assert/strict";
import { chromium } from "npm:playwright-core@1.64.1";
import type { CaseResult } from "./store_page.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** The whole suite in the page, both variants; it takes a few seconds. */
const SUITE_TIMEOUT_MS = 90_000;
const BUNDLE_TIMEOUT_MS = 60_000;

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

const hasChromium = exists(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `SKIPPED IndexedDbStore in Chromium: ${CHROMIUM} is missing ` +
      "(apt-get install chromium; .ci/run installs it)",
  );
}

/** Bundles store_page.ts into `dir` and returns the bundle's text. */
async function bundle(dir: string): Promise<string> {
  const importMap = `${dir}/import_map.json`;
  await Deno.writeTextFile(
    importMap,
    JSON.stringify({
      imports: { "node:assert/strict": new URL("./assert.ts", import.meta.url).href },
    }),
  );
  const output = `${dir}/store_page.js`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform=browser",
      "--import-map",
      importMap,
      "--output",
      output,
      new URL("./store_page.ts", import.meta.url).pathname,
    ],
    cwd: new URL("../../", import.meta.url).pathname,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
    // The first bundle fetches esbuild from the npm registry.
    signal: AbortSignal.timeout(BUNDLE_TIMEOUT_MS),
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  assert.equal(
    result.code,
    0,
    `deno bundle failed:\n${decode(result.stdout)}${decode(result.stderr)}`,
  );
  const code = await Deno.readTextFile(output);
  assert.doesNotMatch(code, /\bfrom\s*["']node:/, "the bundle must not import node: modules");
  return code;
}

const HTML = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>IndexedDbStore conformance</title></head>
<body><script type="module" src="/store_page.js"></script></body></html>`;

Deno.test({
  name: "IndexedDbStore passes the runtime store conformance suite in headless Chromium",
  ignore: !hasChromium,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "arcp_chromium_" });
    const cleanup: (() => Promise<unknown>)[] = [
      () => Deno.remove(dir, { recursive: true }),
    ];
    try {
      const script = await bundle(dir);
      const server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        (request) => {
          const { pathname } = new URL(request.url);
          if (pathname === "/") {
            return new Response(HTML, { headers: { "content-type": "text/html; charset=utf-8" } });
          }
          if (pathname === "/store_page.js") {
            return new Response(script, {
              headers: { "content-type": "text/javascript; charset=utf-8" },
            });
          }
          return new Response("not found", { status: 404 });
        },
      );
      cleanup.unshift(() => server.shutdown());

      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
        timeout: 30_000,
      });
      cleanup.unshift(() => browser.close());
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console error: ${message.text()}`);
      });

      await page.goto(`http://127.0.0.1:${server.addr.port}/`);
      await page.waitForFunction(
        () => (globalThis as { __done?: boolean }).__done === true,
        undefined,
        { timeout: SUITE_TIMEOUT_MS, polling: 100 },
      ).catch((error: Error) => {
        throw new Error(`the page did not finish: ${error.message}\n${problems.join("\n")}`);
      });
      const { results, fatal } = await page.evaluate(() => {
        const page = globalThis as { __results?: CaseResult[]; __fatal?: string };
        return { results: page.__results ?? [], fatal: page.__fatal };
      });

      assert.equal(fatal, undefined, `the page failed: ${fatal}\n${problems.join("\n")}`);
      const failed = results.filter((result) => !result.ok);
      assert.deepEqual(
        failed.map((result) => result.name),
        [],
        `${failed.length} of ${results.length} cases failed in Chromium:\n` +
          failed.map((result) => `- ${result.name}\n    ${result.error}`).join("\n"),
      );
      assert.ok(results.length > 0, "the page ran no cases");
      assert.deepEqual(problems, [], "errors in the page");
      const ms = results.reduce((sum, result) => sum + result.ms, 0);
      console.log(`${results.length} cases passed in Chromium's IndexedDB in ${ms} ms`);
    } finally {
      for (const step of cleanup) await step().catch(() => {});
    }
  },
});
