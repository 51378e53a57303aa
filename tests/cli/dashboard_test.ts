// `cli.ts serve --dashboard` over real HTTP: the page's three files with
// their content types, the runtime still at /arcp, and nothing else: no path
// reaches the file system. The page itself runs in
// tests/browser/dashboard_chromium_test.ts.

import assert from "node:assert/strict";
import { jsrPackage } from "../../cli/dashboard.ts";
import { startServe } from "../_serve.ts";

/** Sends `target` as is (no URL normalisation) and returns the status line's code. */
async function rawStatus(port: number, target: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      ),
    );
    const response = await new Response(conn.readable).text();
    const status = /^HTTP\/1\.1 (\d{3})/.exec(response);
    assert.ok(status, `not an HTTP response: ${response.slice(0, 80)}`);
    return Number(status[1]);
  } catch (error) {
    conn.close();
    throw error;
  }
}

Deno.test("cli serve --dashboard serves the page, its style and its bundled script, and nothing else", async () => {
  const served = await startServe("t-dash", undefined, ["--dashboard"]);
  try {
    const origin = served.url.replace(/^ws:/, "http:").replace(/\/arcp$/, "");
    const port = Number(new URL(origin).port);
    const get = async (path: string, init?: RequestInit) => {
      const response = await fetch(`${origin}${path}`, init);
      return { response, body: await response.text() };
    };

    const page = await get("/");
    assert.equal(page.response.status, 200);
    assert.equal(page.response.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(page.response.headers.get("x-content-type-options"), "nosniff");
    assert.match(page.response.headers.get("content-security-policy") ?? "", /form-action 'none'/);
    assert.match(page.body, /<script type="module" src="\/dashboard\.js"><\/script>/);
    assert.match(page.body, /<link rel="stylesheet" href="\/dashboard\.css">/);

    const style = await get("/dashboard.css");
    assert.equal(style.response.headers.get("content-type"), "text/css; charset=utf-8");
    assert.match(style.body, /#events/);

    const script = await get("/dashboard.js");
    assert.equal(script.response.headers.get("content-type"), "text/javascript; charset=utf-8");
    // One self-contained module: the client is inside, nothing left to import.
    assert.doesNotMatch(script.body, /^\s*import\b|\bimport\s*["'{*]|from\s*["']/m);
    assert.match(script.body, /session\.hello/);

    const post = await get("/", { method: "POST", body: "x" });
    assert.equal(post.response.status, 405);
    assert.equal(post.response.headers.get("allow"), "GET, HEAD");

    const upgrade = await get("/arcp");
    assert.equal(upgrade.response.status, 426, "the runtime still answers /arcp");

    for (
      const target of [
        "/index.html",
        "/dashboard.ts",
        "/job_model.ts",
        "/examples/dashboard/index.html",
        "/../deno.json",
        "/%2e%2e/deno.json",
        "/..%2fdeno.json",
        "//etc/passwd",
      ]
    ) {
      assert.equal(await rawStatus(port, target), 404, target);
    }
  } finally {
    await served.stop();
  }
});

Deno.test("jsrPackage() names the JSR package version a module was loaded from", () => {
  assert.equal(
    jsrPackage("https://jsr.io/@arcp/arcp/0.1.0/cli/dashboard.ts"),
    "jsr:@arcp/arcp@0.1.0",
  );
  assert.throws(() => jsrPackage("https://example.com/cli/dashboard.ts"), /from JSR/);
});
