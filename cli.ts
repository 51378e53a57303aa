/**
 * The `arcp` command line: `serve` a runtime; `submit` a job and follow it;
 * list `jobs`; `watch` a job another client submitted; `cancel` a job; list
 * the demo `agents`; serve a runtime's agents as `mcp` tools on stdio; print
 * the `version`; run the `conformance` kit against a runtime.
 * `arcp <command> --help` explains each command's options.
 *
 * Install it as `arcp` (Deno KV, the default store of `serve` and the file of
 * `--session`, needs `--unstable-kv`):
 *
 * ```sh
 * deno install -g -A --unstable-kv -n arcp jsr:@arcp/arcp/cli
 * ```
 *
 * Every command prints JSON lines with `--json`, each of one shape:
 * `{"type", "payload", "job_id"?}` (`type` names the line, `payload` is an
 * object, `job_id` is there when the line is about one job; `job.event`
 * lines are the wire messages as received, with their other envelope
 * fields). Failures are lines too: `job.error`, `session.error` and
 * `connection.error`. The client
 * commands connect to `--url` (default `$ARCP_URL`, else
 * `ws://127.0.0.1:7777/arcp`) with `--token` (default `$ARCP_TOKEN`); a
 * lost connection is resumed for `--reconnect-timeout` seconds (default 30),
 * then the command exits 3.
 *
 * Exit codes, a stable contract for scripts:
 *
 * | code | meaning                                                                 |
 * | ---- | ----------------------------------------------------------------------- |
 * | 0    | success; a followed job ended with `job.result`                         |
 * | 1    | the job ended in error, or the runtime refused the request (code printed) |
 * | 2    | usage error: unknown command, bad flag or argument                      |
 * | 3    | cannot connect, authentication failed, or the connection was lost and not resumed |
 *
 * @example Start a runtime with the demo agents, run jobs and follow them
 * ```sh
 * arcp serve --demo --token s3cret=alice
 * arcp submit --token s3cret count '{"n": 5, "delay_ms": 100}'
 * arcp submit --token s3cret --detach --session alice.kv sleep '{"ms": 60000}'
 * arcp jobs --token s3cret --status running
 * arcp watch --token s3cret JOB_ID
 * arcp cancel --token s3cret --session alice.kv JOB_ID
 * arcp agents   # the demo agents' inputs and leases
 * ```
 *
 * @module
 */

import { PROTOCOL_VERSION } from "./protocol/messages.ts";
import { SDK_NAME, SDK_VERSION } from "./protocol/version.ts";
import { parseArgs } from "node:util";
import { EXIT, EXIT_CODES_USAGE, JSON_USAGE, printLine } from "./cli/_client.ts";
import { agents } from "./cli/agents.ts";
import { cancel } from "./cli/cancel.ts";
import { conformance } from "./cli/conformance.ts";
import { jobs } from "./cli/jobs.ts";
import { serve } from "./cli/serve.ts";
import { submit } from "./cli/submit.ts";
import { watch } from "./cli/watch.ts";

export { demoAgents } from "./cli/demo_agents.ts";
export { type Counts, type FilesInput, type FilesReport } from "./cli/files_agent.ts";

const USAGE = `Usage: cli.ts <command> [options]

Commands:
  serve     start a runtime (see serve --help)
  submit    submit one job and stream it (see submit --help)
  jobs      list jobs, with filters (see jobs --help)
  watch     follow a job until it ends (see watch --help)
  cancel    cancel a job (see cancel --help)
  agents    list the demo agents: inputs, leases, a command to try each
  mcp       serve a runtime's agents as MCP tools on stdio (see mcp --help)
  conformance
            run the conformance kit against a runtime (see conformance --help)
  version   print the SDK and protocol versions (see version --help)

Install as "arcp": deno install -g -A --unstable-kv -n arcp jsr:@arcp/arcp/cli
Every command takes --help, and --json for JSON lines.
${JSON_USAGE}
${EXIT_CODES_USAGE}`;

const VERSION_USAGE = `Usage: cli.ts version [--json]

Prints the SDK's name and version and the ARCP versions it speaks. With --json,
one "version" line: payload {name, version, protocol, accepts}.
  --json                   print a JSON line (see cli.ts --help)
  -h, --help               print this help`;

function version(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: {
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(VERSION_USAGE);
  } else if (positionals.length > 0) {
    throw new TypeError(`Unexpected argument "${positionals[0]}": version takes only --json`);
  } else if (values.json) {
    printLine("version", {
      name: SDK_NAME,
      version: SDK_VERSION,
      protocol: PROTOCOL_VERSION,
      accepts: ["1.0"],
    });
  } else {
    console.log(`${SDK_NAME} ${SDK_VERSION} (ARCP ${PROTOCOL_VERSION}; accepts 1.0)`);
  }
  return EXIT.success;
}

/**
 * Runs the CLI with `args` (as in `Deno.args`) and resolves to the exit code:
 * 0 success, 1 the job ended in error or the runtime refused the request, 2
 * usage error, 3 no session (cannot connect, bad token, connection lost).
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
      case "jobs":
        return await jobs(rest);
      case "watch":
        return await watch(rest);
      case "cancel":
        return await cancel(rest);
      case "agents":
        return agents(rest);
      case "mcp":
        // Imported here: the MCP SDK is loaded only by the command that needs it.
        return await (await import("./cli/mcp.ts")).mcp(rest);
      case "conformance":
        return await conformance(rest);
      case "version":
      case "--version":
      case "-V":
        return version(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return command === undefined ? EXIT.usage : EXIT.success;
      default:
        console.error(`Unknown command "${command}"\n\n${USAGE}`);
        return EXIT.usage;
    }
  } catch (error) {
    if (error instanceof TypeError) {
      console.error(error.message);
      return EXIT.usage;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
