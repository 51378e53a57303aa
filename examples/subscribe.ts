/**
 * Observe another session's job (spec 1.1 §7.6): alice submits a job; an
 * auditor, another principal in another session, subscribes to it with
 * history, gets the events it missed and then the live ones, but no
 * authority over the job. Whether a principal may observe a job it did not
 * submit is the runtime's `subscribePolicy`; every decision goes to
 * `onSubscribe` for an audit trail. Two sessions over the memory transport.
 *
 * Run with `deno run -A examples/subscribe.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import type { ArcpError } from "../protocol/mod.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { memoryTransportPair } from "../transports/memory.ts";

/** Opened once the auditor watches, so that every run of this example prints the same. */
const secondHalf = Promise.withResolvers<void>();

/** Six steps; the last three wait for `secondHalf`. */
async function build(_input: unknown, ctx: AgentContext): Promise<{ built: boolean }> {
  for (let step = 1; step <= 6; step++) {
    if (step === 4) await secondHalf.promise;
    await ctx.progress(step, { total: 6, units: "steps" });
  }
  return { built: true };
}

const runtime = new Runtime({
  authenticate: staticTokens({
    "alice-token": "alice",
    "audit-token": "auditor",
    "carol-token": "carol",
  }),
  agents: [{ name: "build", handler: build }],
  // The auditor may observe every job; anyone else only their own (the default).
  subscribePolicy: (subscriber) => subscriber.id === "auditor",
  onSubscribe: (audit) =>
    console.log(
      `  audit: ${audit.subscriber} subscribes to ${audit.owner}'s job: ` +
        (audit.allowed ? "allowed" : "denied"),
    ),
});

/** A client in its own session, over its own in-process connection. */
async function session(token: string) {
  const [clientSide, runtimeSide] = memoryTransportPair();
  runtime.accept(runtimeSide);
  return await connect(clientSide, { token });
}

const alice = await session("alice-token");
const auditor = await session("audit-token");
const carol = await session("carol-token");

const job = await alice.submit("build");
console.log(`alice submitted ${job.jobId}`);
// Alice hands the job's id to the others (out of band) and goes on reading her events.
const aliceDone = (async () => {
  for await (const _event of job) continue;
})();

await carol.subscribe(job.jobId).catch((error: ArcpError) =>
  console.log(`carol's subscribe refused: ${error.code}`)
);

// history: replay the retained events first, then follow live (spec 1.1 §7.6).
const watched = await auditor.subscribe(job.jobId, { history: true });
const { current_status, replayed } = watched.subscribed;
console.log(`auditor subscribed: job ${current_status}, history replayed: ${replayed}`);
// An observer has no authority over the job: it cannot cancel it.
await auditor.cancel(job.jobId).catch((error: ArcpError) =>
  console.log(`auditor's cancel refused: ${error.code}`)
);
secondHalf.resolve();
for await (const event of watched) {
  // event_seq is in the auditor's own session's sequence space.
  console.log(`  auditor sees #${event.event_seq}: step ${event.payload.body.current}`);
}
console.log(`auditor sees the result ${JSON.stringify((await watched.result).result)}`);
await aliceDone;
console.log(`alice's job ended: ${(await job.result).final_status}`);

await Promise.all([alice.close(), auditor.close(), carol.close()]);
await runtime.close();
