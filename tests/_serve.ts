// A real `cli.ts serve` process, and one-shot CLI runs, for end-to-end tests.

import type { Frame } from "../transports/types.ts";

const cli = new URL("../cli.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

/** A running `cli.ts serve` process. */
export interface Served {
  url: string;
  /** The process id, e.g. to read its memory in `/proc`. */
  pid: number;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then its exit code and output. */
  stop(): Promise<{ code: number; output: string }>;
  /** SIGKILL: the process dies without cleaning up. */
  kill(): Promise<void>;
}

/** The arguments of `cli.ts serve --demo` on a free port, `token` for the principal `tester`. */
function demoServe(token: string): string[] {
  return [cli, "serve", "--demo", "--port", "0", "--token", `${token}=tester`];
}

/**
 * Starts `cli.ts serve --demo` on a free port, its state in a fresh Deno KV
 * file, with `extraArgs` after the others and `env` added to its environment.
 */
export async function startServe(
  token: string,
  kvPath?: string,
  extraArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<Served> {
  const ownDir = kvPath === undefined
    ? await Deno.makeTempDir({ prefix: "arcp-cli-test-" })
    : undefined;
  const path = kvPath ?? `${ownDir}/runtime.kv`;
  const served = await startListening([...demoServe(token), "--kv-path", path, ...extraArgs], env);
  if (ownDir === undefined) return served;
  return {
    ...served,
    async stop() {
      const stopped = await served.stop();
      await Deno.remove(ownDir, { recursive: true });
      return stopped;
    },
  };
}

/**
 * Starts `cli.ts serve --demo --store postgres` on a free port, its state in
 * schema `schema` of the database at `databaseUrl`: one of several runtime
 * processes sharing that database when started with the same schema.
 */
export function startPostgresServe(
  token: string,
  databaseUrl: string,
  schema: string,
): Promise<Served> {
  return startListening([
    ...demoServe(token),
    "--store",
    "postgres",
    "--postgres-url",
    databaseUrl,
    "--postgres-schema",
    schema,
  ]);
}

/**
 * Runs `deno run -A ...args`, with `env` added to the environment, and
 * waits for it to print `listening on ws://...`: a runtime process a test
 * can stop or kill.
 */
export async function startListening(
  args: string[],
  env: Record<string, string> = {},
): Promise<Served> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${args[0]} exited early: ${output}`);
    output += value;
    url = /listening on (ws:\/\/\S+)/.exec(output)?.[1];
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      output += value;
    }
  })();
  // Read as it comes: a runtime logging errors must never block on a full pipe.
  let stderr = "";
  const errors = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  return {
    url,
    pid: child.pid,
    stderr: () => stderr,
    async stop() {
      child.kill("SIGTERM");
      const [status] = await Promise.all([child.status, rest, errors]);
      return { code: status.code, output };
    },
    async kill() {
      child.kill("SIGKILL");
      await Promise.all([child.status, rest, errors]);
    },
  };
}

/**
 * Runs `deno serve -A --host 127.0.0.1 --port 0 entrypoint` with `env`
 * added to this process's environment and waits for its `Listening on`
 * line: a `fetch`-export app (a Deno Deploy app) that a test can stop or
 * kill. `url` is its `ws://…/arcp` address.
 */
export async function startDenoServe(
  entrypoint: string,
  env: Record<string, string> = {},
): Promise<Served> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["serve", "-A", "--host", "127.0.0.1", "--port", "0", entrypoint],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  // `deno serve` announces its address on stderr.
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  let address: string | undefined;
  while (address === undefined) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`deno serve ${entrypoint} exited early: ${output}`);
    output += value;
    address = /Listening on http:\/\/(\S+?)\/?\s/.exec(output)?.[1];
  }
  const stdout = new Response(child.stdout).text();
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      output += value;
    }
  })();
  const ended = () => Promise.all([child.status, rest, stdout]);
  return {
    url: `ws://${address}/arcp`,
    pid: child.pid,
    stderr: () => output,
    async stop() {
      child.kill("SIGTERM");
      const [status, , printed] = await ended();
      return { code: status.code, output: printed + output };
    },
    async kill() {
      child.kill("SIGKILL");
      await ended();
    },
  };
}

export async function runCli(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    env: { NO_COLOR: "1" },
  }).output();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** A `cli.ts` process running in the background. */
export interface RunningCli {
  /** Resolves with the output so far once it matches `pattern`; rejects if the process ends first. */
  waitFor(pattern: RegExp): Promise<string>;
  /** Resolves when the process exits. */
  finished: Promise<{ code: number; stdout: string; stderr: string }>;
  /** Sends the process a signal. */
  kill(signal: Deno.Signal): void;
}

export function spawnCli(args: string[]): RunningCli {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let stdout = "";
  let changed = Promise.withResolvers<boolean>();
  const read = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      stdout += chunk;
      changed.resolve(true);
      changed = Promise.withResolvers<boolean>();
    }
    changed.resolve(false);
  })();
  const stderr = new Response(child.stderr).text();
  return {
    async waitFor(pattern) {
      while (!pattern.test(stdout)) {
        if (!await changed.promise) throw new Error(`exited before ${pattern}: ${stdout}`);
      }
      return stdout;
    },
    kill: (signal) => child.kill(signal),
    finished: Promise.all([child.status, read, stderr]).then(([status, , err]) => ({
      code: status.code,
      stdout,
      stderr: err,
    })),
  };
}

/** Sends `hello` on a raw WebSocket and collects frames until `done` says stop. */
export async function rawSession(
  url: string,
  hello: Frame,
  done: (frames: Frame[]) => boolean,
): Promise<Frame[]> {
  const socket = new WebSocket(url);
  const frames: Frame[] = [];
  const finished = Promise.withResolvers<Frame[]>();
  socket.onopen = () => socket.send(JSON.stringify(hello));
  socket.onmessage = (event) => {
    frames.push(JSON.parse(event.data));
    if (done(frames)) socket.close();
  };
  socket.onclose = () => finished.resolve(frames);
  socket.onerror = () => {};
  return await finished.promise;
}
