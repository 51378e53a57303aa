// What the MCP bridge tests share: an MCP client of the real SDK connected in
// memory to a server, and the final status of a job as the runtime lists it.

import type { Client as ArcpClient } from "../../client.ts";
// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`, which it does
// not ship: the types are named by the specifier without `.js`.
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client";
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";

/** An MCP client of the SDK connected in memory to `server`; closing it closes both. */
export async function mcpClientOf(server: McpServer): Promise<McpClient> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new McpClient({ name: "arcp-tests", version: "1.0.0" });
  await client.connect(clientSide);
  return client;
}

/** The status of the principal's job of `agent` that the runtime lists, if there is one. */
export async function listedStatus(client: ArcpClient, agent: string): Promise<string[]> {
  const statuses: string[] = [];
  for await (const page of client.listJobs()) {
    for (const job of page.jobs) if (job.agent.split("@")[0] === agent) statuses.push(job.status);
  }
  return statuses;
}
