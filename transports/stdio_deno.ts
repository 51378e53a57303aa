/**
 * The stdio transport on Deno (spec §4.2): a runtime served over its own
 * stdin and stdout, and a client's transport to a runtime run as a child
 * process. Both are {@linkcode ndjsonTransport} over Deno's byte streams.
 *
 * @example Serve a runtime over this process's stdin and stdout
 * ```ts ignore
 * import { Runtime, staticTokens } from "@arcp/arcp/runtime";
 * import { stdioTransport } from "@arcp/arcp/transports/stdio-deno";
 *
 * await using runtime = new Runtime({ authenticate: staticTokens({ t: "local" }) });
 * await runtime.accept(stdioTransport());
 * ```
 *
 * @module
 */

import { ndjsonTransport, type NdjsonTransportOptions } from "./stdio.ts";
import type { Transport } from "./types.ts";

export { type Frame, MalformedFrame, type Transport } from "./types.ts";
export type { NdjsonTransportOptions } from "./stdio.ts";

/**
 * Makes a {@linkcode Transport} over this process's stdin and stdout, for a
 * runtime run as a child process. Nothing else may write to stdout (log to
 * stderr); closing the transport closes stdout.
 *
 * @param options The incoming line cap.
 * @returns The transport.
 * @throws {TypeError} when stdin or stdout is already being read or written
 *   as a stream.
 * @example Serve until the parent closes stdin
 * ```ts ignore
 * import { Runtime, staticTokens } from "@arcp/arcp/runtime";
 * import { stdioTransport } from "@arcp/arcp/transports/stdio-deno";
 *
 * const runtime = new Runtime({ authenticate: staticTokens({ t: "local" }) });
 * await runtime.accept(stdioTransport());
 * await runtime.close();
 * ```
 */
export function stdioTransport(options: NdjsonTransportOptions = {}): Transport {
  return ndjsonTransport(
    { readable: Deno.stdin.readable, writable: Deno.stdout.writable },
    options,
  );
}

/** Options of {@linkcode childProcessTransport}: `Deno.CommandOptions` plus the line cap. */
export interface ChildProcessTransportOptions
  extends Omit<Deno.CommandOptions, "stdin" | "stdout">, NdjsonTransportOptions {
  /**
   * What becomes of the child's stderr, where a stdio runtime logs.
   * @default {"inherit"}
   */
  stderr?: "piped" | "inherit" | "null";
}

/** A child process and the transport to it, made by {@linkcode childProcessTransport}. */
export interface ChildProcessTransport {
  /** Frames to the child's stdin and from its stdout. */
  transport: Transport;
  /** The child; await `child.status` after closing the transport. */
  child: Deno.ChildProcess;
}

/**
 * Spawns `command` with its stdin and stdout piped and returns a
 * {@linkcode Transport} to it, for a client of a runtime run as a child.
 * Closing the transport's writable closes the child's stdin, which is how
 * a stdio runtime learns to shut down; the child's exit ends the readable.
 *
 * @param command The program, as for `new Deno.Command`.
 * @param options Arguments, environment, working directory, stderr handling,
 *   signal and the incoming line cap.
 * @returns The transport and the child process.
 * @throws {RangeError} when `maxFrameBytes` is not a positive integer.
 * @throws {Deno.errors.NotFound} when the program does not exist.
 * @throws {Deno.errors.NotCapable} without `--allow-run` for the program.
 * @example Run a stdio runtime as a child and connect to it
 * ```ts ignore
 * import { connect } from "@arcp/arcp/client";
 * import { childProcessTransport } from "@arcp/arcp/transports/stdio-deno";
 * import assert from "node:assert/strict";
 *
 * const { transport, child } = childProcessTransport(Deno.execPath(), {
 *   args: ["run", "-A", "examples/stdio_runtime.ts"],
 * });
 * const client = await connect(transport, { token: "stdio-token" });
 * const job = await client.submit("echo", { hi: 1 });
 * assert.deepEqual((await job.result).result, { echoed: { hi: 1 } });
 * await client.close();
 * assert.equal((await child.status).code, 0);
 * ```
 */
export function childProcessTransport(
  command: string | URL,
  options: ChildProcessTransportOptions = {},
): ChildProcessTransport {
  const { maxFrameBytes, stderr = "inherit", ...commandOptions } = options;
  // Checked before spawning, so a bad option leaves no child behind.
  if (maxFrameBytes !== undefined && !(Number.isSafeInteger(maxFrameBytes) && maxFrameBytes > 0)) {
    throw new RangeError(`Cannot spawn a stdio child: maxFrameBytes is ${maxFrameBytes}`);
  }
  const child = new Deno.Command(command, {
    ...commandOptions,
    stdin: "piped",
    stdout: "piped",
    stderr,
  }).spawn();
  const transport = ndjsonTransport(
    { readable: child.stdout, writable: child.stdin },
    maxFrameBytes === undefined ? {} : { maxFrameBytes },
  );
  return { transport, child };
}
