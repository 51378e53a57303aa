/**
 * `cli.ts agents`: the demo agents of `serve --demo`, with their inputs and
 * the leases they need.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { EXIT, print, printLine } from "./_client.ts";
import { DEMO_AGENT_GUIDE } from "./demo_agents.ts";

export const AGENTS_USAGE = `Usage: cli.ts agents [--json]

Lists the demo agents that serve --demo registers: what each does, its input, the
lease it needs (submit --lease) and a submit command to try it. With --json, one
"agent" line per agent: payload {name, does, input, example, lease}, example and
lease as JSON values (lease null when none is needed).
  --json                   print JSON lines (see cli.ts --help)
  -h, --help               print this help`;

/** Quotes `text` as one shell word. */
function shellWord(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * Runs `agents` and returns the exit code.
 *
 * @param args Arguments after `agents`.
 * @returns 0, or 2 on usage errors.
 */
export function agents(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(AGENTS_USAGE);
    return EXIT.success;
  }
  for (const agent of DEMO_AGENT_GUIDE) {
    if (values.json) {
      printLine("agent", {
        name: agent.name,
        does: agent.does,
        input: agent.input,
        example: JSON.parse(agent.example),
        lease: agent.lease === undefined ? null : JSON.parse(agent.lease),
      });
      continue;
    }
    const lease = agent.lease === undefined ? "" : `--lease ${shellWord(agent.lease)} `;
    print(
      `${agent.name}: ${agent.does}\n` +
        `  input: ${agent.input}\n` +
        `  lease: ${agent.lease ?? "none needed"}\n` +
        `  try:   cli.ts submit ${lease}${agent.name} ${shellWord(agent.example)}\n`,
    );
  }
  return EXIT.success;
}
