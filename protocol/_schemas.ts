// This module is browser compatible.
// Payload schemas of every message type, module-private: the public types are
// the hand-written interfaces of messages.ts and events.ts. Objects are loose
// because unknown payload fields MUST be ignored (spec §5).
//
// zod/mini: the same validation as classic zod, but its functions tree-shake,
// which keeps the browser bundles small (classic zod brings its whole API and
// every locale). Messages come from zod's English locale, passed per parse
// rather than installed globally with `z.config`.

import * as z from "zod/mini";
import { en } from "zod/locales";

/** Parse options giving every issue zod's English message, whatever the app configured. */
export const parseContext: z.core.ParseContext<z.core.$ZodIssue> = { error: en().localeError };

const peerInfo = z.looseObject({ name: z.string(), version: z.string() });
const capabilities = z.looseObject({
  encodings: z.optional(z.array(z.string())),
  features: z.optional(z.array(z.string())),
});
const seq = z.int().check(z.nonnegative());
const lease = z.record(z.string(), z.array(z.string()));
const leaseConstraints = z.looseObject({ expires_at: z.optional(z.string()) });
const jobStatus = z.enum(["pending", "running", "success", "error", "cancelled", "timed_out"]);
const errorFields = {
  code: z.string(),
  message: z.string(),
  retryable: z.optional(z.boolean()),
  details: z.nullish(z.record(z.string(), z.unknown())),
};
const reason = z.looseObject({ reason: z.optional(z.string()) });
const jobRef = z.looseObject({ job_id: z.string() });

const agentInfo = z.union([
  z.string(),
  z.looseObject({
    name: z.string(),
    versions: z.array(z.string()),
    default: z.optional(z.string()),
  }),
]);

const jobSummary = z.looseObject({
  job_id: z.string(),
  agent: z.string(),
  status: jobStatus,
  lease: z.optional(lease),
  parent_job_id: z.nullish(z.string()),
  created_at: z.string(),
  trace_id: z.optional(z.string()),
  last_event_seq: z.optional(seq),
});

/** Payload schema by message type; a type missing here is unknown (`job.event` is checked by hand in envelope.ts). */
export const payloadSchemas: Readonly<Record<string, z.ZodMiniType>> = {
  "session.hello": z.looseObject({
    client: peerInfo,
    auth: z.optional(z.looseObject({ scheme: z.string(), token: z.optional(z.string()) })),
    capabilities: z.optional(capabilities),
    resume: z.optional(z.looseObject({
      session_id: z.string(),
      resume_token: z.string(),
      last_event_seq: seq,
    })),
    resume_token: z.optional(z.string()),
    last_event_seq: z.optional(seq),
  }),
  "session.welcome": z.looseObject({
    runtime: peerInfo,
    resume_token: z.string(),
    resume_window_sec: z.number().check(z.nonnegative()),
    heartbeat_interval_sec: z.optional(z.number().check(z.nonnegative())),
    capabilities: z.extend(capabilities, { agents: z.optional(z.array(agentInfo)) }),
  }),
  "session.resume": z.looseObject({
    session_id: z.optional(z.string()),
    resume_token: z.string(),
    last_event_seq: seq,
  }),
  "session.error": z.looseObject({
    ...errorFields,
    request_id: z.optional(z.string()),
    job_id: z.optional(z.string()),
  }),
  "session.close": reason,
  "session.closed": reason,
  "session.bye": reason,
  "session.ping": z.looseObject({ nonce: z.string(), sent_at: z.optional(z.string()) }),
  "session.pong": z.looseObject({ ping_nonce: z.string(), received_at: z.optional(z.string()) }),
  "session.ack": z.looseObject({ last_processed_seq: seq }),
  "session.list_jobs": z.looseObject({
    filter: z.nullish(z.looseObject({
      status: z.optional(z.array(jobStatus)),
      agent: z.optional(z.string()),
      created_after: z.optional(z.string()),
      created_before: z.optional(z.string()),
    })),
    limit: z.nullish(z.int().check(z.positive())),
    cursor: z.nullish(z.string()),
  }),
  "session.jobs": z.looseObject({
    request_id: z.optional(z.string()),
    jobs: z.array(jobSummary),
    next_cursor: z.nullish(z.string()),
  }),
  "job.submit": z.looseObject({
    agent: z.string(),
    input: z.optional(z.unknown()),
    lease_request: z.optional(lease),
    lease_constraints: z.optional(leaseConstraints),
    idempotency_key: z.optional(z.string().check(z.minLength(1))),
    max_runtime_sec: z.optional(z.number().check(z.positive())),
  }),
  "job.accepted": z.looseObject({
    job_id: z.string(),
    agent: z.optional(z.string()),
    lease: z.optional(lease),
    lease_constraints: z.optional(leaseConstraints),
    budget: z.optional(z.record(z.string(), z.number())),
    credentials: z.optional(z.array(z.looseObject({ id: z.string() }))),
    accepted_at: z.optional(z.string()),
    trace_id: z.optional(z.string()),
    parent_job_id: z.nullish(z.string()),
    delegate_id: z.optional(z.string()),
    request_id: z.optional(z.string()),
  }),
  "job.cancel": z.looseObject({ reason: z.optional(z.string()), job_id: z.optional(z.string()) }),
  "job.cancelled": reason,
  "job.result": z.looseObject({
    final_status: z.literal("success"),
    result: z.optional(z.unknown()),
    output: z.optional(z.unknown()),
    result_id: z.optional(z.string()),
    result_size: z.optional(z.number()),
    summary: z.optional(z.string()),
  }),
  "job.error": z.looseObject({
    ...errorFields,
    final_status: z.enum(["error", "cancelled", "timed_out"]),
  }),
  "job.subscribe": z.looseObject({
    job_id: z.string(),
    from_event_seq: z.optional(seq),
    history: z.optional(z.boolean()),
  }),
  "job.subscribed": jobRef,
  "job.unsubscribe": jobRef,
};
