/**
 * The jobs dashboard of `cli.ts serve --dashboard`: the page in
 * `examples/dashboard/`, its script bundled for browsers by `deno bundle`
 * when the server starts, served at `/` beside the runtime's `/arcp`.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A `fetch`-style request handler, as `Deno.serve` takes. */
export type Handler = (request: Request) => Response | Promise<Response>;

const PAGE = new URL("../examples/dashboard/", import.meta.url);
/** The page's script modules; the first is the bundle's entry. */
const PAGE_MODULES = ["dashboard.ts", "job_model.ts"] as const;
/** The first bundle fetches esbuild from the npm registry. */
const BUNDLE_TIMEOUT_MS = 120_000;

const HEADERS = {
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // The page's own files only; WebSockets to any runtime the viewer names.
  // No form is ever submitted by the browser: a token must not end up in a URL.
  "content-security-policy": "default-src 'self'; connect-src 'self' ws: wss:; " +
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/**
 * `jsr:@scope/name@version` of a module URL on jsr.io: Deno loads a JSR
 * package's modules only through `jsr:` specifiers.
 *
 * @throws {Error} when `moduleUrl` is not on jsr.io.
 */
export function jsrPackage(moduleUrl: string): string {
  const match = /^https:\/\/jsr\.io\/(@[^/]+\/[^/]+)\/([^/]+)\//.exec(moduleUrl);
  if (match === null) {
    throw new Error(
      `Cannot serve the dashboard from ${moduleUrl}: run the CLI from a checkout or from JSR`,
    );
  }
  return `jsr:${match[1]}@${match[2]}`;
}

async function readPageFile(name: string): Promise<string> {
  const url = new URL(name, PAGE);
  if (url.protocol === "file:") return await Deno.readTextFile(url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Cannot fetch ${url}: HTTP ${response.status}`);
  return await response.text();
}

/**
 * What the page imports from this package, by path relative to the package
 * root, and the package's export that serves it.
 */
const PACKAGE_IMPORTS = { "client.ts": "client", "protocol/mod.ts": "protocol" } as const;

/**
 * Lays the page out in `dir` as in the package (`examples/dashboard/`), with
 * each module it imports from the package replaced by one that re-exports it:
 * from this checkout, or, installed from JSR, through a `jsr:` specifier
 * (Deno loads a JSR package's modules through nothing else). Returns the
 * entry and the flags `deno bundle` needs.
 */
async function layOut(dir: string): Promise<string[]> {
  const local = import.meta.url.startsWith("file:");
  const page = join(dir, "examples", "dashboard");
  await Deno.mkdir(page, { recursive: true });
  for (const name of PAGE_MODULES) {
    await Deno.writeTextFile(join(page, name), await readPageFile(name));
  }
  for (const [path, entry] of Object.entries(PACKAGE_IMPORTS)) {
    const target = local
      ? new URL(`../${path}`, import.meta.url).href
      : `${jsrPackage(import.meta.url)}/${entry}`;
    await Deno.mkdir(dirname(join(dir, path)), { recursive: true });
    await Deno.writeTextFile(join(dir, path), `export * from ${JSON.stringify(target)};\n`);
  }
  // A checkout's config maps the package's own dependencies; a JSR package brings its own.
  const config = local
    ? ["--config", fileURLToPath(new URL("../deno.json", import.meta.url))]
    : ["--no-config", "--no-lock"];
  return [...config, join(page, PAGE_MODULES[0])];
}

async function bundleScript(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "arcp-dashboard-" });
  try {
    const output = join(dir, "dashboard.bundle.js");
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform=browser",
        "--minify",
        "--output",
        output,
        ...await layOut(dir),
      ],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(BUNDLE_TIMEOUT_MS),
    }).output();
    if (code !== 0) {
      throw new Error(
        `Cannot bundle the dashboard's script: deno bundle exited with ${code}: ${
          new TextDecoder().decode(stderr).trim()
        }`,
      );
    }
    return await Deno.readTextFile(output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Builds the dashboard: reads the page and bundles its script. The result
 * wraps a handler (the runtime's `fetch`): `GET /`, `/dashboard.css` and
 * `/dashboard.js` are answered from memory, every other request goes to that
 * handler. Only those three paths are served, so no request reaches the file
 * system.
 *
 * @returns A function from the handler of every other request to the combined handler.
 * @throws {Error} when the page cannot be read or its script not bundled.
 */
export async function loadDashboard(): Promise<(next: Handler) => Handler> {
  const [html, css, script] = await Promise.all([
    readPageFile("index.html"),
    readPageFile("dashboard.css"),
    bundleScript(),
  ]);
  const files = new Map([
    ["/", { body: html, type: "text/html; charset=utf-8" }],
    ["/dashboard.css", { body: css, type: "text/css; charset=utf-8" }],
    ["/dashboard.js", { body: script, type: "text/javascript; charset=utf-8" }],
  ]);
  return (next) => (request) => {
    const file = files.get(new URL(request.url).pathname);
    if (file === undefined) return next(request);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method not allowed\n", {
        status: 405,
        headers: { allow: "GET, HEAD" },
      });
    }
    return new Response(file.body, { headers: { ...HEADERS, "content-type": file.type } });
  };
}
