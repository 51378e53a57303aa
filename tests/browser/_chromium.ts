// The host side of the Chromium tests: bundles a page script (a small TS
// module next to the test) with `deno bundle --platform=browser`, with
// `node:assert/strict` mapped to ./assert.ts; serves it on 127.0.0.1 from a
// one-page site, with any other request going to the test's own handler (a
// runtime's `fetch`, say); and opens it in Debian's /usr/bin/chromium, driven
// by playwright-core. Pages publish through _page.ts. Tests are skipped where
// /usr/bin/chromium is missing; .ci/run installs it.

import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "npm:playwright-core@1.64.1";

export type { Browser, Page };

/** Debian's Chromium. */
export const CHROMIUM = "/usr/bin/chromium";
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
/** The first bundle fetches esbuild from the npm registry. */
const BUNDLE_TIMEOUT_MS = 60_000;
const LAUNCH_TIMEOUT_MS = 30_000;
/** How long a page may take to publish, unless the test says otherwise. */
const RESULT_TIMEOUT_MS = 60_000;

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

const hasChromium = exists(CHROMIUM);

/**
 * Whether a test of `what` must be skipped (for `Deno.test`'s `ignore`),
 * saying so where Chromium is missing.
 */
export function skipWithoutChromium(what: string): boolean {
  if (!hasChromium) {
    console.warn(
      `SKIPPED ${what}: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`,
    );
  }
  return !hasChromium;
}

/** Launches Debian's Chromium, headless, with the flags this machine needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    timeout: LAUNCH_TIMEOUT_MS,
  });
}

/** Bundles the page script `entry` for browsers and returns the bundle's text. */
export async function bundlePage(entry: URL): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "arcp_page_" });
  try {
    const importMap = `${dir}/import_map.json`;
    await Deno.writeTextFile(
      importMap,
      JSON.stringify({
        imports: { "node:assert/strict": new URL("./assert.ts", import.meta.url).href },
      }),
    );
    const output = `${dir}/page.js`;
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform=browser",
        "--import-map",
        importMap,
        "--output",
        output,
        entry.pathname,
      ],
      cwd: new URL("../../", import.meta.url).pathname,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(BUNDLE_TIMEOUT_MS),
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    assert.equal(
      result.code,
      0,
      `deno bundle failed:\n${decode(result.stdout)}${decode(result.stderr)}`,
    );
    const code = await Deno.readTextFile(output);
    // esbuild leaves `node:` imports external, at the top; browsers cannot load them.
    assert.doesNotMatch(
      code,
      /^(?:import|export)\b[^\n]*["']node:/m,
      "the bundle must not import node: modules",
    );
    return code;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Options of {@linkcode openPage}. */
export interface OpenPageOptions {
  /** The page's title. */
  title: string;
  /** Answers every request but `/` and `/page.js`; 404 without one. */
  handler?: (request: Request) => Response | Promise<Response>;
}

/** A served page script open in Chromium; disposing closes both. */
export interface PageHost extends AsyncDisposable {
  /** The page's address, `http://127.0.0.1:<port>/`; the server's origin. */
  readonly url: URL;
  /** The Chromium tab. */
  readonly page: Page;
  /** Uncaught errors and console errors of the page so far. */
  readonly problems: string[];
  /**
   * Waits for the loaded page to publish, and returns its result; throws
   * with the page's error and problems if it failed.
   */
  result<T>(timeoutMs?: number): Promise<T>;
  /** Waits for the page to reach `phase` (its `reachPhase`). */
  phase(phase: string, timeoutMs?: number): Promise<void>;
  /** Resolves the page's `waitForHost(name)`. */
  release(name: string): Promise<void>;
}

/**
 * Bundles `entry`, serves it on 127.0.0.1 and opens a tab in headless
 * Chromium; the tab is blank until the test navigates it to `url`.
 */
export async function openPage(entry: URL, options: OpenPageOptions): Promise<PageHost> {
  const cleanup = new AsyncDisposableStack();
  try {
    const script = await bundlePage(entry);
    const html = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>${options.title}</title></head>
<body><script type="module" src="/page.js"></script></body></html>`;
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => {
        const { pathname } = new URL(request.url);
        if (pathname === "/") {
          return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
        }
        if (pathname === "/page.js") {
          return new Response(script, {
            headers: { "content-type": "text/javascript; charset=utf-8" },
          });
        }
        return options.handler?.(request) ?? new Response("not found", { status: 404 });
      },
    );
    cleanup.defer(() => server.shutdown());
    const browser = await launchChromium();
    cleanup.defer(() => browser.close());
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });
    const owned = cleanup.move();
    return {
      url: new URL(`http://127.0.0.1:${server.addr.port}/`),
      page,
      problems,
      async result<T>(timeoutMs = RESULT_TIMEOUT_MS): Promise<T> {
        await page.waitForFunction(
          () => (globalThis as { __done?: boolean }).__done === true,
          undefined,
          { timeout: timeoutMs, polling: 100 },
        ).catch((error: Error) => {
          throw new Error(`the page did not finish: ${error.message}\n${problems.join("\n")}`);
        });
        const { result, fatal } = await page.evaluate(() => {
          const page = globalThis as { __result?: unknown; __fatal?: string };
          return { result: page.__result, fatal: page.__fatal };
        });
        assert.equal(fatal, undefined, `the page failed: ${fatal}\n${problems.join("\n")}`);
        return result as T;
      },
      async phase(phase: string, timeoutMs = RESULT_TIMEOUT_MS): Promise<void> {
        await page.waitForFunction(
          (phase) => {
            const page = globalThis as { __phase?: string; __done?: boolean };
            return page.__phase === phase || page.__done === true;
          },
          phase,
          { timeout: timeoutMs, polling: 50 },
        );
        const { reached, fatal } = await page.evaluate((phase) => {
          const page = globalThis as { __phase?: string; __fatal?: string };
          return { reached: page.__phase === phase, fatal: page.__fatal };
        }, phase);
        assert.ok(reached, `the page ended before "${phase}": ${fatal}\n${problems.join("\n")}`);
      },
      async release(name: string): Promise<void> {
        await page.waitForFunction(() =>
          typeof (globalThis as { __release?: unknown }).__release === "function"
        );
        await page.evaluate((name) => {
          (globalThis as unknown as { __release(name: string): void }).__release(name);
        }, name);
      },
      [Symbol.asyncDispose]: () => owned.disposeAsync(),
    };
  } catch (error) {
    await cleanup.disposeAsync();
    throw error;
  }
}
