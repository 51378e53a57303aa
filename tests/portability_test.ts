// The portable entrypoints must run on Deno, Bun and browsers alike: no
// module in their graph may use Deno.*, Bun.* or import node:* (STYLE §6, §43).
// The same module graphs show how the library's modules are layered: no
// cycle, no private file reached from another folder, and the "nevers"
// (the portable core reaches no runtime-specific adapter nor the CLI,
// protocol/ reaches no layer above it, client/ and runtime/ stay apart).

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

const PORTABLE_ENTRYPOINTS = [
  "mod.ts",
  "client.ts",
  "runtime.ts",
  "protocol/mod.ts",
  "transports/websocket.ts",
  "transports/memory.ts",
  "transports/stdio.ts",
  "transports/ndjson.ts",
  "store/memory.ts",
  "store/indexeddb.ts",
  "conformance/mod.ts",
];

/** The third-party packages the portable graph may contain. */
const ALLOWED_NPM_PACKAGES = new Set(["zod", "ulid", "@noble/hashes", "@opentelemetry/api"]);

interface GraphModule {
  kind: string;
  specifier: string;
  local?: string;
  npmPackage?: string;
  error?: string;
  /** Static imports: `code` for values, `type` for `import type`. */
  dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
}

const graphs = new Map<string, Promise<GraphModule[]>>();

/** The modules `deno info` finds from `entrypoint`, asked once per entrypoint. */
function moduleGraph(entrypoint: string): Promise<GraphModule[]> {
  let graph = graphs.get(entrypoint);
  if (graph === undefined) graphs.set(entrypoint, graph = readModuleGraph(entrypoint));
  return graph;
}

async function readModuleGraph(entrypoint: string): Promise<GraphModule[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(entrypoint, ROOT).pathname],
    cwd: new URL(".", ROOT).pathname,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(
    output.code,
    0,
    `deno info ${entrypoint} failed: ${new TextDecoder().decode(output.stderr)}`,
  );
  return (JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: GraphModule[] })
    .modules;
}

const REGEX_PREFIX =
  /[(,=:[!&|?{};+\-*%<>~^]$|(?:^|[^\w$])(?:return|typeof|case|do|else|in|of|new|delete|void|throw|yield|await)$/;

/**
 * Blanks out comments and, when `strings` is set, the contents of string,
 * template and regex literals, keeping line structure; template
 * substitutions are code and are kept.
 */
function stripSource(source: string, { strings }: { strings: boolean }): string {
  let out = "";
  let i = 0;
  // One entry per open template literal: the brace depth of its current `${`.
  const templates: number[] = [];
  let depth = 0;
  const blank = (text: string) => text.replace(/[^\n]/g, " ");
  const literal = (
    text: string,
  ) => (strings ? text[0] + blank(text.slice(1, -1)) + text.at(-1) : text);
  const scanTemplate = () => {
    // At a backtick or a closing `}` of a substitution: read up to the next `${` or backtick.
    let j = i + 1;
    while (
      j < source.length && source[j] !== "`" && !(source[j] === "$" && source[j + 1] === "{")
    ) {
      j += source[j] === "\\" ? 2 : 1;
    }
    if (source[j] === "`") {
      out += literal(source.slice(i, j + 1));
      i = j + 1;
    } else {
      out += literal(source.slice(i, j + 2));
      i = j + 2;
      templates.push(depth);
    }
  };
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      const end = source.indexOf("\n", i);
      const stop = end === -1 ? source.length : end;
      out += blank(source.slice(i, stop));
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? source.length : end + 2;
      out += blank(source.slice(i, stop));
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c && source[j] !== "\n") {
        j += source[j] === "\\" ? 2 : 1;
      }
      out += literal(source.slice(i, j + 1));
      i = j + 1;
    } else if (c === "`") {
      scanTemplate();
    } else if (c === "}" && templates.length > 0 && templates.at(-1) === depth) {
      templates.pop();
      scanTemplate();
    } else if (c === "/" && REGEX_PREFIX.test(out.trimEnd() || "(")) {
      let j = i + 1;
      let inClass = false;
      while (j < source.length && source[j] !== "\n" && (inClass || source[j] !== "/")) {
        if (source[j] === "[") inClass = true;
        else if (source[j] === "]") inClass = false;
        j += source[j] === "\\" ? 2 : 1;
      }
      out += literal(source.slice(i, j + 1));
      i = j + 1;
    } else {
      if (c === "{") depth++;
      else if (c === "}") depth--;
      out += c;
      i++;
    }
  }
  return out;
}

/** Runtime-specific code in one source file, as `line: text` findings. */
function runtimeSpecificUses(source: string): string[] {
  const findings: string[] = [];
  const code = stripSource(source, { strings: false });
  const bare = stripSource(source, { strings: true });
  const report = (text: string, pattern: RegExp, what: string) => {
    for (const [index, line] of text.split("\n").entries()) {
      if (pattern.test(line)) findings.push(`${index + 1}: ${what}: ${line.trim()}`);
    }
  };
  report(code, /(?:\bfrom|\bimport|\brequire)\s*\(?\s*["']node:/, "node: import");
  report(bare, /(?<![\w$.])(?:globalThis\s*\.\s*)?(?:Deno|Bun)\s*(?:\?\.|\.|\[)/, "Deno/Bun API");
  report(bare, /\btypeof\s+(?:Deno|Bun)\b/, "Deno/Bun sniffing");
  return findings;
}

Deno.test("runtimeSpecificUses() finds Deno, Bun and node: in code but not in comments or strings", () => {
  const source = [
    "/** Serve it with `Deno.serve(runtime.fetch)`. */",
    "// Bun.serve works too; import x from 'node:fs' in a comment is fine",
    'const message = "pass Deno.upgradeWebSocket";',
    "const pattern = /Deno\\.[a-z]+/;",
    "const a = Deno.env.get('X');",
    "Bun.serve({});",
    'import { readFile } from "node:fs/promises";',
    "const b = globalThis.Deno?.pid;",
    "const c = `${Deno.pid}`;",
    "if (typeof Deno !== 'undefined') {}",
  ].join("\n");
  assert.deepEqual(runtimeSpecificUses(source).map((finding) => finding.split(":")[0]), [
    "7",
    "5",
    "6",
    "8",
    "9",
    "10",
  ]);
  assert.deepEqual(runtimeSpecificUses("const notDeno = myDeno.x; const y = '`';"), []);
});

for (const entrypoint of PORTABLE_ENTRYPOINTS) {
  Deno.test(`${entrypoint} and its module graph use no Deno, Bun or node: APIs`, async () => {
    const modules = await moduleGraph(entrypoint);
    const problems: string[] = [];
    const npmPackages = new Set<string>();
    let localModules = 0;
    for (const module of modules) {
      if (module.error !== undefined) problems.push(`${module.specifier}: ${module.error}`);
      else if (module.kind === "node") problems.push(`imports ${module.specifier}`);
      else if (module.kind === "npm") {
        npmPackages.add(module.npmPackage!.replace(/@[^@]+$/, ""));
      } else if (module.specifier.startsWith("file:")) {
        localModules++;
        const source = await Deno.readTextFile(new URL(module.specifier));
        for (const finding of runtimeSpecificUses(source)) {
          problems.push(`${module.specifier.slice(ROOT.href.length)}:${finding}`);
        }
      } else problems.push(`unexpected ${module.kind} module ${module.specifier}`);
    }
    assert.ok(localModules > 0, "the graph includes the entrypoint itself");
    assert.deepEqual(problems, []);
    const unexpected = [...npmPackages].filter((name) => !ALLOWED_NPM_PACKAGES.has(name));
    assert.deepEqual(unexpected, [], `unexpected npm packages in ${entrypoint}`);
  });
}

/** The import cycles of `edges` (module to the modules it imports), as sorted lists of modules. */
function importCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's strongly connected components: each with more than one module,
  // or one importing itself, is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (module: string) => {
    index.set(module, index.size);
    low.set(module, index.get(module)!);
    stack.push(module);
    onStack.add(module);
    for (const next of edges.get(module) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(module, Math.min(low.get(module)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(module, Math.min(low.get(module)!, index.get(next)!));
    }
    if (low.get(module) !== index.get(module)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== module);
    if (component.length > 1 || edges.get(module)?.includes(module)) cycles.push(component.sort());
  };
  for (const module of edges.keys()) if (!index.has(module)) visit(module);
  return cycles;
}

Deno.test("importCycles() finds each cycle and nothing else", () => {
  const edges = new Map([
    ["a", ["b"]],
    ["b", ["c", "d"]],
    ["c", ["a"]],
    ["d", ["e"]],
    ["e", []],
    ["f", ["f"]],
  ]);
  assert.deepEqual(importCycles(edges), [["a", "b", "c"], ["f"]]);
  assert.deepEqual(importCycles(new Map([["a", ["b"]], ["b", []]])), []);
});

/** The library's exports in deno.json, by name. */
async function exportsOf(): Promise<Record<string, string>> {
  return (JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    exports: Record<string, string>;
  }).exports;
}

/**
 * Every library module reached from deno.json's exports, with the library
 * modules it imports (values and types), as paths from the root.
 */
async function libraryImports(): Promise<Map<string, string[]>> {
  const local = (specifier: string) =>
    specifier.startsWith(ROOT.href) ? specifier.slice(ROOT.href.length) : undefined;
  const edges = new Map<string, string[]>();
  for (const entrypoint of Object.values(await exportsOf())) {
    for (const module of await moduleGraph(entrypoint)) {
      const from = local(module.specifier);
      if (from === undefined) continue;
      const imports = (module.dependencies ?? []).flatMap((dependency) =>
        [dependency.code, dependency.type].flatMap((to) => local(to?.specifier ?? "") ?? [])
      );
      edges.set(from, [...new Set(imports)]);
    }
  }
  assert.ok(edges.has("client/_reconnect.ts"), "the graphs reach the client's modules");
  return edges;
}

/** The modules `module` imports, directly or not, itself excluded unless in a cycle. */
function reachable(edges: ReadonlyMap<string, readonly string[]>, module: string): Set<string> {
  const seen = new Set<string>();
  const next = [...edges.get(module) ?? []];
  for (let current = next.pop(); current !== undefined; current = next.pop()) {
    if (seen.has(current)) continue;
    seen.add(current);
    next.push(...edges.get(current) ?? []);
  }
  return seen;
}

Deno.test("the library's modules import one another in no cycle", async () => {
  const edges = await libraryImports();
  assert.deepEqual(importCycles(edges), [], "import cycles among the library's modules");
});

/**
 * The folder whose private (`_`-prefixed) files a module may import: its own;
 * a facade at the root (`client.ts`, `runtime.ts`, `cli.ts`) stands for its
 * folder of the same name.
 */
function home(module: string): string {
  const slash = module.lastIndexOf("/");
  return slash === -1 ? module.replace(/\.ts$/, "/") : module.slice(0, slash + 1);
}

/** The private files a module imports from a folder other than its own (or one above it). */
function foreignPrivateImports(edges: ReadonlyMap<string, readonly string[]>): string[] {
  const found: string[] = [];
  for (const [from, imports] of edges) {
    for (const to of imports) {
      const folder = to.slice(0, to.lastIndexOf("/") + 1);
      const isPrivate = to.slice(folder.length).startsWith("_");
      if (isPrivate && !home(from).startsWith(folder)) found.push(`${from} -> ${to}`);
    }
  }
  return found;
}

Deno.test("foreignPrivateImports() allows a folder's own and its facade's imports only", () => {
  const edges = new Map([
    ["runtime.ts", ["runtime/_core.ts", "transports/_inbound.ts"]],
    ["runtime/_job.ts", ["runtime/_session.ts", "protocol/_time.ts", "internal/time.ts"]],
    ["runtime/sub/x.ts", ["runtime/_core.ts"]],
    ["client/a.ts", ["store/_kv.ts", "client/b.ts"]],
  ]);
  assert.deepEqual(foreignPrivateImports(edges), [
    "runtime.ts -> transports/_inbound.ts",
    "runtime/_job.ts -> protocol/_time.ts",
    "client/a.ts -> store/_kv.ts",
  ]);
});

Deno.test("no module imports another folder's private file; internal/ is never exported", async () => {
  const found = foreignPrivateImports(await libraryImports());
  assert.deepEqual(found, []);
  const exported = Object.entries(await exportsOf())
    .filter(([name, path]) => name.startsWith("./internal") || path.startsWith("./internal/"));
  assert.deepEqual(exported, [], "internal/ holds private helpers: never an export");
});

/** Adapters bound to one JavaScript runtime, and the CLI: no portable module may reach them. */
const RUNTIME_SPECIFIC = [
  /^transports\/stdio_deno\.ts$/,
  /^transports\/(?:_?bun|_bun_socket)\.ts$/,
  /^runtime\/fs_deno\.ts$/,
  /^store\/deno_kv\.ts$/,
  /^store\/(?:postgres|_pg_\w+)\.ts$/,
  /^client\/resume_state_deno_kv\.ts$/,
  /^cli(?:\.ts$|\/)/,
  /^hono\.ts$/,
];

Deno.test("each runtime-specific pattern names modules of the library", async () => {
  const modules = [...(await libraryImports()).keys()];
  const stale = RUNTIME_SPECIFIC.filter((pattern) => !modules.some((m) => pattern.test(m)));
  assert.deepEqual(stale, []);
});

for (const entrypoint of PORTABLE_ENTRYPOINTS) {
  Deno.test(`${entrypoint} reaches no runtime-specific adapter and not the CLI`, async () => {
    const reached = (await moduleGraph(entrypoint))
      .flatMap((module) =>
        module.specifier.startsWith(ROOT.href) ? [module.specifier.slice(ROOT.href.length)] : []
      )
      .filter((module) => RUNTIME_SPECIFIC.some((pattern) => pattern.test(module)));
    assert.deepEqual(reached, []);
  });
}

/** Modules of `folder` (a facade `folder.ts` included) that reach one of `forbidden`. */
function reachesInto(
  edges: ReadonlyMap<string, readonly string[]>,
  folder: string,
  forbidden: readonly string[],
): string[] {
  const inside = (module: string, name: string) =>
    module.startsWith(`${name}/`) || module === `${name}.ts`;
  const found: string[] = [];
  for (const module of edges.keys()) {
    if (!inside(module, folder)) continue;
    for (const to of reachable(edges, module)) {
      if (forbidden.some((name) => inside(to, name))) found.push(`${module} -> ${to}`);
    }
  }
  return found;
}

Deno.test("reachesInto() follows imports through other folders", () => {
  const edges = new Map([
    ["protocol/a.ts", ["internal/b.ts"]],
    ["internal/b.ts", ["runtime/c.ts"]],
    ["runtime/c.ts", []],
    ["runtime.ts", ["runtime/c.ts"]],
    ["client.ts", ["protocol/a.ts"]],
  ]);
  assert.deepEqual(reachesInto(edges, "protocol", ["runtime"]), ["protocol/a.ts -> runtime/c.ts"]);
  assert.deepEqual(reachesInto(edges, "client", ["runtime"]), ["client.ts -> runtime/c.ts"]);
  assert.deepEqual(reachesInto(edges, "runtime", ["client"]), []);
});

Deno.test("protocol/ reaches neither client/, runtime/, store/, transports/ nor cli/", async () => {
  const edges = await libraryImports();
  const forbidden = ["client", "runtime", "store", "transports", "cli"];
  assert.deepEqual(reachesInto(edges, "protocol", forbidden), []);
});

Deno.test("client/ and runtime/ (with their facades) never import each other", async () => {
  const edges = await libraryImports();
  assert.deepEqual(reachesInto(edges, "client", ["runtime"]), []);
  assert.deepEqual(reachesInto(edges, "runtime", ["client"]), []);
});

Deno.test("store/ and transports/ reach neither client/, runtime/ nor cli/", async () => {
  const edges = await libraryImports();
  for (const folder of ["store", "transports"]) {
    assert.deepEqual(reachesInto(edges, folder, ["client", "runtime", "cli"]), []);
  }
});

Deno.test("conformance/ reaches neither client/, runtime/, store/, transports/ nor cli/", async () => {
  // A black-box kit: it speaks raw envelopes over a WebSocket, so it checks
  // the wire and never our own client or runtime code.
  const edges = await libraryImports();
  assert.ok(edges.has("conformance/_wire.ts"), "the graphs reach the kit's modules");
  assert.deepEqual(
    reachesInto(edges, "conformance", ["client", "runtime", "store", "transports", "cli"]),
    [],
  );
});

Deno.test("browser-compat.tsconfig.json is deno.json's setup without the Deno namespace", async () => {
  // `deno task check:browser` type-checks the portable modules with it; it
  // must resolve imports and check as strictly as deno.json does.
  const read = async (name: string) =>
    JSON.parse(await Deno.readTextFile(new URL(name, ROOT))) as {
      imports: Record<string, string>;
      compilerOptions: { lib: string[] };
    };
  const deno = await read("deno.json");
  const browser = await read("browser-compat.tsconfig.json");
  assert.deepEqual(browser.imports, deno.imports);
  assert.deepEqual(browser.compilerOptions, {
    ...deno.compilerOptions,
    lib: ["dom", "dom.iterable", "esnext"],
  });
});
