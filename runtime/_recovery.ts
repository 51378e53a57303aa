// This module is browser compatible.
// After a restart on a durable store: jobs that were running when the process
// died are ended with INTERNAL_ERROR in their session's log (never silently
// lost), and sessions are marked detached so their resume window runs.

import { newMessageId } from "../protocol/ids.ts";
import { PROTOCOL_VERSION } from "../protocol/messages.ts";
import type { RuntimeStore, SessionRecord, TerminalEnvelope } from "../store/types.ts";

/** Ends every unfinished job in `store`; returns the sessions that remain resumable. */
export async function recover(store: RuntimeStore, now: Date): Promise<SessionRecord[]> {
  const unfinished = [];
  for await (const job of store.listUnfinishedJobs()) unfinished.push(job);
  for (const job of unfinished) {
    const { last } = await store.bounds(job.session_id);
    const terminal: TerminalEnvelope = {
      arcp: PROTOCOL_VERSION,
      id: newMessageId(),
      type: "job.error",
      session_id: job.session_id,
      job_id: job.job_id,
      trace_id: job.trace_id,
      event_seq: last + 1,
      payload: {
        final_status: "error",
        code: "INTERNAL_ERROR",
        message: "The runtime stopped while the job was running",
        retryable: true,
      },
    };
    await store.append(job.session_id, [terminal]);
    await store.putJob({ ...job, status: "error", terminal, last_event_seq: terminal.event_seq });
  }
  const sessions: SessionRecord[] = [];
  for await (const record of store.listSessions()) sessions.push(record);
  const resumable: SessionRecord[] = [];
  for (const record of sessions) {
    const detached = record.detached_at ?? now.toISOString();
    if (Date.parse(detached) + record.resume_window_sec * 1000 <= now.getTime()) {
      await store.deleteSession(record.session_id);
    } else {
      if (record.detached_at === null) await store.putSession({ ...record, detached_at: detached });
      resumable.push({ ...record, detached_at: detached });
    }
  }
  return resumable;
}
