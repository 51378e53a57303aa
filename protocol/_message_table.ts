// This module is browser compatible.
// The one table of message types: who sends each, what answers it, which
// negotiated feature it needs (spec 1.1 §6.2) and how its payload is checked.
// Decoding (envelope.ts), the runtime's and the client's dispatch, feature
// gating and typed requests all derive from it; a message type missing here
// is unknown to the SDK. Module-private: the public types are the interfaces
// of messages.ts and events.ts, gathered in MessagePayloads below. Payload
// objects are loose because unknown payload fields MUST be ignored (spec §5).
//
// zod/mini: the same validation as classic zod, but its functions tree-shake,
// which keeps the browser bundles small (classic zod brings its whole API and
// every locale). Messages come from zod's English locale, passed per parse
// rather than installed globally with `z.config`.

import * as z from "zod/mini";
import { en } from "zod/locales";
import type { EventPayload } from "./events.ts";
import type {
  Envelope,
  Feature,
  JobAcceptedPayload,
  JobCancelledPayload,
  JobCancelPayload,
  JobErrorPayload,
  JobResultPayload,
  JobSubmitPayload,
  JobSubscribedPayload,
  JobSubscribePayload,
  JobUnsubscribePayload,
  SessionAckPayload,
  SessionClosePayload,
  SessionErrorPayload,
  SessionHelloPayload,
  SessionJobsPayload,
  SessionListJobsPayload,
  SessionPingPayload,
  SessionPongPayload,
  SessionResumePayload,
  SessionWelcomePayload,
} from "./messages.ts";
/** Payload type of every message type this SDK knows, of both spec versions. */
export interface MessagePayloads {
  /** Client opens a session (spec §6.2). */
  "session.hello": SessionHelloPayload;
  /** Runtime accepts a session (spec §6.2). */
  "session.welcome": SessionWelcomePayload;
  /** Client resumes a session (spec 1.1 §6.3). */
  "session.resume": SessionResumePayload;
  /** A session-level error (spec §12). */
  "session.error": SessionErrorPayload;
  /** Client closes the session gracefully (spec 1.1 §6.7). */
  "session.close": SessionClosePayload;
  /** Runtime acknowledges `session.close` (spec 1.1 §6.7). */
  "session.closed": SessionClosePayload;
  /** Either peer ends the session (spec 1.0 §6.4). */
  "session.bye": SessionClosePayload;
  /** Heartbeat probe (spec 1.1 §6.4). */
  "session.ping": SessionPingPayload;
  /** Heartbeat reply (spec 1.1 §6.4). */
  "session.pong": SessionPongPayload;
  /** Client acknowledges processed events (spec 1.1 §6.5). */
  "session.ack": SessionAckPayload;
  /** Client asks for a job listing (spec 1.1 §6.6). */
  "session.list_jobs": SessionListJobsPayload;
  /** Runtime answers `session.list_jobs` (spec 1.1 §6.6). */
  "session.jobs": SessionJobsPayload;
  /** Client submits a job (spec §7.1). */
  "job.submit": JobSubmitPayload;
  /** Runtime accepts a job (spec §7.1). */
  "job.accepted": JobAcceptedPayload;
  /** Client cancels a job (spec §7.4). */
  "job.cancel": JobCancelPayload;
  /** Runtime acknowledges `job.cancel` (spec 1.1 §7.4). */
  "job.cancelled": JobCancelledPayload;
  /** A job event (spec §8). */
  "job.event": EventPayload;
  /** A job's successful end (spec §7.3). */
  "job.result": JobResultPayload;
  /** A job's unsuccessful end (spec §7.3, §12). */
  "job.error": JobErrorPayload;
  /** Client attaches to a job (spec 1.1 §7.6). */
  "job.subscribe": JobSubscribePayload;
  /** Runtime confirms a subscription (spec 1.1 §7.6). */
  "job.subscribed": JobSubscribedPayload;
  /** Client detaches from a job (spec 1.1 §7.6). */
  "job.unsubscribe": JobUnsubscribePayload;
}

/** A known message type. */
export type MessageType = keyof MessagePayloads;

/** An envelope of message type `T` with its payload. */
export type EnvelopeOf<T extends MessageType> = Envelope<T, MessagePayloads[T]>;

/** What the table says of one message type. */
interface MessageSpec {
  /** Which peer sends it; the other one refuses or ignores it. */
  readonly from: "client" | "runtime" | "both";
  /** The message types that answer it, when it is a request. */
  readonly reply?: readonly MessageType[];
  /** The feature both peers must have negotiated to send it (spec 1.1 §6.2). */
  readonly feature?: Feature;
  /** Its payload schema; `null` for `job.event`, checked by hand in envelope.ts for speed. */
  readonly schema: Schema | null;
}

/** A payload schema; its precise type is checked by {@linkcode payload} and then erased. */
type Schema = z.ZodMiniType;

/** `O` without its index signature: the fields a loose schema names. */
type Named<O> = {
  [K in keyof O as string extends K ? never : number extends K ? never : K]: O[K];
};

/** What a schema accepts, without the index signatures of loose objects, at any depth. */
type Accepted<O> = O extends readonly (infer E)[] ? readonly Accepted<E>[]
  : O extends object ? { [K in keyof Named<O>]: Accepted<Named<O>[K]> }
  : O;

/** The fields of `O`, without its index signature. */
type Known<O> = keyof Named<O>;

/** `T` as received: every field may be missing or null, at any depth. */
type Lenient<T> = T extends readonly (infer E)[] ? readonly Lenient<E>[]
  : T extends object ? { [K in keyof T]?: Lenient<T[K]> | null | undefined }
  : T;

/**
 * `unknown` when schema `S` fits the interface `MessagePayloads[T]`, else a
 * type naming the drift: the schema accepts every payload the interface
 * allows, names every field of the interface (it may know more, such as a
 * receive-only alias) and yields nothing the interface types differently, up
 * to fields a peer may leave out or null.
 */
export type Drift<T extends MessageType, S extends Schema> = [MessagePayloads[T]] extends
  [Accepted<z.input<S>>]
  ? [Exclude<Known<MessagePayloads[T]>, Known<z.output<S>>>] extends [never]
    ? [Named<z.output<S>>] extends [Lenient<MessagePayloads[T]>] ? unknown
    : { drift: `${T}: the schema yields a field typed unlike the interface's` }
  : {
    drift: `${T}: the schema lacks fields of the interface`;
    fields: Exclude<Known<MessagePayloads[T]>, Known<z.output<S>>>;
  }
  : { drift: `${T}: the schema refuses a payload the interface allows` };

/** Returns `schema`, which must fit the interface of `type` (see {@linkcode Drift}). */
function payload<T extends MessageType, S extends Schema>(_type: T, schema: S & Drift<T, S>): S {
  return schema;
}

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

/**
 * Every message type of spec 1.0 and 1.1, with its sender, reply, feature and
 * payload schema. Each schema is checked against its interface by `payload()`
 * and then typed plainly as `Schema`: JSR wants this table's type explicit.
 */
export const MESSAGES = {
  "session.hello": {
    from: "client",
    reply: ["session.welcome"],
    schema: payload(
      "session.hello",
      z.looseObject({
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
    ) as Schema,
  },
  "session.welcome": {
    from: "runtime",
    schema: payload(
      "session.welcome",
      z.looseObject({
        runtime: peerInfo,
        resume_token: z.string(),
        resume_window_sec: z.number().check(z.nonnegative()),
        heartbeat_interval_sec: z.optional(z.number().check(z.nonnegative())),
        capabilities: z.extend(capabilities, { agents: z.optional(z.array(agentInfo)) }),
      }),
    ) as Schema,
  },
  "session.resume": {
    from: "client",
    reply: ["session.welcome"],
    schema: payload(
      "session.resume",
      z.looseObject({
        session_id: z.optional(z.string()),
        resume_token: z.string(),
        last_event_seq: seq,
      }),
    ) as Schema,
  },
  "session.error": {
    from: "runtime",
    schema: payload(
      "session.error",
      z.looseObject({
        ...errorFields,
        request_id: z.optional(z.string()),
        job_id: z.optional(z.string()),
      }),
    ) as Schema,
  },
  "session.close": {
    from: "client",
    reply: ["session.closed"],
    schema: payload("session.close", reason) as Schema,
  },
  "session.closed": { from: "runtime", schema: payload("session.closed", reason) as Schema },
  "session.bye": { from: "both", schema: payload("session.bye", reason) as Schema },
  "session.ping": {
    from: "both",
    reply: ["session.pong"],
    schema: payload(
      "session.ping",
      z.looseObject({ nonce: z.string(), sent_at: z.optional(z.string()) }),
    ) as Schema,
  },
  "session.pong": {
    from: "both",
    schema: payload(
      "session.pong",
      z.looseObject({ ping_nonce: z.string(), received_at: z.optional(z.string()) }),
    ) as Schema,
  },
  "session.ack": {
    from: "client",
    schema: payload("session.ack", z.looseObject({ last_processed_seq: seq })) as Schema,
  },
  "session.list_jobs": {
    from: "client",
    reply: ["session.jobs"],
    feature: "list_jobs",
    schema: payload(
      "session.list_jobs",
      z.looseObject({
        filter: z.nullish(z.looseObject({
          status: z.optional(z.array(jobStatus)),
          agent: z.optional(z.string()),
          created_after: z.optional(z.string()),
          created_before: z.optional(z.string()),
        })),
        limit: z.nullish(z.int().check(z.positive())),
        cursor: z.nullish(z.string()),
      }),
    ) as Schema,
  },
  "session.jobs": {
    from: "runtime",
    schema: payload(
      "session.jobs",
      z.looseObject({
        request_id: z.optional(z.string()),
        jobs: z.array(jobSummary),
        next_cursor: z.nullish(z.string()),
      }),
    ) as Schema,
  },
  "job.submit": {
    from: "client",
    reply: ["job.accepted"],
    schema: payload(
      "job.submit",
      z.looseObject({
        agent: z.string(),
        input: z.optional(z.unknown()),
        lease_request: z.optional(lease),
        lease_constraints: z.optional(leaseConstraints),
        idempotency_key: z.optional(z.string().check(z.minLength(1))),
        max_runtime_sec: z.optional(z.number().check(z.positive())),
      }),
    ) as Schema,
  },
  "job.accepted": {
    from: "runtime",
    schema: payload(
      "job.accepted",
      z.looseObject({
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
    ) as Schema,
  },
  // The job's own end answers a cancel too: nothing is left to cancel.
  "job.cancel": {
    from: "client",
    reply: ["job.cancelled", "job.result", "job.error"],
    schema: payload(
      "job.cancel",
      z.looseObject({ reason: z.optional(z.string()), job_id: z.optional(z.string()) }),
    ) as Schema,
  },
  "job.cancelled": { from: "runtime", schema: payload("job.cancelled", reason) as Schema },
  "job.event": { from: "runtime", schema: null },
  "job.result": {
    from: "runtime",
    schema: payload(
      "job.result",
      z.looseObject({
        final_status: z.literal("success"),
        result: z.optional(z.unknown()),
        // Lenient: some runtimes name the inline result `output`.
        output: z.optional(z.unknown()),
        result_id: z.optional(z.string()),
        result_size: z.optional(z.number()),
        summary: z.optional(z.string()),
      }),
    ) as Schema,
  },
  "job.error": {
    from: "runtime",
    schema: payload(
      "job.error",
      z.looseObject({
        ...errorFields,
        final_status: z.enum(["error", "cancelled", "timed_out"]),
      }),
    ) as Schema,
  },
  "job.subscribe": {
    from: "client",
    reply: ["job.subscribed"],
    feature: "subscribe",
    schema: payload(
      "job.subscribe",
      z.looseObject({
        job_id: z.string(),
        from_event_seq: z.optional(seq),
        history: z.optional(z.boolean()),
      }),
    ) as Schema,
  },
  // Lenient: only job_id is required of peers; what else they send must be well-typed.
  "job.subscribed": {
    from: "runtime",
    schema: payload(
      "job.subscribed",
      z.looseObject({
        job_id: z.string(),
        current_status: z.optional(jobStatus),
        agent: z.optional(z.string()),
        lease: z.optional(lease),
        lease_constraints: z.optional(leaseConstraints),
        budget: z.optional(z.record(z.string(), z.number())),
        credentials: z.optional(z.array(z.looseObject({ id: z.string() }))),
        parent_job_id: z.nullish(z.string()),
        trace_id: z.optional(z.string()),
        subscribed_from: z.optional(seq),
        replayed: z.optional(z.boolean()),
        request_id: z.optional(z.string()),
      }),
    ) as Schema,
  },
  "job.unsubscribe": {
    from: "client",
    feature: "subscribe",
    schema: payload("job.unsubscribe", jobRef) as Schema,
  },
} as const satisfies { readonly [T in MessageType]: MessageSpec };

/** Message types sent by `sender` (either peer's count as both's). */
type SentBy<Sender> = {
  [T in MessageType]: typeof MESSAGES[T]["from"] extends Sender | "both" ? T : never;
}[MessageType];

/** Message types a client sends: what the runtime dispatches. */
export type ClientMessageType = SentBy<"client">;

/** Message types a runtime sends: what the client dispatches. */
export type RuntimeMessageType = SentBy<"runtime">;

/** Message types that expect an answer. */
export type RequestType = {
  [T in MessageType]: typeof MESSAGES[T] extends { reply: readonly MessageType[] } ? T : never;
}[MessageType];

/** The message types answering request `T`. */
export type ReplyType<T extends RequestType> = typeof MESSAGES[T] extends
  { reply: readonly (infer R)[] } ? R & MessageType : never;

/** A decoded message of one of `types`, its payload typed by its `type`. */
export type MessageOf<T extends MessageType> = { [K in T]: EnvelopeOf<K> }[T];

/** Whether `message` is one clients send (and so runtimes dispatch). */
export function sentByClient(
  message: MessageOf<MessageType>,
): message is MessageOf<ClientMessageType> {
  return MESSAGES[message.type].from !== "runtime";
}

/** Whether `message` is one runtimes send (and so clients dispatch). */
export function sentByRuntime(
  message: MessageOf<MessageType>,
): message is MessageOf<RuntimeMessageType> {
  return MESSAGES[message.type].from !== "client";
}

/** Whether `answer` is one of the replies to a `request`. */
export function answers(answer: MessageType, request: string): boolean {
  const spec: MessageSpec | undefined = Object.hasOwn(MESSAGES, request)
    ? MESSAGES[request as MessageType]
    : undefined;
  return spec?.reply?.includes(answer) ?? false;
}

/** The schema of `type`'s payload; undefined for a type this SDK does not know, and for `job.event`. */
export function schemaOf(type: string): z.ZodMiniType | undefined {
  // Own keys only: "constructor" or "toString" must not find what an object inherits.
  return Object.hasOwn(MESSAGES, type)
    ? MESSAGES[type as MessageType].schema ?? undefined
    : undefined;
}

/** The feature `type` needs, if any (spec 1.1 §6.2). */
export function featureOf(type: MessageType): Feature | undefined {
  return (MESSAGES[type] as MessageSpec).feature;
}
