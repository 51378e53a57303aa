/**
 * `cli.ts mcp`: an MCP server on stdio whose tools are the agents of an
 * ARCP runtime (see `registerAgentTools` in `@arcp/arcp/mcp`).
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`, which it does
// not ship: the types are named by the specifier without `.js`.
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/server/stdio"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { SubmitOptions } from "../client.ts";
import { registerAgentTools } from "../mcp/server.ts";
import { SDK_VERSION } from "../protocol/version.ts";
import { CLIENT_OPTIONS, CLIENT_USAGE, EXIT, withClient } from "./_client.ts";

export const MCP_USAGE =
  `Usage: cli.ts mcp [--url ws://127.0.0.1:7777/arcp] --token TOKEN [--lease JSON]

Runs an MCP server on stdin/stdout (for an MCP client such as a coding agent or
a desktop app) whose tools are the runtime's agents, one per agent name: a tool
call submits a job with the call's arguments object as input; progress events
are MCP progress notifications; the result is the tool result (structured when
it is a JSON object); a job error is a tool error whose text starts with its
ARCP code; cancelling the call cancels the job. Stops when stdin closes,
cancelling the jobs of calls still running.
${CLIENT_USAGE.split("\n").filter((line) => !line.includes("--json")).join("\n")}
  --lease JSON             the lease every job requests, e.g. '{"tool.call":["noop"]}'
stdout carries only MCP messages; errors go to stderr. Exit code: 0 when stdin
closes, 2 for usage errors, 3 when the runtime cannot be reached.`;

/** Resolves when stdin ends: the MCP client is gone. */
function stdinEnded(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.once("end", resolve);
    process.stdin.once("close", resolve);
  });
}

/**
 * Runs `mcp` and returns the exit code once stdin closes.
 *
 * @param args Arguments after `mcp`.
 * @returns 0 when stdin closed, 2 on usage errors, 3 when the runtime cannot be reached.
 */
export async function mcp(args: string[]): Promise<number> {
  const { json: _json, ...options } = CLIENT_OPTIONS;
  const { values, positionals } = parseArgs({
    args,
    options: { ...options, lease: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(MCP_USAGE);
    return EXIT.success;
  }
  if (positionals.length > 0) {
    console.error(MCP_USAGE);
    return EXIT.usage;
  }
  const submit: Omit<SubmitOptions, "signal" | "idempotencyKey"> = {};
  if (values.lease !== undefined) {
    try {
      submit.leaseRequest = JSON.parse(values.lease);
    } catch (error) {
      console.error(`Invalid JSON: ${(error as Error).message}`);
      return EXIT.usage;
    }
  }
  return await withClient(values, async (client) => {
    const server = new McpServer({ name: "arcp", version: SDK_VERSION });
    registerAgentTools(server, client, { submit });
    const ended = stdinEnded();
    await server.connect(new StdioServerTransport());
    await ended;
    await server.close();
    return EXIT.success;
  });
}
