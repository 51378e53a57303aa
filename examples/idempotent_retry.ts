/**
 * Retry a submit safely (spec §7.2): a submit that carries an idempotency
 * key and is sent again, from a new session after the first process went
 * away mid-job, gets the original job back (same `job_id`, its events and
 * its result) instead of starting a second one. Reusing the key with other
 * parameters is refused with `DUPLICATE_KEY`. Runtime and clients share this
 * process over the memory transport.
 *
 * Run with `deno run -A examples/idempotent_retry.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { ArcpError } from "../protocol/mod.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { memoryTransportPair } from "../transports/memory.ts";

/** How many times the agent really ran: it must be once per order. */
let charges = 0;

/** Charges an order: slow, and must not happen twice. */
async function charge(
  input: { order: string; cents: number },
  ctx: AgentContext,
): Promise<{ receipt: string }> {
  charges++;
  await ctx.status("charging", `${input.cents} cents for ${input.order}`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { receipt: `rcpt-${input.order}` };
}

const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "shop" }),
  agents: [{ name: "charge", handler: charge }],
});

/** A new session of the same principal, as a restarted process would open. */
async function newSession() {
  const [clientSide, runtimeSide] = memoryTransportPair();
  runtime.accept(runtimeSide);
  return await connect(clientSide, { token: "s3cret" });
}

const order = { order: "A-1042", cents: 1999 };
// A key derived from the business operation, not a fresh random one.
const idempotencyKey = `charge-${order.order}`;

const first = await newSession();
const job = await first.submit("charge", order, { idempotencyKey });
console.log(`first attempt: job ${job.jobId} accepted; then the process goes away`);
// Closing a session never stops its jobs (spec §6.7).
await first.close();

const second = await newSession();
const retried = await second.submit("charge", order, { idempotencyKey });
console.log(`retry from a new session: job ${retried.jobId}`);
console.log(`  same job: ${retried.jobId === job.jobId}`);
// The retried handle follows the job from here on: live events, then its result.
const { result } = await retried.result;
console.log(`  result ${JSON.stringify(result)}; the agent ran ${charges} time(s)`);

// The same key with different parameters is a conflict, not a retry.
try {
  await second.submit("charge", { ...order, cents: 2999 }, { idempotencyKey });
} catch (error) {
  if (!(error instanceof ArcpError)) throw error;
  console.log(`same key, other amount: ${error.code}`);
}

await second.close();
await runtime.close();
if (charges !== 1) Deno.exit(1);
