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
  level: "debug" | "info" | "warn" | "error" | (string & Record<never, never>);
  message: string;
  attributes?: Record<string, unknown>;
}

/** `thought` body. */
export interface ThoughtBody {
  text: string;
}

/** `tool_call` body. */
export interface ToolCallBody {
  tool: string;
  args: unknown;
  call_id: string;
}

/** `tool_result` body: exactly one of `result` and `error`. */
export interface ToolResultBody {
  call_id: string;
  result?: unknown;
  error?: ErrorPayload;
}

/** `status` body. */
export interface StatusBody {
  phase: string;
  message?: string;
}

/** `metric` body; `dims` is accepted on receipt as an alias of `dimensions`. */
export interface MetricBody {
  name: string;
  value: number;
  unit?: string;
  dimensions?: Record<string, unknown>;
}

/** `artifact_ref` body. */
export interface ArtifactRefBody {
  uri: string;
  content_type: string;
  byte_size?: number;
  sha256?: string;
}

/** `delegate` body (spec §10.1). */
export interface DelegateBody {
  delegate_id: string;
  agent: string;
  input: unknown;
  lease_request: Lease;
}

/** `progress` body (spec 1.1 §8.2.1). */
export interface ProgressBody {
  /** Non-negative. */
  current: number;
  /** Absent means indeterminate. */
  total?: number;
  units?: string;
  message?: string;
}

/** `result_chunk` body (spec 1.1 §8.4). */
export interface ResultChunkBody {
  result_id: string;
  chunk_seq: number;
  data: string;
  encoding: "utf8" | "base64";
  more: boolean;
}

/** Maps each reserved event kind to its body type. */
export interface EventBodies {
  log: LogBody;
  thought: ThoughtBody;
  tool_call: ToolCallBody;
  tool_result: ToolResultBody;
  status: StatusBody;
  metric: MetricBody;
  artifact_ref: ArtifactRefBody;
  delegate: DelegateBody;
  progress: ProgressBody;
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
  kind: EventKind | (string & Record<never, never>);
  ts: string;
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
