// Bun, for the tests that run the SDK under it: where its binary is, and a
// workspace it can run the sources in.
//
// The binary is $ARCP_BUN, else .bun/node_modules/.bin/bun, else `bun` on
// PATH. .ci/run installs it into .bun/ from npm; the same command gets it
// locally: `npm i --no-save --prefix .bun bun@1.4.5`. Where none is found the
// Bun tests are skipped, and say so.
//
// Bun resolves `zod` and the other npm imports from a node_modules/ above the
// importing file, never from deno.json's import map. So Bun runs a temporary
// copy of the sources, beside a node_modules/ that `deno install` lays out
// with exactly the versions in deno.lock.

const ROOT = new URL("../", import.meta.url);

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function findBun(): string | undefined {
  const fromEnv = Deno.env.get("ARCP_BUN");
  if (fromEnv) return fromEnv;
  const installed = new URL(".bun/node_modules/.bin/bun", ROOT).pathname;
  if (isFile(installed)) return installed;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && isFile(`${dir}/bun`)) return `${dir}/bun`;
  }
  return undefined;
}

/** The Bun binary, or `undefined` when Bun is not installed. */
export const BUN: string | undefined = findBun();

if (BUN === undefined) {
  console.warn(
    "Bun is not installed, so the Bun tests are skipped: set ARCP_BUN, or run " +
      "`npm i --no-save --prefix .bun bun@1.4.5` (as .ci/run does)",
  );
}

/** What a finished process printed, and how it exited. */
export interface ProcessOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** A temporary copy of the sources that Bun can run, removed on dispose. */
export interface BunWorkspace extends AsyncDisposable {
  /** The copy's root directory. */
  readonly dir: string;
  /** Runs Bun there with `args` and waits for it to exit. */
  run(args: string[]): Promise<ProcessOutput>;
  /** Starts Bun there with `args`, stdin, stdout and stderr piped. */
  spawn(args: string[]): Deno.ChildProcess;
}

async function copyTree(from: URL, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    // Hidden entries (.git, .bun) and installed packages are not sources.
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    if (entry.isDirectory) {
      await copyTree(new URL(`${entry.name}/`, from), `${to}/${entry.name}`);
    } else if (entry.isFile) {
      await Deno.copyFile(new URL(entry.name, from), `${to}/${entry.name}`);
    }
  }
}

/** Copies the sources to a temporary directory and installs deno.lock's npm packages beside them. */
export async function bunWorkspace(): Promise<BunWorkspace> {
  if (BUN === undefined) throw new Error("Bun is not installed");
  const bun = BUN;
  const dir = await Deno.makeTempDir({ prefix: "arcp-bun-" });
  try {
    await copyTree(ROOT, dir);
    const install = await new Deno.Command(Deno.execPath(), {
      args: ["install", "--node-modules-dir=auto", "--frozen", "--quiet"],
      cwd: dir,
      env: { NO_COLOR: "1" },
    }).output();
    if (install.code !== 0) {
      throw new Error(`deno install failed: ${new TextDecoder().decode(install.stderr)}`);
    }
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  const command = (args: string[], stdin: "null" | "piped") =>
    new Deno.Command(bun, {
      args,
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin,
      stdout: "piped",
      stderr: "piped",
    });
  return {
    dir,
    async run(args) {
      const { code, stdout, stderr } = await command(args, "null").output();
      const decoder = new TextDecoder();
      return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
    },
    spawn: (args) => command(args, "piped").spawn(),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** A running tests/bun/fixture_server.ts. */
export interface FixtureServer {
  /** The URL it listens on. */
  readonly url: string;
  /** Closes its stdin, which stops it; resolves with its exit code and output. */
  stop(): Promise<ProcessOutput>;
  /** Kills it, unless it already exited. */
  kill(): Promise<void>;
}

/** Starts tests/bun/fixture_server.ts under Bun in `workspace`. */
export function startBunServer(workspace: BunWorkspace): Promise<FixtureServer> {
  return fixtureServer(workspace.spawn(["tests/bun/fixture_server.ts"]));
}

/** Starts tests/bun/fixture_server.ts under Deno. */
export function startDenoServer(): Promise<FixtureServer> {
  const fixture = new URL("tests/bun/fixture_server.ts", ROOT).pathname;
  return fixtureServer(
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", fixture],
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
}

/** Waits for the fixture server `child` (under Bun, Deno or Node.js) to print its URL. */
export async function fixtureServer(child: Deno.ChildProcess): Promise<FixtureServer> {
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await reader.read();
    if (done) {
      await status;
      throw new Error(`The fixture server exited early:\n${stdout}${await stderr}`);
    }
    stdout += value;
    url = /listening on (ws:\/\/\S+)/.exec(stdout)?.[1];
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      stdout += value;
    }
  })();
  return {
    url,
    async stop() {
      await child.stdin.close();
      const [{ code }] = await Promise.all([status, rest]);
      return { code, stdout, stderr: await stderr };
    },
    async kill() {
      if (!exited) child.kill("SIGKILL");
      await Promise.all([status, rest, stderr]);
    },
  };
}
