// This module is browser compatible.
// `job.submit` (spec §7.1) with idempotency keys (spec §7.2): a repeated key
// with the same parameters answers with the original job and streams it;
// with other parameters it is `DUPLICATE_KEY`. A repeated envelope id in one
// session is a retransmission (see `_submit_ids.ts`): the same `job.accepted`
// again, or `INVALID_REQUEST` when the parameters differ.

import { encodeMessage, type Message } from "../protocol/envelope.ts";
import { ArcpError } from "../protocol/errors.ts";
import { newJobId, newTraceId } from "../protocol/ids.ts";
import { parseTraceId } from "../protocol/trace.ts";
import { remoteParent } from "../internal/telemetry.ts";
import type { Context } from "@opentelemetry/api";
import type { LiveState, RuntimeHooks, RuntimePolicies, RuntimeServices } from "./_core.ts";
import type { RuntimeConfig } from "./_config.ts";
import { submissionFingerprint } from "./_digest.ts";
import { type JobIdentity, RuntimeJob } from "./_job.ts";
import { acceptedPayload } from "./_job_payload.ts";
import { delegateJob } from "./_delegate.ts";
import { JobAuthority } from "./_authority.ts";
import { isLeaseSubset, validateExpiresAt, validateLease } from "../protocol/lease.ts";
import type { RuntimeSession } from "./_session.ts";
import type { Lease } from "../protocol/messages.ts";
import { isoAt } from "../protocol/clock.ts";
import type { JobRecord } from "../store/types.ts";
import { visibleCredentials } from "./_credentials.ts";
import { followElsewhere, observe } from "./_subscription.ts";
import { isUnfinished } from "./_recovery.ts";
import { submitIdFingerprint } from "./_submit_ids.ts";
import { retried } from "./_retry.ts";
import { checkKeyField } from "./_key_fields.ts";
import { settledLive } from "./_observe.ts";

/** What submitting and starting jobs read of the runtime. */
export interface SubmitScope
  extends
    RuntimeConfig,
    RuntimePolicies,
    RuntimeServices,
    LiveState,
    Pick<RuntimeHooks, "track" | "settled"> {}

/**
 * Sends `job.accepted` for the existing job `jobId` in answer to
 * `requestId`; returns the job as known here, or `undefined` (nothing sent)
 * when the job is no longer known.
 */
async function acceptAgain(
  core: SubmitScope,
  session: RuntimeSession,
  jobId: string,
  requestId: string,
): Promise<{ live: RuntimeJob | undefined; record: JobRecord } | undefined> {
  const live = await settledLive(core, jobId);
  const record = live?.record() ?? await core.store.getJob(jobId);
  if (record === undefined) return undefined;
  const accepted = acceptedPayload(record, requestId, visibleCredentials(session, live));
  await session.send(encodeMessage("job.accepted", accepted, {
    session_id: session.id,
    job_id: jobId,
    trace_id: record.trace_id,
  }));
  return { live, record };
}

/** Answers a repeated key with the job it made, then streams that job into `session`. */
async function replayIdempotent(
  core: SubmitScope,
  session: RuntimeSession,
  jobId: string,
  requestId: string,
): Promise<boolean> {
  const known = await acceptAgain(core, session, jobId, requestId);
  if (known === undefined) return false;
  const { live, record } = known;
  if (live !== undefined && !live.terminal) {
    // Running: this session now sees its events, unless it already does.
    if (live.ownerSession !== session && !session.subscriptions.has(jobId)) {
      observe(session, jobId, live, record.principal).goLive();
    }
  } else if (live === undefined && isUnfinished(record)) {
    // Running on another instance: its events come through the store.
    if (record.session_id === session.id) session.followElsewhere([jobId]);
    else if (!session.subscriptions.has(jobId)) {
      const { last } = await core.store.bounds(record.session_id);
      const subscription = observe(session, jobId, undefined, record.principal);
      subscription.goLive();
      core.track(followElsewhere(core, subscription, record.session_id, last));
    }
  } else if (record.terminal !== undefined) {
    // Ended: replay the terminal event so the new handle settles (spec 1.0 §7.2).
    const replay = observe(session, jobId, undefined, record.principal);
    replay.goLive();
    replay.forward(record.terminal, 0);
  }
  return true;
}

/**
 * Handles `job.submit`: answers a retransmission (a repeated envelope id),
 * or accepts and starts a job, or answers a repeated idempotency key.
 *
 * @throws {ArcpError} `INVALID_REQUEST` for an envelope id this session
 *   already used for a submit with other parameters, besides the refusals
 *   of the submission itself.
 */
export async function submitJob(
  core: SubmitScope,
  session: RuntimeSession,
  message: Message & { type: "job.submit" },
): Promise<void> {
  const { payload } = message;
  checkKeyField(payload.idempotency_key, "job.submit: payload.idempotency_key");
  const parameters = submissionFingerprint(payload);
  const fingerprint = submitIdFingerprint(parameters, payload.idempotency_key);
  const earlier = session.recentSubmits.get(message.id);
  if (earlier !== undefined) {
    if (earlier.fingerprint !== fingerprint) {
      throw new ArcpError(
        "INVALID_REQUEST",
        `Envelope id "${message.id}" was already used by another job.submit in this session: ` +
          "each message needs a unique id",
      );
    }
    // Answered with its job again; the job's events are already the session's
    // (in its log, which a resume replays, or followed since the first answer).
    const jobId = await earlier.jobId;
    if (jobId !== undefined && await acceptAgain(core, session, jobId, message.id) !== undefined) {
      return;
    }
  }
  const settle = session.recentSubmits.remember(message.id, fingerprint);
  try {
    settle(await acceptSubmit(core, session, message, parameters));
  } catch (error) {
    settle(undefined);
    throw error;
  }
}

/** Accepts a submission; returns the job that answers it, new or (for a repeated key) earlier. */
async function acceptSubmit(
  core: SubmitScope,
  session: RuntimeSession,
  message: Message & { type: "job.submit" },
  fingerprint: string,
): Promise<string> {
  const { payload } = message;
  const { definition, ref } = core.registry.resolve(payload.agent);
  const { lease } = validateLease(payload.lease_request ?? {}, { field: "lease_request" });
  const expiresAt = payload.lease_constraints?.expires_at;
  if (expiresAt !== undefined) validateExpiresAt(expiresAt, core.now());
  const traceId = message.trace_id === undefined ? newTraceId() : parseTraceId(message.trace_id);
  const jobId = newJobId();
  const createdAt = isoAt(core.clock);
  const key = payload.idempotency_key;
  if (key !== undefined) {
    const expiresAt = new Date(Date.parse(createdAt) + core.idempotencyTtlSec * 1000).toISOString();
    const existing = await core.store.claimIdempotencyKey(
      { principal: session.principal.id, key, job_id: jobId, fingerprint, expires_at: expiresAt },
      createdAt,
    );
    if (existing !== undefined) {
      if (existing.fingerprint !== fingerprint) {
        throw new ArcpError(
          "DUPLICATE_KEY",
          `Idempotency key "${key}" was used for job ${existing.job_id} with other parameters`,
          { details: { job_id: existing.job_id } },
        );
      }
      if (await replayIdempotent(core, session, existing.job_id, message.id)) {
        return existing.job_id;
      }
    }
  }
  const job = await startJob(core, session, {
    id: jobId,
    definition,
    agent: ref,
    input: payload.input ?? null,
    lease,
    leaseConstraints: payload.lease_constraints,
    traceId,
    traceParent: remoteParent(message.trace_id, traceId),
    maxRuntimeSec: payload.max_runtime_sec,
    createdAt,
    idempotencyKey: key,
    requestId: message.id,
  });
  return job.jobId;
}

/** A job to start, and what it answers: a submit or a delegation. */
export interface NewJob extends JobIdentity {
  /** The `job.submit` being answered; absent for a delegated job. */
  requestId?: string;
  /** Set for a delegated job (spec §10). */
  parent?: { job: RuntimeJob; delegateId: string; budget?: Record<string, string> };
  /** Where the job's span goes: the submit's W3C trace context, or the delegation's span. */
  traceParent: Context;
}

/**
 * The lease a job runs with: the runtime's policy may narrow the request,
 * never widen it (spec 1.1 §9.2).
 *
 * @throws {ArcpError} the policy's own refusal, or `INTERNAL_ERROR` for a
 *   policy that widened the lease.
 */
async function effectiveLease(
  core: SubmitScope,
  session: RuntimeSession,
  spec: NewJob,
): Promise<Lease> {
  if (core.leasePolicy === undefined) return spec.lease;
  const decided = await core.leasePolicy({
    principal: session.principal,
    agent: spec.agent,
    lease: structuredClone(spec.lease),
    leaseConstraints: spec.leaseConstraints,
    parentJobId: spec.parent?.job.jobId ?? null,
  });
  const { lease } = validateLease(decided, { field: "lease" });
  const subset = isLeaseSubset(lease, spec.lease);
  if (!subset.ok) {
    throw new ArcpError(
      "INTERNAL_ERROR",
      `The runtime's lease policy widened the requested lease: ${subset.reason}`,
    );
  }
  return lease;
}

/** Stores, announces (`job.accepted`) and starts a job in `session`. */
export async function startJob(
  core: SubmitScope,
  session: RuntimeSession,
  spec: NewJob,
): Promise<RuntimeJob> {
  // Counted before anything is issued or stored; uncounted unless it runs.
  core.runningJobs.add(session.principal.id);
  let running = false;
  try {
    const job = await createJob(core, session, spec);
    running = true;
    await announce(session, spec, job);
    return job;
  } finally {
    if (!running) core.runningJobs.remove(session.principal.id);
  }
}

/** Issues, builds and stores a job, and registers it as running here. */
async function createJob(
  core: SubmitScope,
  session: RuntimeSession,
  spec: NewJob,
): Promise<RuntimeJob> {
  const lease = await effectiveLease(core, session, spec);
  const authority = new JobAuthority({
    lease,
    constraints: spec.leaseConstraints,
    now: core.now,
    expiryGraceMs: core.expiryGraceMs,
    requireModelLease: core.requireModelLease,
  });
  // Issued before the job is stored or announced (spec 1.1 §9.8.2): a
  // failure refuses the job, and the ledger already holds the id to revoke.
  const credential = await core.credentials?.issue({
    jobId: spec.id,
    principal: session.principal.id,
    agent: spec.agent,
    lease,
    leaseConstraints: spec.leaseConstraints,
    budget: authority.budget?.snapshot(),
    parentJobId: spec.parent?.job.jobId ?? null,
  });
  const credentials = credential === undefined ? [] : [credential];
  const ledger = core.credentials;
  const trace = core.telemetry.startJob({
    jobId: spec.id,
    agent: spec.agent,
    sessionId: session.id,
    principal: session.principal.id,
    expiresAt: spec.leaseConstraints?.expires_at,
    parentJobId: spec.parent?.job.jobId ?? null,
  }, spec.traceParent);
  const job = new RuntimeJob({
    ...spec,
    lease,
    session,
    cancelGraceMs: core.cancelGraceMs,
    parentJobId: spec.parent?.job.jobId ?? null,
    authority,
    fetch: core.fetch,
    resultChunkBytes: core.resultChunkBytes,
    maxResultBytes: core.maxResultBytes,
    storeRecord: (record) => {
      const write = retried(() => core.store.putJob(record));
      // Closing waits for it: the store may be closed right after. Its
      // failure is the job's, which gets `write` and logs it.
      core.track(write.catch(() => {}));
      return write;
    },
    logger: core.logger,
    onSettled: (settled, stored) => {
      core.telemetry.endJob(trace, settled.record());
      core.settled(settled, stored);
    },
    delegate: (parent, request) =>
      delegateJob(core, parent, request, (child) => startJob(core, session, child)),
    credentials,
    rotateCredential: ledger === undefined
      ? undefined
      : (credential, job) =>
        ledger.rotate({ credentialId: credential.id, jobId: job.jobId }, [credential.value]),
    terminateOnExpiry: core.terminateOnExpiry,
    clock: core.clock,
    instanceId: core.instanceId,
    trace,
  });
  try {
    // Durable before it is announced: a restart must find every accepted job.
    await core.store.putJob({ ...job.record(), status: "running" });
  } catch (error) {
    ledger?.release(job.jobId, session.principal.id, credentials);
    trace.refusedToStart(error);
    throw error;
  }
  session.jobs.set(job.jobId, job);
  core.jobs.set(job.jobId, job);
  return job;
}

/** Sends `job.accepted` and starts the job. */
async function announce(
  session: RuntimeSession,
  spec: NewJob,
  job: RuntimeJob,
): Promise<void> {
  const accepted = acceptedPayload(job.record(), spec.requestId, visibleCredentials(session, job));
  if (spec.parent !== undefined) {
    accepted.parent_job_id = spec.parent.job.jobId;
    accepted.delegate_id = spec.parent.delegateId;
  }
  await session.send(encodeMessage("job.accepted", accepted, {
    session_id: session.id,
    job_id: job.jobId,
    trace_id: job.traceId,
  }));
  job.start();
}
