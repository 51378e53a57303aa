/**
 * Jobs outlive connections (spec §6.3): the WebSocket under a running job is
 * dropped; the client reconnects on its own, resumes the session with its
 * resume token and the last `event_seq` it saw, the runtime replays what
 * was missed, and the job's event stream carries on without gap or
 * duplicate. A runtime served by `Deno.serve` on 127.0.0.1.
 *
 * Run with `deno run -A examples/resume.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";

/** Ten steps, 30 ms apart. */
async function steps(_input: unknown, ctx: AgentContext): Promise<{ steps: number }> {
  for (let step = 1; step <= 10; step++) {
    await ctx.progress(step, { total: 10, units: "steps" });
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  return { steps: 10 };
}

// The runtime's end of each connection, kept so the example can cut one.
const sockets: WebSocket[] = [];
const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "alice" }),
  agents: [{ name: "steps", handler: steps }],
  upgradeWebSocket(request) {
    const upgraded = Deno.upgradeWebSocket(request);
    sockets.push(upgraded.socket);
    return upgraded;
  },
});
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, runtime.fetch);
const url = `ws://127.0.0.1:${server.addr.port}/arcp`;

// Connected by URL, the client reconnects and resumes by itself (backoff with jitter).
const client = await connect(url, {
  token: "s3cret",
  reconnect: { initialDelayMs: 50 },
  logger: { debug: (message) => console.log(`  client: ${message}`), warn() {}, error() {} },
});
console.log(`session ${client.sessionId} open`);

const job = await client.submit("steps");
const seen: number[] = [];
for await (const event of job) {
  seen.push(event.event_seq);
  console.log(`  event_seq ${event.event_seq}: step ${event.payload.body.current}`);
  if (event.payload.body.current === 4) {
    console.log("  -- dropping the connection (the job keeps running) --");
    sockets[0]!.close(1012, "simulated network loss");
  }
}
console.log(`result ${JSON.stringify((await job.result).result)}`);
const gapless = seen.every((seq, i) => i === 0 || seq === seen[i - 1]! + 1);
console.log(
  `${seen.length} events over ${sockets.length} connections, same session ${client.sessionId}: ` +
    (gapless ? "no gap, no duplicate" : "GAP"),
);

await client.close();
await runtime.close();
await server.shutdown();
if (!gapless) Deno.exit(1);
