// A real `cli.ts serve` process, and one-shot CLI runs, for end-to-end tests.

const cli = new URL("../cli.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

/** A running `cli.ts serve` process. */
export interface Served {
  url: string;
  /** SIGTERM, then its exit code and output. */
  stop(): Promise<{ code: number; output: string }>;
  /** SIGKILL: the process dies without cleaning up. */
  kill(): Promise<void>;
}

/** Starts `cli.ts serve --demo` on a free port, its state in a fresh Deno KV file. */
export async function startServe(token: string, kvPath?: string): Promise<Served> {
  const ownDir = kvPath === undefined
    ? await Deno.makeTempDir({ prefix: "arcp-cli-test-" })
    : undefined;
  const path = kvPath ?? `${ownDir}/runtime.kv`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      cli,
      "serve",
      "--demo",
      "--port",
      "0",
      "--token",
      `${token}=tester`,
      "--kv-path",
      path,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited early: ${output}`);
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
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      const [status] = await Promise.all([child.status, rest, child.stderr.cancel()]);
      if (ownDir !== undefined) await Deno.remove(ownDir, { recursive: true });
      return { code: status.code, output };
    },
    async kill() {
      child.kill("SIGKILL");
      await Promise.all([child.status, rest, child.stderr.cancel()]);
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
