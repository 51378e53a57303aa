// mcpTools: an agent calls the tools of a real MCP server (the SDK's
// McpServer, connected in memory) through its context, each call checked
// against the job's tool.call lease and reported as tool_call/tool_result.

import assert from "node:assert/strict";
// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`, which it does
// not ship: the types are named by the specifier without `.js`.
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import * as z from "zod/mini";
import type { Lease } from "../../protocol/messages.ts";
import { mcpTools } from "../../mcp.ts";
import type { JobEvent } from "../../protocol/events.ts";
import type { AgentContext } from "../../runtime.ts";
import { bounded, startHarness } from "../_helpers.ts";
import { mcpClientOf } from "./_mcp.ts";

const PREFIX = "mcp:docs/";

/** An MCP server with `search`, `broken` and `slow`, counting the calls it gets. */
function docsServer() {
  const calls: string[] = [];
  const slowStarted = Promise.withResolvers<void>();
  const slowAborted = Promise.withResolvers<void>();
  const server = new McpServer({ name: "docs", version: "1.0.0" });
  server.registerTool(
    "search",
    { description: "Finds documents", inputSchema: { query: z.string() } },
    ({ query }) => {
      calls.push(`search ${query}`);
      return {
        content: [{ type: "text", text: `1 hit for ${query}` }],
        structuredContent: { hits: [`${query}.md`] },
      };
    },
  );
  server.registerTool("broken", { description: "Always fails" }, () => {
    calls.push("broken");
    return { isError: true, content: [{ type: "text", text: "the index is gone" }] };
  });
  // What an ARCP agent served over MCP (registerAgentTools) answers when its job fails.
  server.registerTool("metered", { description: "Out of budget" }, () => {
    calls.push("metered");
    const error = { code: "BUDGET_EXHAUSTED", message: "USD budget spent", retryable: false };
    return {
      isError: true,
      content: [{ type: "text", text: `${error.code}: ${error.message}` }],
      structuredContent: error,
    };
  });
  server.registerTool("slow", { description: "Waits until cancelled" }, (extra) => {
    calls.push("slow");
    slowStarted.resolve();
    return new Promise((_resolve, reject) => {
      extra.signal.addEventListener("abort", () => {
        slowAborted.resolve();
        reject(new Error("aborted"));
      });
    });
  });
  return { server, calls, slowStarted: slowStarted.promise, slowAborted: slowAborted.promise };
}

/** A runtime whose `researcher` agent calls one docs tool, or lists them. */
async function setup() {
  const docs = docsServer();
  const mcp = await mcpClientOf(docs.server);
  const harness = await startHarness("websocket", {
    agents: [{
      name: "researcher",
      handler: async (
        input: { tool?: string; args?: Record<string, unknown>; timeoutMs?: number },
        ctx: AgentContext,
      ) => {
        const tools = mcpTools(ctx, mcp, { prefix: PREFIX, timeoutMs: input.timeoutMs ?? 60_000 });
        if (input.tool === undefined) return (await tools.list()).map((tool) => tool.leaseName);
        return await tools.call(input.tool, input.args);
      },
    }],
  });
  const client = await harness.connect();
  return {
    docs,
    client,
    async run(input: unknown, lease: Lease) {
      const job = await client.submit("researcher", input, { leaseRequest: lease });
      const events: JobEvent[] = [];
      const collected = (async () => {
        for await (const event of job) events.push(event);
      })();
      const outcome = await job.result.then((result) => result.result, (error) => error);
      await collected;
      const body = (kind: string) =>
        events.filter((event) => event.payload.kind === kind).map((event) => event.payload.body);
      return { job, outcome, toolCalls: body("tool_call"), toolResults: body("tool_result") };
    },
    async [Symbol.asyncDispose]() {
      await mcp.close();
      await harness.dispose();
    },
  };
}

Deno.test(
  "mcpTools: a call the tool.call lease allows reaches the MCP server and is reported",
  bounded(async () => {
    await using setup_ = await setup();
    const { outcome, toolCalls, toolResults } = await setup_.run(
      { tool: "search", args: { query: "leases" } },
      { "tool.call": [`${PREFIX}search`] },
    );
    const result = {
      content: [{ type: "text", text: "1 hit for leases" }],
      structuredContent: { hits: ["leases.md"] },
    };
    assert.deepEqual(outcome, result);
    assert.deepEqual(setup_.docs.calls, ["search leases"]);
    assert.equal(toolCalls.length, 1);
    const call = toolCalls[0] as { tool: string; args: unknown; call_id: string };
    assert.equal(call.tool, "mcp:docs/search");
    assert.deepEqual(call.args, { query: "leases" });
    assert.deepEqual(toolResults, [{ call_id: call.call_id, result }]);
  }, 30_000),
);

Deno.test(
  "mcpTools: a call the lease does not allow is PERMISSION_DENIED and never sent",
  bounded(async () => {
    await using setup_ = await setup();
    const { outcome, toolCalls, toolResults } = await setup_.run(
      { tool: "broken", args: {} },
      { "tool.call": [`${PREFIX}search`] },
    );
    assert.equal((outcome as { code: string }).code, "PERMISSION_DENIED");
    assert.deepEqual(setup_.docs.calls, [], "the MCP server got no call");
    assert.equal((toolCalls[0] as { tool: string }).tool, "mcp:docs/broken");
    const refused = toolResults[0] as { error: { code: string } };
    assert.equal(refused.error.code, "PERMISSION_DENIED");
  }, 30_000),
);

Deno.test(
  "mcpTools: list() gives only the tools the lease allows",
  bounded(async () => {
    await using setup_ = await setup();
    const { outcome } = await setup_.run({}, { "tool.call": [`${PREFIX}s*`] });
    assert.deepEqual(outcome, ["mcp:docs/search", "mcp:docs/slow"]);
    assert.deepEqual(setup_.docs.calls, [], "listing calls no tool");
  }, 30_000),
);

Deno.test(
  "mcpTools: a tool error (isError) is an ARCP error in tool_result and for the agent, its own ARCP code kept",
  bounded(async () => {
    await using setup_ = await setup();
    const { outcome, toolResults } = await setup_.run(
      { tool: "broken" },
      { "tool.call": [`${PREFIX}*`] },
    );
    assert.deepEqual(setup_.docs.calls, ["broken"]);
    assert.equal((outcome as { code: string }).code, "INTERNAL_ERROR");
    const failed = toolResults[0] as { error: { code: string; message: string } };
    assert.equal(failed.error.code, "INTERNAL_ERROR");
    assert.equal(failed.error.message, "MCP tool broken failed: the index is gone");

    const unknown = await setup_.run({ tool: "nope" }, { "tool.call": [`${PREFIX}*`] });
    assert.equal((unknown.outcome as { code: string }).code, "INVALID_REQUEST");
    assert.match((unknown.outcome as Error).message, /Tool nope not found/);
    const invalid = await setup_.run(
      { tool: "search", args: { query: 42 } },
      { "tool.call": [`${PREFIX}*`] },
    );
    assert.equal((invalid.outcome as { code: string }).code, "INVALID_REQUEST");
    assert.deepEqual(setup_.docs.calls, ["broken"], "neither reached a tool");

    const metered = await setup_.run({ tool: "metered" }, { "tool.call": [`${PREFIX}*`] });
    assert.equal(
      (metered.outcome as { code: string }).code,
      "BUDGET_EXHAUSTED",
      "the ARCP code kept",
    );
    assert.deepEqual(metered.toolResults[0], {
      call_id: (metered.toolCalls[0] as { call_id: string }).call_id,
      error: { code: "BUDGET_EXHAUSTED", message: "USD budget spent", retryable: false },
    });
  }, 30_000),
);

Deno.test(
  "mcpTools: cancelling the job cancels the MCP request",
  bounded(async () => {
    await using setup_ = await setup();
    const job = await setup_.client.submit("researcher", { tool: "slow" }, {
      leaseRequest: { "tool.call": [`${PREFIX}slow`] },
    });
    await job.events.cancel();
    await setup_.docs.slowStarted;
    await job.cancel();
    await setup_.docs.slowAborted;
    await assert.rejects(job.result, { code: "CANCELLED" });
  }, 30_000),
);

Deno.test(
  "mcpTools: a call past timeoutMs is TIMEOUT and its MCP request is cancelled",
  bounded(async () => {
    await using setup_ = await setup();
    const { outcome, toolResults } = await setup_.run(
      { tool: "slow", timeoutMs: 200 },
      { "tool.call": [`${PREFIX}slow`] },
    );
    await setup_.docs.slowAborted;
    assert.equal((outcome as { code: string }).code, "TIMEOUT");
    assert.equal((toolResults[0] as { error: { code: string } }).error.code, "TIMEOUT");
  }, 30_000),
);
