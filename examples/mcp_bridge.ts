/**
 * The MCP bridge, both directions, in one process over in-memory transports:
 *
 * 1. An MCP client (as an assistant app would be) sees the runtime's agents
 *    as tools: a call runs a job, its progress events arrive as MCP progress
 *    notifications, its result as the tool result, its error as a tool error
 *    carrying the ARCP code. `cli.ts mcp` does the same over stdio.
 * 2. An agent calls the tools of an MCP server (a small dictionary) through
 *    its context: each call is checked against the job's `tool.call` lease
 *    and reported as `tool_call`/`tool_result` events.
 *
 * Run with `deno run -A examples/mcp_bridge.ts`.
 *
 * @module
 */

// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`, which it does
// not ship: the types are named by the specifier without `.js`.
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client";
import * as z from "zod/mini";
import { connect } from "../client.ts";
import { mcpTools, registerAgentTools } from "../mcp.ts";
import { ArcpError } from "../protocol/errors.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { memoryTransportPair } from "../transports/memory.ts";

/** Connects a new MCP client to `server` in memory. */
async function mcpClientOf(server: McpServer, name: string): Promise<McpClient> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new McpClient({ name, version: "1.0.0" });
  await client.connect(clientSide);
  return client;
}

// An MCP server with two tools; the agent's lease will allow only one.
const dictionary = new McpServer({ name: "dictionary", version: "1.0.0" });
dictionary.registerTool(
  "define",
  { description: "Defines a word", inputSchema: { word: z.string() } },
  ({ word }) => ({
    content: [{ type: "text", text: `${word}: a grant of authority for a time` }],
    structuredContent: { word, definition: "a grant of authority for a time" },
  }),
);
dictionary.registerTool(
  "translate",
  { description: "Translates a word", inputSchema: { word: z.string() } },
  ({ word }) => ({ content: [{ type: "text", text: `${word} -> bail` }] }),
);
const dictionaryClient = await mcpClientOf(dictionary, "glossary-agent");

/** Counts to `n`, reporting progress. */
async function count(input: { n: number }, ctx: AgentContext): Promise<{ count: number }> {
  for (let step = 1; step <= input.n; step++) {
    await ctx.progress(step, { total: input.n, message: `step ${step}` });
  }
  return { count: input.n };
}

/** Looks a word up through the dictionary's MCP tools, as far as its lease allows. */
async function glossary(input: { word: string }, ctx: AgentContext): Promise<unknown> {
  const tools = mcpTools(ctx, dictionaryClient, { prefix: "mcp:dictionary/" });
  const allowed = (await tools.list()).map((tool) => tool.leaseName);
  const defined = await tools.call("define", { word: input.word });
  let translated: string;
  try {
    await tools.call("translate", { word: input.word });
    translated = "translated";
  } catch (error) {
    translated = `translate refused: ${(error as ArcpError).code}`;
  }
  return { allowed, definition: defined.structuredContent?.definition, translated };
}

const runtime = new Runtime({
  authenticate: staticTokens({ s3cret: "alice" }),
  agents: [
    { name: "count", handler: count },
    { name: "glossary", handler: glossary },
    {
      name: "guarded",
      handler: () => Promise.reject(new ArcpError("PERMISSION_DENIED", "not now")),
    },
  ],
});
const [clientSide, runtimeSide] = memoryTransportPair();
runtime.accept(runtimeSide);
const arcp = await connect(clientSide, { token: "s3cret" });

// 1. The runtime's agents as MCP tools. Every job the bridge submits asks for
// the lease the glossary agent needs.
const bridge = new McpServer({ name: "arcp", version: "1.0.0" });
registerAgentTools(bridge, arcp, {
  submit: { leaseRequest: { "tool.call": ["mcp:dictionary/define"] } },
});
const assistant = await mcpClientOf(bridge, "assistant");
const { tools } = await assistant.listTools();
console.log(`MCP tools: ${tools.map((tool) => tool.name).join(", ")}`);

const counted = await assistant.callTool({ name: "count", arguments: { n: 3 } }, undefined, {
  onprogress: ({ progress, total, message }) =>
    console.log(`  progress ${progress}/${total} ${message}`),
});
console.log(`count -> ${JSON.stringify(counted.structuredContent)}`);

const guarded = await assistant.callTool({ name: "guarded", arguments: {} });
console.log(
  `guarded -> isError ${guarded.isError}: ${(guarded.content as { text: string }[])[0]?.text}`,
);

// 2. The glossary agent calls the dictionary's tools under its lease.
const looked = await assistant.callTool({ name: "glossary", arguments: { word: "lease" } });
console.log(`glossary -> ${JSON.stringify(looked.structuredContent)}`);

// The same job seen as ARCP events, through a subscription with history.
const jobId = (looked._meta as Record<string, { job_id: string }>)["arcp/job"]!.job_id;
const watched = await arcp.subscribe(jobId, { history: true });
for await (const event of watched) {
  const { kind, body } = event.payload;
  if (kind === "tool_call") console.log(`  tool_call ${(body as { tool: string }).tool}`);
  if (kind === "tool_result") {
    const { error } = body as { error?: { code: string } };
    console.log(`  tool_result ${error === undefined ? "ok" : error.code}`);
  }
}

await assistant.close();
await dictionaryClient.close();
await arcp.close();
await runtime.close();
