/**
 * The MCP bridge, both directions, on `@modelcontextprotocol/sdk`:
 * {@linkcode registerAgentTools} makes a runtime's agents the tools of an
 * MCP server (a call is a job), and {@linkcode mcpTools} lets an agent call the
 * tools of an MCP server under its job's `tool.call` lease. The client,
 * runtime and protocol modules never import the MCP SDK: only this
 * entrypoint does. `cli.ts mcp` runs the first over stdio.
 *
 * @example Run a runtime's agents as the tools of an MCP server on stdio
 * ```ts ignore
 * import { connect } from "@arcp/arcp/client";
 * import { registerAgentTools } from "@arcp/arcp/mcp";
 * import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
 * import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
 *
 * const arcp = await connect("ws://127.0.0.1:7777/arcp", { token: "s3cret" });
 * const server = new McpServer({ name: "arcp", version: "1.0.0" });
 * registerAgentTools(server, arcp);
 * await server.connect(new StdioServerTransport());
 * ```
 *
 * @module
 */

export { type AgentToolsOptions, type McpToolRegistry, registerAgentTools } from "./mcp/server.ts";
export {
  type McpToolInfo,
  type McpToolResult,
  type McpTools,
  mcpTools,
  type McpToolsClient,
  type McpToolsOptions,
} from "./mcp/tools.ts";
