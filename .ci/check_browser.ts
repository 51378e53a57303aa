// `deno task check:browser`: type-checks every module marked "This module is
// browser compatible" with browser-compat.tsconfig.json, whose libraries are
// the DOM's and not Deno's, so a portable module that reaches for Deno.*
// fails to check. The marked modules are found by their first lines.

const ROOT = new URL("../", import.meta.url);
const MARKER = "// This module is browser compatible.";
const SKIP = new Set(["node_modules", "dist", "reports"]);

async function* markedModules(dir: URL): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(".") || SKIP.has(entry.name)) continue;
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* markedModules(url);
    else if (entry.isFile && entry.name.endsWith(".ts")) {
      const source = await Deno.readTextFile(url);
      if (source.startsWith(MARKER)) yield url.href.slice(ROOT.href.length);
    }
  }
}

const modules = (await Array.fromAsync(markedModules(ROOT))).sort();
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["check", "--quiet", "--config", "browser-compat.tsconfig.json", ...modules],
  cwd: ROOT,
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (code === 0) {
  console.log(`${modules.length} browser-compatible modules check without Deno's types`);
}
Deno.exit(code);
