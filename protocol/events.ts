// This module is browser compatible.
/**
 * Job event kinds and their bodies (spec §8.2, 1.1 §8.2.1, §8.4, §10.1).
 *
 * @module
 */

import type { ErrorPayload } from "./errors.ts";
import type { Envelope, Lease } from "./messages.ts";

/** `log` body. */
export interface LogBody {
  /** Severity: `debug`, `info`, `warn` or `error`; other strings are passed through. */
  level: "debug" | "info" | "warn" | "error" | (string & Record<never, never>);
  /** Free-form log message. */
  message: string;
  /** Optional structured fields attached to the message. */
  attributes?: Record<string, unknown>;
}

/** `thought` body. */
export interface ThoughtBody {
  /** Agent-internal reasoning trace. */
  text: string;
}

/** `tool_call` body. */
export interface ToolCallBody {
  /** Name of the tool invoked, e.g. `fs.read`. */
  tool: string;
  /** Arguments passed to the tool; any JSON. */
  args: unknown;
  /** Id that the matching `tool_result` echoes. */
  call_id: string;
}

/** `tool_result` body: exactly one of `result` and `error`. */
export interface ToolResultBody {
  /** The `call_id` of the `tool_call` this answers. */
  call_id: string;
  /** What the tool returned, on success; any JSON. */
  result?: unknown;
  /** Why the tool failed, on failure (spec §12). */
  error?: ErrorPayload;
}

/** `status` body. */
export interface StatusBody {
  /** Lifecycle marker, e.g. `credential_rotated` (spec 1.1 §9.8.2). */
  phase: string;
  /** Human-readable detail. */
  message?: string;
}

/** `metric` body; `dims` is accepted on receipt as an alias of `dimensions`. */
export interface MetricBody {
  /** Metric name, e.g. `cost.budget.remaining` (spec 1.1 §9.6). */
  name: string;
  /** The measured value. */
  value: number;
  /** Unit of `value`, e.g. `ms` or `USD`. */
  unit?: string;
  /** Optional labels qualifying the measurement. */
  dimensions?: Record<string, unknown>;
}

/** `artifact_ref` body. */
export interface ArtifactRefBody {
  /** Where the artifact can be fetched. */
  uri: string;
  /** The artifact's media type, e.g. `text/csv`. */
  content_type: string;
  /** Size of the artifact in bytes. */
  byte_size?: number;
  /** SHA-256 digest of the artifact's bytes. */
  sha256?: string;
}

/** `delegate` body (spec §10.1). */
export interface DelegateBody {
  /** Id echoed as `delegate_id` on the child's `job.accepted` (spec §10.1). */
  delegate_id: string;
  /** Sub-agent to run: `name` or `name@version`. */
  agent: string;
  /** The sub-job's input; any JSON. */
  input: unknown;
  /** Requested child lease; must be a subset of the parent's (spec §9.4). */
  lease_request: Lease;
}

/** `progress` body (spec 1.1 §8.2.1). */
export interface ProgressBody {
  /** Non-negative. */
  current: number;
  /** Absent means indeterminate. */
  total?: number;
  /** What `current` and `total` count, e.g. `files`. */
  units?: string;
  /** Human-readable description of the current step. */
  message?: string;
}

/** `result_chunk` body (spec 1.1 §8.4). */
export interface ResultChunkBody {
  /** Stable identifier of the assembled result; `job.result` carries it too. */
  result_id: string;
  /** 0-based chunk index per `result_id`; chunks are emitted in order. */
  chunk_seq: number;
  /** Chunk payload, encoded as `encoding` says. */
  data: string;
  /** `utf8` for text, `base64` for binary. */
  encoding: "utf8" | "base64";
  /** `true` if more chunks follow; `false` on the final chunk. */
  more: boolean;
}

/** Maps each reserved event kind to its body type. */
export interface EventBodies {
  /** Free-form log message. */
  log: LogBody;
  /** Agent-internal reasoning trace. */
  thought: ThoughtBody;
  /** The agent invoked a tool. */
  tool_call: ToolCallBody;
  /** A tool returned. */
  tool_result: ToolResultBody;
  /** Lifecycle marker. */
  status: StatusBody;
  /** Numeric measurement. */
  metric: MetricBody;
  /** The agent produced an addressable artifact. */
  artifact_ref: ArtifactRefBody;
  /** The agent requested sub-job creation (spec §10). */
  delegate: DelegateBody;
  /** Advisory progress (spec 1.1 §8.2.1). */
  progress: ProgressBody;
  /** One chunk of a streamed result (spec 1.1 §8.4). */
  result_chunk: ResultChunkBody;
}

/** A reserved event kind (spec §8.2). */
export type EventKind = keyof EventBodies;

/** The reserved event kinds. */
export const EVENT_KINDS: readonly EventKind[] = [
  "log",
  "thought",
  "tool_call",
  "tool_result",
  "status",
  "metric",
  "artifact_ref",
  "delegate",
  "progress",
  "result_chunk",
];

/**
 * A `job.event` payload: `kind`, ISO-8601 UTC `ts`, and a kind-specific
 * `body`. Kinds this SDK does not know (vendor `x-*` kinds, or kinds of a
 * newer spec) are passed through with `body` as sent; narrow with
 * {@linkcode isEventKind}.
 */
export interface EventPayload {
  /** The event kind; reserved (spec §8.2) or vendor-defined (`x-*`). */
  kind: EventKind | (string & Record<never, never>);
  /** ISO-8601 UTC time the event was emitted. */
  ts: string;
  /** Kind-specific body. */
  body: Record<string, unknown>;
}

/** A `job.event` envelope as delivered to consumers. */
export type JobEvent = Envelope<"job.event", EventPayload> & {
  job_id: string;
  event_seq: number;
};

/**
 * Narrows an event payload to a reserved kind with its typed body.
 *
 * @param payload A `job.event` payload.
 * @param kind The kind to test for.
 * @returns Whether `payload.kind === kind`.
 * @example Read progress
 * ```ts
 * import { isEventKind, type EventPayload } from "@arcp/arcp";
 * import assert from "node:assert/strict";
 *
 * const payload: EventPayload = { kind: "progress", ts: "2026-01-01T00:00:00.000Z", body: { current: 1, total: 2 } };
 * if (isEventKind(payload, "progress")) assert.equal(payload.body.total, 2);
 * ```
 */
export function isEventKind<K extends EventKind>(
  payload: EventPayload,
  kind: K,
): payload is { kind: K; ts: string; body: EventBodies[K] & Record<string, unknown> } {
  return payload.kind === kind;
}
