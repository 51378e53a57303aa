// The agent → MCP direction: an agent calls the tools of an MCP server the
// user connected, each call a checked `ctx.tool` call (the job's `tool.call`
// lease, its budget and expiry; `tool_call` and `tool_result` events). The
// MCP client is the user's: the runtime never imports the MCP SDK.

import type { Client as McpClient } from "@modelcontextprotocol/sdk/client";
// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`, which it does
// not ship: the types are named by the specifier without `.js`.
// @ts-types="@modelcontextprotocol/sdk/types"
import { ErrorCode as McpErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { ArcpError, type ErrorCode, isErrorCode } from "../protocol/errors.ts";
import { leaseAllows } from "../protocol/lease.ts";
import type { AgentContext } from "../runtime/context.ts";

/**
 * An MCP client of `@modelcontextprotocol/sdk` (`Client`), connected to the
 * server whose tools the agent calls. Typed by shape, so that the SDK's own
 * types stay out of this module's API.
 */
export interface McpToolsClient {
  /** `Client.listTools`. */
  listTools: (...args: never[]) => unknown;
  /** `Client.callTool`. */
  callTool: (...args: never[]) => unknown;
}

/** Options of {@linkcode mcpTools}. */
export interface McpToolsOptions {
  /**
   * Put before each tool's name to make the name the call is reported and
   * checked by (`tool_call.tool`, the `tool.call` target), e.g.
   * `"mcp:github/"` so that a lease of `{"tool.call": ["mcp:github/*"]}`
   * allows every tool of that server and nothing else.
   * @default {""}
   */
  prefix?: string;
  /**
   * How long one call may take, in milliseconds, before it fails with
   * `TIMEOUT` (the MCP request is then cancelled).
   * @default {60000}
   */
  timeoutMs?: number;
}

/** A tool of the MCP server, as {@linkcode McpTools.list} gives it. */
export interface McpToolInfo {
  /** The tool's name on the MCP server (without the prefix). */
  name: string;
  /** The name the call is reported and checked by: the prefix and the name. */
  leaseName: string;
  /** What the server says the tool does. */
  description?: string;
  /** The JSON Schema of its arguments. */
  inputSchema: Record<string, unknown>;
}

/** What one MCP tool call gave: its `content`, and `structuredContent` when there was one. */
export interface McpToolResult {
  /** The content blocks (text, images, resources …), as the MCP server sent them. */
  content: unknown[];
  /** The structured result, when the server sent one. */
  structuredContent?: Record<string, unknown>;
}

/** An MCP server's tools as an agent calls them; made by {@linkcode mcpTools}. */
export interface McpTools {
  /**
   * The server's tools that the job's lease lets it call (`tool.call` on
   * the prefixed name), every page of them.
   */
  list(): Promise<McpToolInfo[]>;
  /**
   * Calls a tool as one checked tool call: emits `tool_call {tool, args}`
   * (`tool` prefixed), checks `tool.call` on the prefixed name, calls the
   * MCP server with the job's signal (cancelling the job cancels the MCP
   * request), and emits `tool_result` with the result or the error.
   *
   * @param name The tool's name on the MCP server.
   * @param args Its arguments.
   * @returns The tool's content and structured content.
   * @throws {ArcpError} `PERMISSION_DENIED`, `BUDGET_EXHAUSTED` or
   *   `LEASE_EXPIRED` before any request is sent; a tool error (`isError`)
   *   as the ARCP error it carries when it is one (an ARCP agent served
   *   over MCP) and `INTERNAL_ERROR` otherwise; `INVALID_REQUEST` for an
   *   unknown tool or bad arguments; `TIMEOUT` after `timeoutMs`.
   */
  call(name: string, args?: Record<string, unknown>): Promise<McpToolResult>;
}

/** MCP protocol errors that have an ARCP counterpart. */
const MCP_CODES: ReadonlyMap<number, ErrorCode> = new Map([
  [McpErrorCode.InvalidParams, "INVALID_REQUEST"],
  [McpErrorCode.MethodNotFound, "INVALID_REQUEST"],
  [McpErrorCode.RequestTimeout, "TIMEOUT"],
]);

/** The ARCP error of a tool result with `isError`. */
function toolError(name: string, result: McpToolResult): ArcpError {
  const structured = result.structuredContent;
  if (isErrorCode(structured?.code) && typeof structured.message === "string") {
    return ArcpError.fromPayload(structured);
  }
  const text = result.content
    .flatMap((block) =>
      (block as { type?: string }).type === "text" ? [(block as { text: string }).text] : []
    )
    .join("\n");
  // The SDK's McpServer answers an unknown tool or invalid arguments with a
  // tool error whose text is the protocol error's, "MCP error -32602: ...".
  const protocolCode = /^MCP error (-?\d+):/.exec(text)?.[1];
  const code = protocolCode === undefined ? undefined : MCP_CODES.get(Number(protocolCode));
  return new ArcpError(
    code ?? "INTERNAL_ERROR",
    `MCP tool ${name} failed: ${text || "no message"}`,
    {
      retryable: false,
    },
  );
}

/** The ARCP error of a failed MCP request. */
function requestError(name: string, error: unknown, signal: AbortSignal): ArcpError {
  // The job's own reason (CANCELLED, TIMEOUT) when it is the job that ended.
  if (signal.aborted && signal.reason instanceof ArcpError) return signal.reason;
  if (error instanceof McpError) {
    const code = MCP_CODES.get(error.code) ?? "INTERNAL_ERROR";
    return new ArcpError(code, `MCP tool ${name}: ${error.message}`, { cause: error });
  }
  return ArcpError.from(error);
}

/**
 * An MCP server's tools for one job's agent: `client` is an MCP client of
 * `@modelcontextprotocol/sdk`, connected by the caller to any MCP server
 * (stdio, HTTP, in memory). Each call goes through `ctx.tool`, so it is
 * checked against the job's `tool.call` lease (and its budget and expiry)
 * before the request is sent, and reported as `tool_call`/`tool_result`
 * events.
 *
 * @param ctx The job's context.
 * @param mcpClient A connected MCP client.
 * @param options The prefix the lease names the tools by, and the call timeout.
 * @returns The server's tools, as the job may use them.
 * @example An agent that searches through an MCP server
 * ```ts
 * import { mcpTools } from "@arcp/arcp/mcp";
 * import type { AgentContext } from "@arcp/arcp/runtime";
 * import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
 *
 * export function searchAgent(mcp: Client) {
 *   return async (input: { query: string }, ctx: AgentContext) => {
 *     const tools = mcpTools(ctx, mcp, { prefix: "mcp:search/" });
 *     const { structuredContent } = await tools.call("search", { query: input.query });
 *     return structuredContent;
 *   };
 * }
 * ```
 */
export function mcpTools(
  ctx: AgentContext,
  mcpClient: McpToolsClient,
  options: McpToolsOptions = {},
): McpTools {
  const client = mcpClient as unknown as McpClient;
  const prefix = options.prefix ?? "";
  const timeout = options.timeoutMs ?? 60_000;
  return {
    async list() {
      const tools: McpToolInfo[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor === undefined ? {} : { cursor }, {
          signal: ctx.signal,
          timeout,
        });
        for (const tool of page.tools) {
          const leaseName = `${prefix}${tool.name}`;
          if (!leaseAllows(ctx.lease, "tool.call", leaseName)) continue;
          const info: McpToolInfo = { name: tool.name, leaseName, inputSchema: tool.inputSchema };
          if (tool.description !== undefined) info.description = tool.description;
          tools.push(info);
        }
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      return tools;
    },
    call(name, args = {}) {
      return ctx.tool(`${prefix}${name}`, async () => {
        let called;
        try {
          called = await client.callTool({ name, arguments: args }, undefined, {
            signal: ctx.signal,
            timeout,
          });
        } catch (error) {
          throw requestError(name, error, ctx.signal);
        }
        const result: McpToolResult = { content: (called.content ?? []) as unknown[] };
        if (called.structuredContent !== undefined) {
          result.structuredContent = called.structuredContent as Record<string, unknown>;
        }
        if (called.isError === true) throw toolError(name, result);
        return result;
      }, { args });
    },
  };
}
