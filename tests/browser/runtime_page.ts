// Browser entry of runtime_chromium_test.ts: a runtime running in the page,
// its state in the page's IndexedDB, serves a client of the same page over
// the memory transport; the page submits a job, streams it, and publishes
// what it saw and what the runtime stored. The database is deleted after.

import { connect } from "../../client.ts";
import { type AgentContext, Runtime, staticTokens } from "../../runtime.ts";
import { openIndexedDbStore } from "../../store/indexeddb.ts";
import { memoryTransportPair } from "../../transports/memory.ts";
import { deleteDatabase, pageIndexedDB, publish } from "./_page.ts";

/** What the page publishes; runtime_chromium_test.ts checks it. */
export interface RuntimePageResult {
  sessionId: string;
  events: { kind: string; body: unknown }[];
  result: unknown;
  lastEventSeq: number;
  /** The job as the runtime stored it in IndexedDB, after the runtime closed. */
  stored: { status: string; agent: string; terminal: string | undefined; lastSeq: number };
}

const TOKEN = "t-page";

async function countTo(input: { n: number }, ctx: AgentContext): Promise<{ counted: number }> {
  for (let current = 1; current <= input.n; current++) {
    await ctx.progress(current, { total: input.n });
  }
  await ctx.log("info", "counted in the page", { n: input.n });
  return { counted: input.n };
}

async function run(): Promise<RuntimePageResult> {
  const name = `arcp_runtime_page_${crypto.randomUUID()}`;
  const factory = pageIndexedDB();
  const store = await openIndexedDbStore(name, factory);
  try {
    const runtime = new Runtime({
      authenticate: staticTokens({ [TOKEN]: "page" }),
      agents: [{ name: "count", handler: countTo }],
      store,
    });
    const [clientSide, runtimeSide] = memoryTransportPair();
    const served = runtime.accept(runtimeSide);
    const client = await connect(clientSide, { token: TOKEN });
    const job = await client.submit("count", { n: 4 });
    const events = [];
    for await (const event of job) {
      events.push({ kind: event.payload.kind, body: event.payload.body });
    }
    const { result } = await job.result;
    const { sessionId, lastEventSeq } = client;
    await client.close();
    // Waits for the job's record to be written.
    await runtime.close();
    await served;
    const record = await store.getJob(job.jobId);
    const { last } = await store.bounds(sessionId);
    return {
      sessionId,
      events,
      result,
      lastEventSeq,
      stored: {
        status: record?.status ?? "missing",
        agent: record?.agent ?? "missing",
        terminal: record?.terminal?.type,
        lastSeq: last,
      },
    };
  } finally {
    await store.close();
    // runtime.close() does not wait for the session record written when the
    // connection ends, so the store's connection may still be finishing it.
    await deleteDatabase(factory, name, { waitIfBlocked: true });
  }
}

publish(run);
