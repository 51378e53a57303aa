// A throwaway PostgreSQL server for tests: a cluster made by `initdb` in a
// temp directory (as an unprivileged user when the tests run as root, since
// PostgreSQL refuses to run as root), listening on 127.0.0.1 at a free port
// with its unix sockets in that directory, stopped and removed on exit.

/** Where Debian and most distributions put the server binaries, besides PATH. */
const SEARCH = "/usr/lib/postgresql";
/** The unprivileged user the server runs as when the tests run as root. */
const SERVER_USER = "nobody";

async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      await Deno.stat(`${dir}/${name}`);
      return dir;
    } catch { /* not here */ }
  }
  return undefined;
}

/** The directory holding `initdb` and `pg_ctl`, or `undefined` when neither PATH nor the usual place has them. */
async function binaries(): Promise<string | undefined> {
  const found = await onPath("initdb");
  if (found !== undefined && await onPath("pg_ctl") === found) return found;
  try {
    const versions = [];
    for await (const entry of Deno.readDir(SEARCH)) versions.push(entry.name);
    versions.sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = `${SEARCH}/${version}/bin`;
      try {
        await Deno.stat(`${dir}/initdb`);
        await Deno.stat(`${dir}/pg_ctl`);
        return dir;
      } catch { /* incomplete */ }
    }
  } catch { /* no such directory */ }
  return undefined;
}

async function run(command: string[], asUser: string | undefined): Promise<void> {
  const argv = asUser === undefined ? command : ["runuser", "-u", asUser, "--", ...command];
  const { success, stdout, stderr } = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: "null",
  }).output();
  if (!success) {
    const text = new TextDecoder();
    throw new Error(`${command.join(" ")} failed: ${text.decode(stderr)}${text.decode(stdout)}`);
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function userIds(user: string): Promise<{ uid: number; gid: number }> {
  const output = async (flag: string) => {
    const { stdout } = await new Deno.Command("id", { args: [flag, user] }).output();
    return Number(new TextDecoder().decode(stdout).trim());
  };
  return { uid: await output("-u"), gid: await output("-g") };
}

/** A running throwaway server. */
export interface PostgresServer {
  /** A URL of its `postgres` database, as the superuser `postgres` (trust authentication). */
  url: string;
  /** Stops the server and removes its directory. */
  stop(): void;
}

/**
 * Starts a throwaway server, or says why it cannot: the string is the
 * reason, for a test's `ignore` message.
 */
export async function startPostgres(): Promise<PostgresServer | string> {
  const bin = await binaries();
  if (bin === undefined) {
    return `PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or under ${SEARCH}/*/bin`;
  }
  const asUser = Deno.uid() === 0 ? SERVER_USER : undefined;
  const dir = await Deno.makeTempDir({ prefix: "arcp_pg_test_" });
  if (asUser !== undefined) {
    const { uid, gid } = await userIds(asUser);
    await Deno.chown(dir, uid, gid);
  }
  const data = `${dir}/data`;
  const port = freePort();
  const pgCtl = `${bin}/pg_ctl`;
  const stop = () => {
    const argv = [pgCtl, "stop", "-D", data, "-m", "fast", "-w"];
    const full = asUser === undefined ? argv : ["runuser", "-u", asUser, "--", ...argv];
    new Deno.Command(full[0]!, { args: full.slice(1), stdout: "null", stderr: "null" })
      .outputSync();
    Deno.removeSync(dir, { recursive: true });
  };
  try {
    await run([
      `${bin}/initdb`,
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--no-sync",
    ], asUser);
    await run([
      pgCtl,
      "start",
      "-D",
      data,
      "-w",
      "-t",
      "120",
      "-l",
      `${dir}/server.log`,
      "-o",
      `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`,
    ], asUser);
  } catch (error) {
    try {
      stop();
    } catch { /* already gone */ }
    return `cannot start a PostgreSQL server: ${(error as Error).message}`;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop };
}
