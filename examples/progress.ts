/**
 * Progress (spec 1.1 §8.2.1): an agent reports `progress {current, total,
 * units, message}` as it works, first without a total (indeterminate, while
 * it finds out how much there is), then against one; the client draws a
 * progress bar from the events. Runtime and client share this process over
 * the memory transport.
 *
 * Run with `deno run -A examples/progress.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { isEventKind } from "../protocol/mod.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { memoryTransportPair } from "../transports/memory.ts";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** "Indexes" some pages: first discovers them, then processes each. */
async function indexer(input: { pages: number }, ctx: AgentContext): Promise<{ indexed: number }> {
  // Indeterminate: no total yet.
  for (let found = 1; found <= input.pages; found += 4) {
    await ctx.progress(found, { units: "pages", message: "discovering" });
    await pause(10);
  }
  for (let page = 1; page <= input.pages; page++) {
    ctx.signal.throwIfAborted();
    await ctx.progress(page, { total: input.pages, units: "pages", message: `page ${page}` });
    await pause(10);
  }
  return { indexed: input.pages };
}

const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "alice" }),
  agents: [{ name: "indexer", handler: indexer }],
});
const [clientSide, runtimeSide] = memoryTransportPair();
runtime.accept(runtimeSide);
const client = await connect(clientSide, { token: "s3cret" });

const job = await client.submit("indexer", { pages: 12 });
for await (const event of job) {
  if (!isEventKind(event.payload, "progress")) continue;
  const { current, total, units, message } = event.payload.body;
  if (total === undefined) {
    console.log(`  [${"?".repeat(20)}] ${current} ${units} so far (${message})`);
  } else {
    const filled = Math.round((current / total) * 20);
    const bar = "#".repeat(filled) + ".".repeat(20 - filled);
    console.log(`  [${bar}] ${current}/${total} ${units} ${Math.floor((current / total) * 100)}%`);
  }
}
console.log(`done: ${JSON.stringify((await job.result).result)}`);

await client.close();
await runtime.close();
