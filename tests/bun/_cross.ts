// The cross-runtime check: one side of a WebSocket runs under Deno, the other
// under Bun. Both halves live here so the two directions run the same agents
// and the same client session (tests/transports/bun_test.ts).

import assert from "node:assert/strict";
import { connect, type ConnectOptions } from "../../client.ts";
import { ArcpError } from "../../protocol/errors.ts";
import { type AgentDefinition, Runtime, type RuntimeOptions, staticTokens } from "../../runtime.ts";
import { aborted, standardAgents, TOKEN, TOKENS } from "../_helpers.ts";

/** Progress events the `count` job streams: more than fit in the socket buffers at once. */
export const COUNT = 5_000;

/** The standard agents, plus `count` (streams progress) and `waits` (runs until cancelled). */
export function crossRuntimeAgents(): AgentDefinition[] {
  return [
    ...standardAgents(),
    {
      name: "count",
      async handler(input: { n: number }, ctx) {
        for (let i = 1; i <= input.n; i++) await ctx.progress(i, { total: input.n });
        return { counted: input.n };
      },
    },
    {
      name: "waits",
      handler: (_input: unknown, ctx) =>
        aborted(ctx.signal).then((reason) => Promise.reject(reason)),
    },
    { name: "fail", handler: () => Promise.reject(new ArcpError("PERMISSION_DENIED", "no")) },
  ];
}

/** A runtime with {@linkcode crossRuntimeAgents} that accepts the harness tokens. */
export function crossRuntime(options: Pick<RuntimeOptions, "upgradeWebSocket"> = {}): Runtime {
  return new Runtime({
    ...options,
    authenticate: staticTokens({ ...TOKENS }),
    agents: crossRuntimeAgents(),
  });
}

/** What {@linkcode runClientSession} saw, for the other process to compare. */
export interface SessionSummary {
  agents: string[];
  echoed: unknown;
  progress: number;
  counted: unknown;
  cancelled: string;
  failed: string;
}

function codeOf(error: unknown): string {
  return error instanceof ArcpError ? error.code : String(error);
}

/**
 * Connects to `url` and runs one session: handshake, a result, a stream of
 * {@linkcode COUNT} events read in order, a cancellation and an agent error.
 * Throws when the stream is out of order.
 */
export async function runClientSession(
  url: string,
  options: Pick<ConnectOptions, "transport"> = {},
): Promise<SessionSummary> {
  await using client = await connect(url, { ...options, token: TOKEN });
  const agents = (client.welcome.capabilities.agents ?? [])
    .map((agent) => typeof agent === "string" ? agent : agent.name)
    .sort();
  const echo = await client.submit("echo", { from: "the other runtime" });
  const echoed = (await echo.result).result;

  const count = await client.submit("count", { n: COUNT });
  let progress = 0;
  for await (const event of count) {
    if (event.payload.kind !== "progress") continue;
    const { current } = event.payload.body as { current: number };
    assert.equal(current, progress + 1, "progress in order");
    progress++;
  }
  const counted = (await count.result).result;

  const waits = await client.submit("waits");
  await waits.cancel({ reason: "enough" });
  const cancelled = await waits.result.then(() => "success", codeOf);
  const failed = await (await client.submit("fail")).result.then(() => "success", codeOf);
  return { agents, echoed, progress, counted, cancelled, failed };
}

/** What {@linkcode runClientSession} returns when the runtime behaves. */
export const EXPECTED_SUMMARY: SessionSummary = {
  agents: ["count", "echo", "fail", "plain", "waits"],
  echoed: { echoed: { from: "the other runtime" }, version: "2.0.0" },
  progress: COUNT,
  counted: { counted: COUNT },
  cancelled: "CANCELLED",
  failed: "PERMISSION_DENIED",
};
