// registerAgentTools: a runtime's agents as the tools of an MCP server, driven
// by the real MCP SDK client in memory, the runtime behind a WebSocket on
// 127.0.0.1.

import assert from "node:assert/strict";
// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`, which it does
// not ship: the types are named by the specifier without `.js`.
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { type AgentToolsOptions, registerAgentTools } from "../../mcp.ts";
import { ArcpError } from "../../protocol/errors.ts";
import type { AgentContext } from "../../runtime.ts";
import { bounded, eventually, startHarness } from "../_helpers.ts";
import { listedStatus, mcpClientOf } from "./_mcp.ts";

/** The harness over a WebSocket, with agents for progress, errors and cancellation. */
async function bridged(options: AgentToolsOptions = {}) {
  const started = Promise.withResolvers<void>();
  const cancelled = Promise.withResolvers<unknown>();
  const harness = await startHarness("websocket", {
    agents: [
      {
        name: "steps",
        handler: async (input: { n: number }, ctx: AgentContext) => {
          for (let step = 1; step <= input.n; step++) {
            await ctx.progress(step, { total: input.n, message: `step ${step}` });
          }
          return { steps: input.n };
        },
      },
      {
        name: "refuse",
        handler: () => Promise.reject(new ArcpError("PERMISSION_DENIED", "not for this caller")),
      },
      { name: "words", handler: (input: { text: string }) => Promise.resolve(input.text) },
      {
        name: "streamed",
        handler: async (input: { text: string }, ctx: AgentContext) => {
          const writer = ctx.resultStream({ encoding: "utf8" }).getWriter();
          for (const word of input.text.split(" ")) await writer.write(`${word}\n`);
          await writer.close();
          return "a summary";
        },
      },
      {
        name: "hold",
        handler: (_input: unknown, ctx: AgentContext) => {
          started.resolve();
          return new Promise((_resolve, reject) => {
            ctx.signal.addEventListener("abort", () => {
              cancelled.resolve(ctx.signal.reason);
              reject(ctx.signal.reason);
            });
          });
        },
      },
    ],
  });
  const arcp = await harness.connect();
  const server = new McpServer({ name: "arcp", version: "1.0.0" });
  const registered = registerAgentTools(server, arcp, options);
  const mcp = await mcpClientOf(server);
  return {
    harness,
    arcp,
    mcp,
    registered,
    started: started.promise,
    cancelled: cancelled.promise,
    async [Symbol.asyncDispose]() {
      await mcp.close();
      await harness.dispose();
    },
  };
}

Deno.test(
  "MCP bridge: each agent of the runtime is one tool, listed with its versions",
  bounded(async () => {
    await using bridge = await bridged();
    const { tools } = await bridge.mcp.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), [...bridge.registered].sort());
    assert.deepEqual(bridge.registered.sort(), [
      "echo",
      "hold",
      "plain",
      "refuse",
      "steps",
      "streamed",
      "words",
    ]);
    const echo = tools.find((tool) => tool.name === "echo")!;
    assert.match(echo.description!, /versions 1\.0\.0, 2\.0\.0; runs 2\.0\.0/);
    assert.equal(echo.inputSchema.type, "object");
  }, 30_000),
);

Deno.test(
  "MCP bridge: a call runs a job; an object result is structured content and JSON text, a streamed one its text",
  bounded(async () => {
    await using bridge = await bridged();
    const called = await bridge.mcp.callTool({ name: "echo", arguments: { text: "hi" } });
    const expected = { echoed: { text: "hi" }, version: "2.0.0" };
    assert.equal(called.isError, undefined);
    assert.deepEqual(called.structuredContent, expected);
    assert.deepEqual(called.content, [{ type: "text", text: JSON.stringify(expected) }]);
    const job = (called._meta as Record<string, { job_id: string; agent: string }>)["arcp/job"]!;
    assert.match(job.job_id, /^job_/);
    assert.equal(job.agent, "echo@2.0.0");
    assert.deepEqual(await listedStatus(bridge.arcp, "echo"), ["success"]);

    const words = await bridge.mcp.callTool({ name: "words", arguments: { text: "plain words" } });
    assert.equal(words.structuredContent, undefined, "a string result is not structured");
    assert.deepEqual(words.content, [{ type: "text", text: "plain words" }]);

    const streamed = await bridge.mcp.callTool({ name: "streamed", arguments: { text: "a b c" } });
    assert.equal(streamed.structuredContent, undefined);
    assert.deepEqual(streamed.content, [{ type: "text", text: "a\nb\nc\n" }], "chunks assembled");
  }, 30_000),
);

Deno.test(
  "MCP bridge: progress events are progress notifications of the call's progressToken",
  bounded(async () => {
    await using bridge = await bridged();
    const seen: unknown[] = [];
    const called = await bridge.mcp.callTool(
      { name: "steps", arguments: { n: 3 } },
      undefined,
      { onprogress: (progress) => seen.push(progress) },
    );
    assert.deepEqual(called.structuredContent, { steps: 3 });
    assert.deepEqual(seen, [
      { progress: 1, total: 3, message: "step 1" },
      { progress: 2, total: 3, message: "step 2" },
      { progress: 3, total: 3, message: "step 3" },
    ]);
  }, 30_000),
);

Deno.test(
  "MCP bridge: a job error is a tool error carrying its ARCP code; so is a refused submit",
  bounded(async () => {
    {
      await using bridge = await bridged();
      const called = await bridge.mcp.callTool({ name: "refuse", arguments: {} });
      assert.equal(called.isError, true);
      assert.deepEqual(called.content, [
        { type: "text", text: "PERMISSION_DENIED: not for this caller" },
      ]);
      assert.deepEqual(called.structuredContent, {
        code: "PERMISSION_DENIED",
        message: "not for this caller",
        retryable: false,
      });
      assert.deepEqual(await listedStatus(bridge.arcp, "refuse"), ["error"]);
    }
    {
      await using bridge = await bridged({ submit: { maxRuntimeSec: -1 } });
      const called = await bridge.mcp.callTool({ name: "echo", arguments: {} });
      assert.equal(called.isError, true);
      const error = called.structuredContent as { code: string };
      assert.equal(error.code, "INVALID_REQUEST");
      assert.match((called.content as { text: string }[])[0]!.text, /^INVALID_REQUEST: /);
      assert.deepEqual(await listedStatus(bridge.arcp, "echo"), [], "no job was made");
    }
  }, 30_000),
);

Deno.test(
  "MCP bridge: cancelling the call (notifications/cancelled) cancels the job",
  bounded(async () => {
    await using bridge = await bridged();
    const abort = new AbortController();
    const call = bridge.mcp.callTool({ name: "hold", arguments: {} }, undefined, {
      signal: abort.signal,
    });
    await bridge.started;
    abort.abort(new Error("the user pressed stop"));
    await assert.rejects(call, /the user pressed stop/);
    assert.equal((await bridge.cancelled as ArcpError).code, "CANCELLED");
    await eventually(
      async () => (await listedStatus(bridge.arcp, "hold"))[0] === "cancelled",
      "the runtime to list the job as cancelled",
      10_000,
    );
  }, 30_000),
);
