// This module is browser compatible.
/**
 * The one place envelopes are validated and built (spec §5): both the client
 * and the runtime decode every incoming frame with {@linkcode decodeMessage}.
 *
 * @module
 */

import { ArcpError } from "./errors.ts";
import { newMessageId } from "./ids.ts";
import { type Envelope, PROTOCOL_VERSION } from "./messages.ts";
import {
  type MessagePayloads,
  type MessageType,
  parseContext,
  schemaOf,
} from "./_message_table.ts";

// The table's derived types and lookups, for the client's and the runtime's
// dispatch; of these, only MessagePayloads and MessageType are public (mod.ts).
export {
  answers,
  type ClientMessageType,
  type EnvelopeOf,
  featureOf,
  type MessageOf,
  type MessagePayloads,
  type MessageType,
  type ReplyType,
  type RequestType,
  type RuntimeMessageType,
  sentByClient,
  sentByRuntime,
} from "./_message_table.ts";

/** A decoded message: an envelope whose `type` discriminates its payload. */
export type Message = { [K in MessageType]: Envelope<K, MessagePayloads[K]> }[MessageType];

/** Accepted protocol versions: `"1"` (1.0) and `"1.x"` (1.1 and later minors). */
const VERSION_PATTERN = /^1(\.\d+)?$/;

function invalid(message: string, details?: Record<string, unknown>): ArcpError {
  return new ArcpError("INVALID_REQUEST", message, details ? { details } : {});
}

function optionalString(frame: Record<string, unknown>, field: string): void {
  const value = frame[field];
  if (value === null) delete frame[field];
  else if (value !== undefined && typeof value !== "string") {
    throw invalid(`Invalid envelope: "${field}" must be a string`, { field });
  }
}

/**
 * Validates one parsed frame and returns it as a typed {@linkcode Message}.
 * Unknown top-level and payload fields are kept but ignored (spec §5).
 *
 * @param frame One parsed JSON value.
 * @returns The message, or `undefined` for a vendor (`x-*`) message type,
 *   which receivers ignore.
 * @throws {ArcpError} `INVALID_REQUEST` naming the field that is missing or
 *   mistyped, an unsupported `arcp` version, or an unknown type.
 * @example Decode a submit
 * ```ts
 * import { decodeMessage } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const message = decodeMessage({
 *   arcp: "1", id: "m1", type: "job.submit", session_id: "sess_1",
 *   payload: { agent: "echo", input: 1 },
 * });
 * assert.equal(message?.type === "job.submit" && message.payload.agent, "echo");
 * assert.throws(() => decodeMessage({ arcp: "1.1", id: "m2", type: "job.submit", payload: {} }));
 * ```
 */
export function decodeMessage(frame: unknown): Message | undefined {
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
    throw invalid("Invalid envelope: a frame must be a JSON object");
  }
  const envelope = frame as Record<string, unknown>;
  const { arcp, id, type, payload, event_seq } = envelope;
  if (typeof arcp !== "string") throw invalid('Invalid envelope: "arcp" must be a string');
  if (!VERSION_PATTERN.test(arcp)) {
    throw invalid(`Unsupported protocol version "${arcp}": expected "1" or "1.x"`, { arcp });
  }
  if (typeof id !== "string" || id === "") {
    throw invalid('Invalid envelope: "id" must be a non-empty string');
  }
  if (typeof type !== "string" || type === "") {
    throw invalid('Invalid envelope: "type" must be a non-empty string');
  }
  optionalString(envelope, "session_id");
  optionalString(envelope, "trace_id");
  optionalString(envelope, "job_id");
  if (event_seq === null) delete envelope.event_seq;
  else if (
    event_seq !== undefined && (!Number.isSafeInteger(event_seq) || (event_seq as number) < 0)
  ) {
    throw invalid('Invalid envelope: "event_seq" must be a non-negative integer');
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw invalid(`Invalid ${type}: "payload" must be an object`, { type });
  }
  // Every event of every job passes here: its three fields are checked by
  // hand, with the same rules and messages as its schema, at a tenth the cost.
  if (type === "job.event") return checkEventPayload(envelope, payload as Record<string, unknown>);
  const schema = schemaOf(type);
  if (schema === undefined) {
    if (type.startsWith("x-")) return undefined;
    throw invalid(`Unknown message type "${type}"`, { type });
  }
  const parsed = schema.safeParse(payload, parseContext);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = ["payload", ...issue.path.map(String)].join(".");
    throw invalid(`Invalid ${type}: ${path}: ${issue.message}`, { type, field: path });
  }
  envelope.payload = parsed.data;
  return envelope as unknown as Message;
}

function checkEventPayload(
  envelope: Record<string, unknown>,
  payload: Record<string, unknown>,
): Message {
  const { kind, ts, body } = payload;
  const field = typeof kind !== "string"
    ? "kind"
    : typeof ts !== "string"
    ? "ts"
    : typeof body !== "object" || body === null || Array.isArray(body)
    ? "body"
    : undefined;
  if (field !== undefined) {
    throw invalid(
      `Invalid job.event: payload.${field}: expected ${field === "body" ? "object" : "string"}`,
      {
        type: "job.event",
        field: `payload.${field}`,
      },
    );
  }
  return envelope as unknown as Message;
}

/** Envelope fields other than `arcp`, `id`, `type` and `payload`. */
export interface EnvelopeFields {
  /** Session id (spec §5). */
  session_id?: string | undefined;
  /** W3C trace-id or `traceparent` (spec §11). */
  trace_id?: string | undefined;
  /** The job a job-scoped message is about. */
  job_id?: string | undefined;
  /** Session-scoped sequence number (spec §8.3). */
  event_seq?: number | undefined;
}

/**
 * Builds an outgoing envelope with `arcp: "1.1"` and a fresh `msg_` id.
 * Fields that are `undefined` are left out rather than sent as `null`.
 *
 * @param type The message type.
 * @param payload Its payload.
 * @param fields Optional envelope fields.
 * @returns The envelope, ready to be written to a transport.
 * @example
 * ```ts
 * import { encodeMessage } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const ping = encodeMessage("session.ping", { nonce: "p1", sent_at: new Date().toISOString() }, { session_id: "sess_1" });
 * assert.equal(ping.arcp, "1.1");
 * assert.equal(ping.session_id, "sess_1");
 * ```
 */
export function encodeMessage<K extends MessageType>(
  type: K,
  payload: MessagePayloads[K],
  fields: EnvelopeFields = {},
): Envelope<K, MessagePayloads[K]> {
  // Built in wire order (payload last) so frames read naturally in logs.
  const envelope = { arcp: PROTOCOL_VERSION, id: newMessageId(), type } as Envelope<
    K,
    MessagePayloads[K]
  >;
  if (fields.session_id !== undefined) envelope.session_id = fields.session_id;
  if (fields.job_id !== undefined) envelope.job_id = fields.job_id;
  if (fields.trace_id !== undefined) envelope.trace_id = fields.trace_id;
  if (fields.event_seq !== undefined) envelope.event_seq = fields.event_seq;
  envelope.payload = payload;
  return envelope;
}
