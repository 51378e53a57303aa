// This module is browser compatible.
// Payload schemas of every message type, module-private: the public types are
// the hand-written interfaces of messages.ts and events.ts. Objects are loose
// because unknown payload fields MUST be ignored (spec §5).

import { z } from "zod";

const peerInfo = z.looseObject({ name: z.string(), version: z.string() });
const capabilities = z.looseObject({
  encodings: z.array(z.string()).optional(),
  features: z.array(z.string()).optional(),
});
const seq = z.number().int().nonnegative();
const lease = z.record(z.string(), z.array(z.string()));
const leaseConstraints = z.looseObject({ expires_at: z.string().optional() });
const jobStatus = z.enum(["pending", "running", "success", "error", "cancelled", "timed_out"]);
const errorFields = {
  code: z.string(),
  message: z.string(),
  retryable: z.boolean().optional(),
  details: z.record(z.string(), z.unknown()).nullish(),
};
const reason = z.looseObject({ reason: z.string().optional() });
const jobRef = z.looseObject({ job_id: z.string() });

const agentInfo = z.union([
  z.string(),
  z.looseObject({
    name: z.string(),
    versions: z.array(z.string()),
    default: z.string().optional(),
  }),
]);

const jobSummary = z.looseObject({
  job_id: z.string(),
  agent: z.string(),
  status: jobStatus,
  lease: lease.optional(),
  parent_job_id: z.string().nullish(),
  created_at: z.string(),
  trace_id: z.string().optional(),
  last_event_seq: seq.optional(),
});

/** Payload schema by message type; a type missing here is unknown (`job.event` is checked by hand in envelope.ts). */
export const payloadSchemas: Readonly<Record<string, z.ZodType>> = {
  "session.hello": z.looseObject({
    client: peerInfo,
    auth: z.looseObject({ scheme: z.string(), token: z.string().optional() }).optional(),
    capabilities: capabilities.optional(),
    resume: z.looseObject({
      session_id: z.string(),
      resume_token: z.string(),
      last_event_seq: seq,
    }).optional(),
    resume_token: z.string().optional(),
    last_event_seq: seq.optional(),
  }),
  "session.welcome": z.looseObject({
    runtime: peerInfo,
    resume_token: z.string(),
    resume_window_sec: z.number().nonnegative(),
    heartbeat_interval_sec: z.number().nonnegative().optional(),
    capabilities: capabilities.extend({ agents: z.array(agentInfo).optional() }),
  }),
  "session.resume": z.looseObject({
    session_id: z.string().optional(),
    resume_token: z.string(),
    last_event_seq: seq,
  }),
  "session.error": z.looseObject({
    ...errorFields,
    request_id: z.string().optional(),
    job_id: z.string().optional(),
  }),
  "session.close": reason,
  "session.closed": reason,
  "session.bye": reason,
  "session.ping": z.looseObject({ nonce: z.string(), sent_at: z.string().optional() }),
  "session.pong": z.looseObject({ ping_nonce: z.string(), received_at: z.string().optional() }),
  "session.ack": z.looseObject({ last_processed_seq: seq }),
  "session.list_jobs": z.looseObject({
    filter: z.looseObject({
      status: z.array(jobStatus).optional(),
      agent: z.string().optional(),
      created_after: z.string().optional(),
      created_before: z.string().optional(),
    }).nullish(),
    limit: z.number().int().positive().nullish(),
    cursor: z.string().nullish(),
  }),
  "session.jobs": z.looseObject({
    request_id: z.string().optional(),
    jobs: z.array(jobSummary),
    next_cursor: z.string().nullish(),
  }),
  "job.submit": z.looseObject({
    agent: z.string(),
    input: z.unknown().optional(),
    lease_request: lease.optional(),
    lease_constraints: leaseConstraints.optional(),
    idempotency_key: z.string().min(1).optional(),
    max_runtime_sec: z.number().positive().optional(),
  }),
  "job.accepted": z.looseObject({
    job_id: z.string(),
    agent: z.string().optional(),
    lease: lease.optional(),
    lease_constraints: leaseConstraints.optional(),
    budget: z.record(z.string(), z.number()).optional(),
    credentials: z.array(z.looseObject({ id: z.string() })).optional(),
    accepted_at: z.string().optional(),
    trace_id: z.string().optional(),
    parent_job_id: z.string().nullish(),
    delegate_id: z.string().optional(),
    request_id: z.string().optional(),
  }),
  "job.cancel": z.looseObject({ reason: z.string().optional(), job_id: z.string().optional() }),
  "job.cancelled": reason,
  "job.result": z.looseObject({
    final_status: z.literal("success"),
    result: z.unknown().optional(),
    output: z.unknown().optional(),
    result_id: z.string().optional(),
    result_size: z.number().optional(),
    summary: z.string().optional(),
  }),
  "job.error": z.looseObject({
    ...errorFields,
    final_status: z.enum(["error", "cancelled", "timed_out"]),
  }),
  "job.subscribe": z.looseObject({
    job_id: z.string(),
    from_event_seq: seq.optional(),
    history: z.boolean().optional(),
  }),
  "job.subscribed": jobRef,
  "job.unsubscribe": jobRef,
};
