// This module is browser compatible.
// Recovery of what a lost runtime instance held (a crash, a restart, an
// evicted Deno Deploy isolate): its unfinished jobs end with INTERNAL_ERROR
// in their session's log (never silently lost), a job whose record holds an
// end the instance had not yet put in the log gets that end there (the
// record is what clients were told), its sessions are marked
// detached so their resume window runs, and sessions past their window are
// deleted. What a live instance holds is left alone: with several instances
// on one store, only an expired heartbeat makes a job lost.

import { newMessageId } from "../protocol/ids.ts";
import { PROTOCOL_VERSION } from "../protocol/messages.ts";
import type {
  JobRecord,
  RuntimeStore,
  SessionRecord,
  StoredEvent,
  TerminalEnvelope,
} from "../store/types.ts";
import { compareAndAppend } from "./_shared_store.ts";

/** What recovery reads of the runtime: the store, and what is live in this process. */
export interface RecoveryScope {
  readonly store: RuntimeStore;
  /** Jobs running in this process, by id. */
  readonly jobs: ReadonlyMap<string, unknown>;
  /** Sessions with live state in this process, by id: told when a recovery appends to their log. */
  readonly sessions: ReadonlyMap<string, { sync(): Promise<void> }>;
}

export function isUnfinished(job: JobRecord): boolean {
  return job.status === "pending" || job.status === "running";
}

export function isTerminal(event: StoredEvent): event is TerminalEnvelope {
  return event.type === "job.result" || event.type === "job.error";
}

function heldByLive(instanceId: string | undefined, live: ReadonlySet<string>): boolean {
  return instanceId !== undefined && live.has(instanceId);
}

/** Whether a detached session's resume window has passed. */
export function windowPassed(record: SessionRecord, now: number): boolean {
  return record.detached_at !== null &&
    Date.parse(record.detached_at) + record.resume_window_sec * 1000 <= now;
}

/** The ids of a session's unfinished jobs that do not run in this process. */
export async function jobsElsewhere(core: RecoveryScope, sessionId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const job of core.store.listUnfinishedJobs()) {
    if (job.session_id === sessionId && !core.jobs.has(job.job_id)) ids.push(job.job_id);
  }
  return ids;
}

/** Ends every unfinished job that no live instance runs. */
export async function recoverJobs(core: RecoveryScope, live: ReadonlySet<string>): Promise<void> {
  const lost: JobRecord[] = [];
  for await (const job of core.store.listUnfinishedJobs()) {
    if (!core.jobs.has(job.job_id) && !heldByLive(job.instance_id, live)) lost.push(job);
  }
  for (const job of lost) await endLostJob(core, job);
}

async function endLostJob(core: RecoveryScope, listed: JobRecord): Promise<void> {
  // Another instance may have recovered it since the listing.
  const job = await core.store.getJob(listed.job_id);
  if (job?.terminal_pending === true && job.terminal !== undefined) {
    return await logRecordedEnd(core, job, job.terminal);
  }
  if (job === undefined || !isUnfinished(job)) return;
  const terminal = await appendTerminal(core.store, {
    arcp: PROTOCOL_VERSION,
    id: newMessageId(),
    type: "job.error",
    session_id: job.session_id,
    job_id: job.job_id,
    trace_id: job.trace_id,
    event_seq: 0,
    payload: {
      final_status: "error",
      code: "INTERNAL_ERROR",
      message: "The runtime stopped while the job was running",
      retryable: true,
    },
  });
  await core.store.putJob({
    ...job,
    status: "error",
    terminal,
    last_event_seq: terminal.event_seq,
  });
  // A session loaded here learns of it now rather than at its next append.
  await core.sessions.get(job.session_id)?.sync();
}

/**
 * Puts the end a lost job's record holds in its session's log, unless it is
 * there already (the instance was lost after appending it, before saying so
 * in the record); every event before it is there (see `RuntimeJob`).
 */
async function logRecordedEnd(
  core: RecoveryScope,
  job: JobRecord,
  recorded: TerminalEnvelope,
): Promise<void> {
  const sessionId = recorded.session_id!;
  // Renumbering after other instances' events only moves an event later.
  let terminal: TerminalEnvelope | undefined;
  for await (const event of core.store.read(sessionId, { after: recorded.event_seq - 1 })) {
    if (event.job_id !== job.job_id || !isTerminal(event)) continue;
    terminal = event;
    break;
  }
  // A log trimmed past it had it: only delivered events are trimmed.
  const { first } = await core.store.bounds(sessionId);
  if (terminal === undefined && first > recorded.event_seq) terminal = recorded;
  terminal ??= await appendTerminal(core.store, recorded);
  const { terminal_pending: _pending, ...ended } = job;
  await core.store.putJob({ ...ended, terminal, last_event_seq: terminal.event_seq });
  await core.sessions.get(job.session_id)?.sync();
}

/**
 * Appends a lost job's terminal event at the end of its session's log, even
 * while other instances append to it; if one of them ended the job first,
 * its terminal event is the one.
 */
async function appendTerminal(
  store: RuntimeStore,
  terminal: TerminalEnvelope,
): Promise<TerminalEnvelope> {
  const sessionId = terminal.session_id!;
  for (;;) {
    const { last } = await store.bounds(sessionId);
    const placed = { ...terminal, event_seq: last + 1 };
    if (await compareAndAppend(store, sessionId, [placed]) === 1) return placed;
    for await (const event of store.read(sessionId, { after: last })) {
      if (event.job_id === terminal.job_id && isTerminal(event)) return event;
    }
  }
}

/**
 * Marks sessions held by no live instance detached, and deletes those whose
 * resume window has passed unless a job of theirs is still unfinished.
 * Sessions loaded in this process are left to their own expiry timers.
 *
 * @returns The sessions that stay resumable and that no live instance holds.
 */
export async function sweepSessions(
  core: RecoveryScope,
  live: ReadonlySet<string>,
  now: Date,
): Promise<SessionRecord[]> {
  const busy = new Set<string>();
  for await (const job of core.store.listUnfinishedJobs()) busy.add(job.session_id);
  const orphans: SessionRecord[] = [];
  for await (const record of core.store.listSessions()) {
    if (!core.sessions.has(record.session_id) && !heldByLive(record.instance_id, live)) {
      orphans.push(record);
    }
  }
  const detachedAt = now.toISOString();
  const resumable: SessionRecord[] = [];
  for (const record of orphans) {
    if (windowPassed(record, now.getTime()) && !busy.has(record.session_id)) {
      await core.store.deleteSession(record.session_id);
      continue;
    }
    if (record.detached_at !== null) {
      resumable.push(record);
      continue;
    }
    // Checked again in the write: an instance may have resumed it meanwhile.
    const marked = await core.store.updateSession(
      record.session_id,
      (current) =>
        current !== undefined && current.detached_at === null &&
          !heldByLive(current.instance_id, live)
          ? { ...current, detached_at: detachedAt }
          : undefined,
    );
    if (marked?.detached_at === detachedAt) resumable.push(marked);
  }
  return resumable;
}
