// The ARCP → MCP direction: an MCP server whose tools are a runtime's agents.
// A tool call is one job, submitted through an ARCP client; its progress
// events are the call's progress notifications, its result the tool result,
// its error a tool error carrying the ARCP code, and the call's cancellation
// the job's.

// Types only: the SDK's types are named by the specifier without `.js` (its
// "./*" export looks for `x.js.d.ts`, which it does not ship).
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types";
import * as z from "zod/mini";
import type { Client, JobHandle, SubmitOptions } from "../client.ts";
import { ArcpError } from "../protocol/errors.ts";
import { isEventKind } from "../protocol/events.ts";
import type { AgentInfo, JobResultPayload } from "../protocol/messages.ts";

/**
 * An MCP server of `@modelcontextprotocol/sdk` (`McpServer`), which the
 * agents are registered on as tools. Typed by shape, so that the SDK's own
 * types stay out of this module's API.
 */
export interface McpToolRegistry {
  /** `McpServer.registerTool`. */
  registerTool: (...args: never[]) => unknown;
}

/** Options of {@linkcode registerAgentTools}. */
export interface AgentToolsOptions {
  /**
   * Submit options every job gets, e.g. a `leaseRequest` or `maxRuntimeSec`;
   * each job still gets an idempotency key of its own.
   * @default {{}}
   */
  submit?: Omit<SubmitOptions, "signal" | "idempotencyKey">;
}

/** A tool's arguments are the job's input: any JSON object. */
const ARGUMENTS = z.looseObject({});

/** Where the ARCP side of a tool result is kept, under the result's `_meta`. */
const JOB_META = "arcp/job";

/** What an MCP client reads about an agent as a tool. */
function describe(agent: AgentInfo): string {
  const versions = agent.versions.length === 0
    ? ""
    : ` (versions ${agent.versions.join(", ")}${
      agent.default === undefined ? "" : `; runs ${agent.default}`
    })`;
  return `ARCP agent ${agent.name}${versions}: the arguments object is the job's input, ` +
    `the job's result is the tool's result.`;
}

/** A JSON value as text: a string as it is, anything else as JSON. */
function asText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value ?? null);
}

/** The tool result of a job that succeeded (structured when its result is a JSON object). */
async function success(
  job: JobHandle,
  payload: JobResultPayload,
): Promise<CallToolResult> {
  const _meta = { [JOB_META]: { job_id: job.jobId, agent: job.agent, final_status: "success" } };
  if (payload.result_id !== undefined) {
    // A streamed result (spec 1.1 §8.4) is given whole, as text.
    return { content: [{ type: "text", text: await job.resultText() }], _meta };
  }
  const { result } = payload;
  const text = { type: "text" as const, text: asText(result) };
  if (result !== null && typeof result === "object" && !Array.isArray(result)) {
    return { content: [text], structuredContent: result as Record<string, unknown>, _meta };
  }
  return { content: [text], _meta };
}

/**
 * The tool error of a job that failed or was refused: the ARCP error payload
 * as `structuredContent`, and `CODE: message` as text.
 */
function failure(error: unknown, job: JobHandle | undefined): CallToolResult {
  const arcp = ArcpError.from(error);
  const result: CallToolResult = {
    isError: true,
    content: [{ type: "text", text: `${arcp.code}: ${arcp.message}` }],
    structuredContent: { ...arcp.toPayload() },
  };
  if (job !== undefined) result._meta = { [JOB_META]: { job_id: job.jobId, agent: job.agent } };
  return result;
}

/** The params of an MCP `notifications/progress`. */
interface ProgressParams {
  progressToken: string | number;
  progress: number;
  total?: number;
  message?: string;
}

/** What a tool handler is handed by the MCP SDK, as far as the bridge uses it. */
interface CallExtra {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification(
    notification: { method: "notifications/progress"; params: ProgressParams },
  ): Promise<void>;
}

/** Runs one job for one tool call. */
async function runJob(
  client: Client,
  agent: string,
  input: Record<string, unknown>,
  submit: Omit<SubmitOptions, "signal" | "idempotencyKey">,
  extra: CallExtra,
): Promise<CallToolResult> {
  let job: JobHandle;
  try {
    job = await client.submit(agent, input, submit);
  } catch (error) {
    return failure(error, undefined);
  }
  // MCP's notifications/cancelled aborts the call's signal: the job is
  // cancelled with it. A call cancelled while the submit was in flight
  // cancels the job as soon as it is accepted.
  // A job that ended meanwhile refuses the cancel: its end is the tool result either way.
  const cancel = () => void job.cancel({ reason: "The MCP request was cancelled" }).catch(() => {});
  if (extra.signal.aborted) cancel();
  else extra.signal.addEventListener("abort", cancel, { once: true });
  const progressToken = extra._meta?.progressToken;
  try {
    for await (const event of job) {
      if (!isEventKind(event.payload, "progress") || progressToken === undefined) continue;
      const { current, total, message } = event.payload.body;
      const params: ProgressParams = { progressToken, progress: current };
      if (total !== undefined) params.total = total;
      if (message !== undefined) params.message = message;
      // A progress notification that cannot be sent (the MCP client went
      // away) must not fail the job's tool result.
      await extra.sendNotification({ method: "notifications/progress", params }).catch(() => {});
    }
    return await success(job, await job.result);
  } catch (error) {
    return failure(error, job);
  } finally {
    extra.signal.removeEventListener("abort", cancel);
  }
}

/**
 * Registers the agents of the runtime `client` is connected to as the tools
 * of `server`, an `McpServer` of `@modelcontextprotocol/sdk`: one tool per
 * agent name (a bare name runs the agent's default version, spec 1.1 §7.5).
 * Connect the server to any MCP transport (stdio, Streamable HTTP, in
 * memory) as usual; it may have tools of its own besides.
 *
 * A tool call submits one job with the call's arguments object as its
 * input. When the call carries a `progressToken`, each `progress` event is a
 * `notifications/progress` (`progress` is `current`, with `total` and
 * `message`). A result that is a JSON object is the tool result's
 * `structuredContent`, and every result is also one text content (a string
 * as is, anything else as JSON; a streamed result assembled, as UTF-8). A
 * job error, or a refused submit, is a tool error (`isError`) whose
 * `structuredContent` is the ARCP error payload (`code`, `message`,
 * `retryable`, `details`) and whose text is `CODE: message`. The result's
 * `_meta["arcp/job"]` names the job. Cancelling the call
 * (`notifications/cancelled`) cancels the job.
 *
 * @param server The MCP server to register the tools on.
 * @param client A connected ARCP client; its `agents` are the tools.
 * @param options The options of every submit.
 * @returns The names of the tools registered.
 * @example Serve a runtime's agents to an in-memory MCP client
 * ```ts
 * import { connect } from "@arcp/arcp/client";
 * import { registerAgentTools } from "@arcp/arcp/mcp";
 * import { Runtime, staticTokens } from "@arcp/arcp/runtime";
 * import { memoryTransportPair } from "@arcp/arcp/transports/memory";
 * import { Client } from "@modelcontextprotocol/sdk/client";
 * import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
 * import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
 * import assert from "node:assert/strict";
 *
 * await using runtime = new Runtime({
 *   authenticate: staticTokens({ t: "alice" }),
 *   agents: [{ name: "echo", handler: (input: unknown) => Promise.resolve(input) }],
 * });
 * const [clientSide, runtimeSide] = memoryTransportPair();
 * runtime.accept(runtimeSide);
 * await using arcp = await connect(clientSide, { token: "t" });
 *
 * const server = new McpServer({ name: "arcp", version: "1.0.0" });
 * assert.deepEqual(registerAgentTools(server, arcp), ["echo"]);
 * const [mcpClientSide, mcpServerSide] = InMemoryTransport.createLinkedPair();
 * await server.connect(mcpServerSide);
 * const mcp = new Client({ name: "example", version: "1.0.0" });
 * await mcp.connect(mcpClientSide);
 * const called = await mcp.callTool({ name: "echo", arguments: { text: "hi" } });
 * assert.deepEqual(called.structuredContent, { text: "hi" });
 * await mcp.close();
 * ```
 */
export function registerAgentTools(
  server: McpToolRegistry,
  client: Client,
  options: AgentToolsOptions = {},
): string[] {
  const mcp = server as unknown as McpServer;
  const submit = options.submit ?? {};
  return client.agents.map((agent) => {
    mcp.registerTool(
      agent.name,
      { description: describe(agent), inputSchema: ARGUMENTS },
      (input, extra) =>
        runJob(client, agent.name, input as Record<string, unknown>, submit, extra as CallExtra),
    );
    return agent.name;
  });
}
