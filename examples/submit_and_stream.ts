/**
 * Submit a job and stream its events (spec §7.1, §8): a runtime served by
 * `Deno.serve` on 127.0.0.1, a client connected over a real WebSocket, and
 * an agent that emits one event of most kinds before it returns.
 *
 * Run with `deno run -A examples/submit_and_stream.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";

/** Word-counts a text, narrating what it does through the job's events. */
async function wordCount(input: { text: string }, ctx: AgentContext): Promise<{ words: number }> {
  await ctx.status("started");
  await ctx.log("info", "counting words", { chars: input.text.length });
  await ctx.thought("Splitting on whitespace is good enough here.");
  // A tool call the lease allows: tool_call, then tool_result (spec §8.2).
  const words = await ctx.tool("split", () => input.text.split(/\s+/), {
    args: { on: "whitespace" },
  });
  await ctx.metric("words", words.length, { unit: "words" });
  return { words: words.length };
}

const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "alice" }),
  agents: [{ name: "wc", version: "1.0.0", handler: wordCount }],
  upgradeWebSocket: Deno.upgradeWebSocket,
});
// Port 0: the system picks a free port.
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, runtime.fetch);
const url = `ws://127.0.0.1:${server.addr.port}/arcp`;
console.log(`runtime listening on ${url}`);

const client = await connect(url, { token: "s3cret" });
console.log(`session ${client.sessionId}, agents: ${client.agents.map((a) => a.name).join(", ")}`);

const job = await client.submit("wc", { text: "the quick brown fox jumps over the lazy dog" }, {
  leaseRequest: { "tool.call": ["split"] },
});
console.log(`job ${job.jobId} accepted: agent ${job.agent}, lease ${JSON.stringify(job.lease)}`);

// Events arrive in order, each with the session's next event_seq (spec §8.3).
for await (const event of job) {
  console.log(`  #${event.event_seq} ${event.payload.kind} ${JSON.stringify(event.payload.body)}`);
}
const { final_status, result } = await job.result;
console.log(`job ended: ${final_status}, result ${JSON.stringify(result)}`);

await client.close();
await runtime.close();
await server.shutdown();
