/**
 * Cancel a running job (spec §7.4): the client sends `job.cancel`, the
 * runtime acknowledges with `job.cancelled` and aborts the agent's
 * `ctx.signal`, the agent cleans up, and the job ends with `CANCELLED`. A job
 * that outlives its `maxRuntimeSec` is stopped the same way, with `TIMEOUT`.
 * Runtime and client share this process over the memory transport.
 *
 * Run with `deno run -A examples/cancel.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { ArcpError } from "../protocol/mod.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { memoryTransportPair } from "../transports/memory.ts";

/** Reports a tick every 50 ms until its signal aborts. */
async function ticker(_input: unknown, ctx: AgentContext): Promise<never> {
  try {
    for (let tick = 1;; tick++) {
      await ctx.progress(tick, { units: "ticks" });
      await new Promise((resolve) => setTimeout(resolve, 50));
      // Throws the abort reason: an ArcpError CANCELLED or TIMEOUT.
      ctx.signal.throwIfAborted();
    }
  } finally {
    // The job's own cleanup runs; events it emits now are dropped.
    const reason = ctx.signal.reason as ArcpError;
    console.log(`  agent: stopping (${reason.code}), releasing what it holds`);
  }
}

const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "alice" }),
  agents: [{ name: "ticker", handler: ticker }],
});
const [clientSide, runtimeSide] = memoryTransportPair();
runtime.accept(runtimeSide);
const client = await connect(clientSide, { token: "s3cret" });

const job = await client.submit("ticker");
console.log(`job ${job.jobId} accepted`);
const reader = job.events.getReader();
for (let i = 0; i < 3; i++) {
  const { value } = await reader.read();
  console.log(`  progress ${value?.payload.body.current}`);
}
// Resolves once the runtime acknowledges with job.cancelled.
await job.cancel({ reason: "the user pressed stop" });
console.log("cancel acknowledged");
try {
  await job.result;
} catch (error) {
  if (!(error instanceof ArcpError)) throw error;
  console.log(`job ended with ${error.code}: ${error.message}`);
}
reader.releaseLock();

// The runtime ends a job that runs past max_runtime_sec with TIMEOUT.
const slow = await client.submit("ticker", null, { maxRuntimeSec: 1 });
await slow.events.cancel(); // only the outcome matters here
const outcome = await slow.result.catch((error: ArcpError) => error.code);
console.log(`job ${slow.jobId} with max_runtime_sec 1 ended with ${outcome}`);

await client.close();
await runtime.close();
