/**
 * The `arcp` command line: `serve` a runtime, `submit` a job, print the
 * `version`. Run with `deno run -A cli.ts <command> --help` for each
 * command's options.
 *
 * @example Start a runtime with the demo agents
 * ```sh
 * deno run -A cli.ts serve --demo --token s3cret=alice
 * deno run -A cli.ts submit --token s3cret count '{"n": 5, "delay_ms": 100}'
 * ```
 *
 * @module
 */

import { PROTOCOL_VERSION } from "./protocol/messages.ts";
import { SDK_NAME, SDK_VERSION } from "./protocol/version.ts";
import { serve } from "./cli/serve.ts";
import { submit } from "./cli/submit.ts";

export { demoAgents } from "./cli/demo_agents.ts";
export { type Counts, type FilesInput, type FilesReport } from "./cli/files_agent.ts";

const USAGE = `Usage: cli.ts <command> [options]

Commands:
  serve     start a runtime (see serve --help)
  submit    submit one job and stream it (see submit --help)
  version   print the SDK and protocol versions`;

/**
 * Runs the CLI with `args` (as in `Deno.args`) and resolves to the exit code.
 *
 * @param args Command and options.
 * @returns The process exit code.
 * @example
 * ```ts
 * import { main } from "@arcp/arcp/cli";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["version"]), 0);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "serve":
        return await serve(rest);
      case "submit":
        return await submit(rest);
      case "version":
        console.log(`${SDK_NAME} ${SDK_VERSION} (ARCP ${PROTOCOL_VERSION}; accepts 1.0)`);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        console.error(`Unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof TypeError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
