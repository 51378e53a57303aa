// This module is browser compatible.
// Read-only views of jobs: `session.list_jobs` (spec 1.1 §6.6) and
// `job.subscribe` / `job.unsubscribe` (spec 1.1 §7.6).

import { encodeMessage, type Message } from "../protocol/envelope.ts";
import { ArcpError } from "../protocol/errors.ts";
import type {
  Credential,
  JobSubscribedPayload,
  JobSummary,
  SessionJobsPayload,
} from "../protocol/messages.ts";
import type { JobQuery, JobRecord } from "../store/types.ts";
import type { LiveState, RuntimeHooks, RuntimePolicies } from "./_core.ts";
import type { RuntimeSession } from "./_session.ts";
import type { RuntimeJob } from "./_job.ts";
import { followElsewhere, type FollowScope, observe } from "./_subscription.ts";
import { isUnfinished } from "./_recovery.ts";
import { checkKeyField } from "./_key_fields.ts";
import { visibleCredentials } from "./_credentials.ts";

/** What observing a job reads of the runtime. */
export interface ObserveScope
  extends
    FollowScope,
    LiveState,
    Pick<RuntimePolicies, "subscribePolicy" | "auditSubscribe">,
    Pick<RuntimeHooks, "track"> {}

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

function instant(value: string | undefined, field: string): string | undefined {
  if (value !== undefined && Number.isNaN(Date.parse(value))) {
    throw new ArcpError(
      "INVALID_REQUEST",
      `Invalid session.list_jobs: filter.${field} is not an ISO-8601 time`,
    );
  }
  return value;
}

/** A stored record, with the live status and sequence of a job running here. */
/**
 * The live job `jobId`, once the end of a job that just ended is stored:
 * nothing shows an end before the store holds it (see `RuntimeJob`).
 */
export async function settledLive(
  core: ObserveScope,
  jobId: string,
): Promise<RuntimeJob | undefined> {
  const live = core.jobs.get(jobId);
  if (live === undefined || !live.terminal) return live;
  await live.settled;
  return core.jobs.get(jobId);
}

function current(core: ObserveScope, record: JobRecord): JobRecord {
  return core.jobs.get(record.job_id)?.record() ?? record;
}

function summary(record: JobRecord, credentials: readonly Credential[]): JobSummary {
  const job: JobSummary = {
    job_id: record.job_id,
    agent: record.agent,
    status: record.status,
    lease: record.lease,
    parent_job_id: record.parent_job_id,
    created_at: record.created_at,
    trace_id: record.trace_id,
    last_event_seq: record.last_event_seq,
  };
  if (record.lease_constraints !== undefined) job.lease_constraints = record.lease_constraints;
  if (credentials.length > 0) job.credentials = credentials.map((c) => ({ ...c }));
  return job;
}

/** Answers `session.list_jobs`: the principal's jobs, finished ones included. */
export async function listJobs(
  core: ObserveScope,
  session: RuntimeSession,
  message: Message & { type: "session.list_jobs" },
): Promise<SessionJobsPayload> {
  const { filter, limit, cursor } = message.payload;
  checkKeyField(cursor, "session.list_jobs: payload.cursor");
  const query: JobQuery = {
    principal: session.principal.id,
    limit: Math.min(limit ?? DEFAULT_PAGE, MAX_PAGE),
  };
  if (filter?.status !== undefined) query.status = filter.status;
  if (filter?.agent !== undefined) query.agent = filter.agent;
  const after = instant(filter?.created_after, "created_after");
  const before = instant(filter?.created_before, "created_before");
  if (after !== undefined) query.created_after = after;
  if (before !== undefined) query.created_before = before;
  if (cursor !== undefined && cursor !== null) query.after_job_id = cursor;
  const { jobs, more } = await core.store.listJobs(query);
  return {
    request_id: message.id,
    jobs: jobs.map((record) =>
      summary(
        current(core, record),
        visibleCredentials(session, core.jobs.get(record.job_id)),
      )
    ),
    next_cursor: more && jobs.length > 0 ? jobs[jobs.length - 1]!.job_id : null,
  };
}

/**
 * Handles `job.subscribe`: authorises, answers `job.subscribed`, replays the
 * requested history, then streams live; a finished job replays and ends.
 *
 * @throws {ArcpError} `JOB_NOT_FOUND`, `PERMISSION_DENIED`, `INVALID_REQUEST`.
 */
export async function subscribe(
  core: ObserveScope,
  session: RuntimeSession,
  message: Message & { type: "job.subscribe" },
): Promise<void> {
  const { job_id: jobId, from_event_seq: from } = message.payload;
  let history = message.payload.history ?? false;
  const live = await settledLive(core, jobId);
  const record = live?.record() ?? await core.store.getJob(jobId);
  if (record === undefined) throw new ArcpError("JOB_NOT_FOUND", `Job "${jobId}" does not exist`);
  const allowed = record.principal === session.principal.id ||
    await core.subscribePolicy(session.principal, record);
  core.auditSubscribe({
    subscriber: session.principal.id,
    session_id: session.id,
    job_id: jobId,
    owner: record.principal,
    allowed,
  });
  if (!allowed) {
    throw new ArcpError(
      "PERMISSION_DENIED",
      `Principal "${session.principal.id}" may not observe job "${jobId}"`,
    );
  }
  const running = live !== undefined && !live.terminal;
  // Running on another instance (or lost with one): its events come from the log.
  const elsewhere = live === undefined && isUnfinished(record);
  if (elsewhere && record.session_id === session.id) session.followElsewhere([jobId]);
  // Already receiving its events (a repeat, or the submitting session itself):
  // answer again, replaying nothing, so a resent subscribe is harmless.
  const already = session.subscriptions.has(jobId) ||
    (running && live.ownerSession === session) || (elsewhere && record.session_id === session.id);
  if (already) history = false;
  // Registered first, so live events emitted from here on are held, not lost.
  const subscription = already ? undefined : observe(
    session,
    jobId,
    running ? live : undefined,
    record.principal,
  );
  const subscribedFrom = running
    ? live.lastEventSeq
    : elsewhere
    ? (await core.store.bounds(record.session_id)).last
    : record.last_event_seq;
  const payload: JobSubscribedPayload = {
    job_id: jobId,
    current_status: record.status,
    agent: record.agent,
    lease: record.lease,
    parent_job_id: record.parent_job_id,
    trace_id: record.trace_id,
    subscribed_from: subscribedFrom,
    replayed: history,
    request_id: message.id,
  };
  if (record.lease_constraints !== undefined) payload.lease_constraints = record.lease_constraints;
  // The current counters, for an observer's budget gauge (spec 1.1 §7.6).
  if (record.budget !== undefined) payload.budget = record.budget;
  // Credentials follow the submitter only (spec 1.1 §7.6, §14).
  const credentials = visibleCredentials(session, live);
  if (credentials.length > 0) payload.credentials = credentials.map((c) => ({ ...c }));
  await session.send(
    encodeMessage("job.subscribed", payload, { session_id: session.id, job_id: jobId }),
  );
  if (subscription === undefined) return;
  if (elsewhere) {
    subscription.goLive();
    core.track(
      followElsewhere(core, subscription, record.session_id, history ? from ?? 0 : subscribedFrom),
    );
    return;
  }
  if (history) {
    await core.sessions.get(record.session_id)?.flushed();
    for await (const event of core.store.read(record.session_id, { after: from ?? 0 })) {
      if (event.event_seq > subscribedFrom) break;
      if (event.job_id === jobId && event.type === "job.event") subscription.forward(event, 0);
    }
  }
  subscription.goLive();
  // A job whose end could not be stored stays live here, holding it.
  const terminal = running
    ? undefined
    : core.jobs.get(jobId)?.record().terminal ?? (await core.store.getJob(jobId))?.terminal;
  if (terminal !== undefined) subscription.forward(terminal, 0);
  else if (!running) subscription.end();
}
