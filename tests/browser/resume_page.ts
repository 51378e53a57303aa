// Browser entry of resume_chromium_test.ts. On its first visit the page
// connects with its resume state in IndexedDB, submits the `ticker` job
// (keeping the idempotency key in sessionStorage, as an application would),
// reads three events and publishes once the resume state covers them. After a
// reload it waits for the host, resumes the session from IndexedDB,
// resubmits the key to get its job back, and reads the rest to the result.

import { connect } from "../../client.ts";
import { IndexedDbResumeStateStore } from "../../client/resume_state_indexeddb.ts";
import type { JobEvent } from "../../protocol/events.ts";
import { publish, reachPhase, waitForHost } from "./_page.ts";

/** One event as the page saw it: the tick of a `log`, else its kind; and its `event_seq`. */
export interface SeenEvent {
  tick: number | string;
  seq: number;
}

/** What each visit publishes; resume_chromium_test.ts checks both. */
export interface VisitResult {
  visit: "first" | "reloaded";
  sessionId: string;
  jobId: string;
  /** `last_event_seq` of the resume state found on arrival, if any. */
  resumedFrom: number | undefined;
  events: SeenEvent[];
  lastEventSeq: number;
  result?: unknown;
}

/** Where the page keeps its job's idempotency key across reloads. */
const JOB_KEY = "arcp-test-ticker-key";
/** How often the first visit checks whether its resume state was saved. */
const SAVE_POLL_MS = 20;

function seen(event: JobEvent): SeenEvent {
  const { kind, body } = event.payload;
  const tick = kind === "log" ? (body as { attributes: { i: number } }).attributes.i : kind;
  return { tick, seq: event.event_seq ?? -1 };
}

async function run(): Promise<VisitResult> {
  const token = new URLSearchParams(location.search).get("token") ?? "";
  const url = `ws://${location.host}/arcp`;
  const resumeStore = await IndexedDbResumeStateStore.open();
  const savedKey = sessionStorage.getItem(JOB_KEY);

  if (savedKey === null) {
    // First visit. The client stays open: the reload cuts it off mid-session.
    const client = await connect(url, { token, resumeStore });
    const idempotencyKey = crypto.randomUUID();
    sessionStorage.setItem(JOB_KEY, idempotencyKey);
    const job = await client.submit("ticker", null, { idempotencyKey });
    const reader = job.events.getReader();
    const events: SeenEvent[] = [];
    while (events.length < 3) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the job ended early");
      events.push(seen(value));
    }
    // The client saves its resume state every 200 ms: wait until it covers
    // every event read, as a page about to be reloaded would not.
    while ((await resumeStore.load(url))?.last_event_seq !== client.lastEventSeq) {
      await new Promise((resolve) => setTimeout(resolve, SAVE_POLL_MS));
    }
    return {
      visit: "first",
      sessionId: client.sessionId,
      jobId: job.jobId,
      resumedFrom: undefined,
      events,
      lastEventSeq: client.lastEventSeq,
    };
  }

  await waitForHost("resume");
  const resumedFrom = (await resumeStore.load(url))?.last_event_seq;
  try {
    await using client = await connect(url, { token, resumeStore });
    const job = await client.submit("ticker", null, { idempotencyKey: savedKey });
    reachPhase("resubmitted");
    const events: SeenEvent[] = [];
    for await (const event of job) events.push(seen(event));
    const { result } = await job.result;
    return {
      visit: "reloaded",
      sessionId: client.sessionId,
      jobId: job.jobId,
      resumedFrom,
      events,
      lastEventSeq: client.lastEventSeq,
      result,
    };
  } finally {
    sessionStorage.removeItem(JOB_KEY);
    await resumeStore.close();
  }
}

publish(run);
