// `cli.ts mcp` as an MCP client launches it: a child process on stdio (the
// real SDK's StdioClientTransport), bridging to a `cli.ts serve --demo`
// process over a WebSocket on 127.0.0.1.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
// The SDK's "./*" export maps `x.js` to types at `x.js.d.ts`, which it does
// not ship: the types are named by the specifier without `.js`.
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client";
import { bounded, eventually } from "../_helpers.ts";
import { startServe } from "../_serve.ts";
import { listedStatus } from "./_mcp.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const TOKEN = "mcp-secret";
const ENV = { NO_COLOR: "1", RUST_BACKTRACE: "0" };

Deno.test(
  "cli.ts mcp on stdio: lists the demo agents, runs echo, streams count's progress, reports fail's code, cancels sleep",
  bounded(async () => {
    const served = await startServe(TOKEN);
    const mcp = new McpClient({ name: "arcp-tests", version: "1.0.0" });
    try {
      await mcp.connect(
        new StdioClientTransport({
          command: Deno.execPath(),
          args: ["run", "-A", CLI, "mcp", "--url", served.url, "--token", TOKEN],
          env: ENV,
          stderr: "pipe",
        }),
      );
      const names = (await mcp.listTools()).tools.map((tool) => tool.name);
      for (const agent of ["echo", "count", "sleep", "fail"]) assert.ok(names.includes(agent));

      const echoed = await mcp.callTool({ name: "echo", arguments: { text: "over stdio" } });
      assert.deepEqual(echoed.structuredContent, {
        echoed: { text: "over stdio" },
        version: "2.0.0",
      });

      const progress: number[] = [];
      const counted = await mcp.callTool(
        {
          name: "count",
          arguments: { n: 3, delay_ms: 200 },
        },
        undefined,
        {
          onprogress: ({ progress: current, total }) => {
            assert.equal(total, 3);
            progress.push(current);
          },
        },
      );
      assert.deepEqual(counted.structuredContent, { count: 3 });
      // The SDK's client drops a progress notification that it reads in the
      // same chunk as the response (modelcontextprotocol/typescript-sdk#2580):
      // the last step, sent just before the result, may be lost; the others,
      // 200 ms apart, are not.
      assert.deepEqual(progress.slice(0, 2), [1, 2]);
      assert.ok(progress.length <= 3 && (progress.length < 3 || progress[2] === 3), `${progress}`);

      const failed = await mcp.callTool({ name: "fail", arguments: { message: "as asked" } });
      assert.equal(failed.isError, true);
      assert.equal((failed.structuredContent as { code: string }).code, "INTERNAL_ERROR");
      assert.match((failed.content as { text: string }[])[0]!.text, /^INTERNAL_ERROR: /);

      const abort = new AbortController();
      const sleeping = mcp.callTool({ name: "sleep", arguments: { ms: 600_000 } }, undefined, {
        signal: abort.signal,
      });
      await using observer = await connect(served.url, { token: TOKEN });
      await eventually(
        async () => (await listedStatus(observer, "sleep"))[0] === "running",
        "the sleep job to run",
        20_000,
      );
      abort.abort(new Error("stopped by the MCP client"));
      await assert.rejects(sleeping, /stopped by the MCP client/);
      await eventually(
        async () => (await listedStatus(observer, "sleep"))[0] === "cancelled",
        "the runtime to list the sleep job as cancelled",
        20_000,
      );

      // The MCP client goes away (stdin closes) with a call in flight: the
      // bridge cancels its job before it exits.
      void mcp.callTool({ name: "sleep", arguments: { ms: 600_000 } }).catch(() => {});
      await eventually(
        async () => (await listedStatus(observer, "sleep")).includes("running"),
        "the second sleep job to run",
        20_000,
      );
      await mcp.close();
      await eventually(
        async () => (await listedStatus(observer, "sleep")).every((s) => s === "cancelled"),
        "the runtime to list the second sleep job as cancelled",
        20_000,
      );
    } finally {
      await mcp.close();
      await served.stop();
    }
  }, 120_000),
);

/** Runs `cli.ts mcp` with `args` and stdin closed at once; its exit code and stderr. */
async function runMcp(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "mcp", ...args],
    env: ENV,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test(
  "cli.ts mcp: exits 0 when stdin closes, 3 when the runtime refuses the token, 2 for bad flags; --help",
  bounded(async () => {
    const served = await startServe(TOKEN);
    try {
      const closed = await runMcp(["--url", served.url, "--token", TOKEN]);
      assert.equal(closed.code, 0, closed.stderr);
      assert.equal(closed.stdout, "", "stdout carries only MCP messages");
      const refused = await runMcp(["--url", served.url, "--token", "wrong"]);
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, /UNAUTHENTICATED/);
    } finally {
      await served.stop();
    }
    const help = await runMcp(["--help"]);
    assert.equal(help.code, 0);
    assert.match(
      help.stdout,
      /^Usage: cli.ts mcp \[--url ws:\/\/127\.0\.0\.1:7777\/arcp\] --token TOKEN/,
    );
    const usage = await runMcp(["--lease", "{not json"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /Invalid JSON/);
  }, 120_000),
);
