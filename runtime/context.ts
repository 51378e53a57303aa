// This module is browser compatible.
/**
 * What an agent is: a plain async function of its input and an
 * {@linkcode AgentContext} (spec §7, §8.2).
 *
 * @module
 */

import type { ArtifactRefBody, ToolResultBody } from "../protocol/events.ts";
import type {
  Credential,
  JobResultPayload,
  Lease,
  LeaseConstraints,
} from "../protocol/messages.ts";
import type { Principal } from "./auth.ts";

/** Optional fields of a `progress` event (spec 1.1 §8.2.1). */
export interface ProgressOptions {
  /** Total units; absent means indeterminate. */
  total?: number;
  /** What is being counted, e.g. `"files"`. */
  units?: string;
  /** What is happening now. */
  message?: string;
}

/** Optional fields of a `metric` event (spec §8.2). */
export interface MetricOptions {
  /** Unit, e.g. `"ms"` or a currency such as `"USD"`. */
  unit?: string;
  /** Free-form dimensions. */
  dimensions?: Record<string, unknown>;
}

/**
 * The job's view of the runtime, handed to the agent. Every emitter assigns
 * the next session `event_seq`, stamps `ts`, logs the event and sends it;
 * each returns a promise that resolves at once unless the session's outbound
 * queue is full, so `await`ing emitters slows a chatty agent to the pace of
 * its store and consumer. Events emitted after the job ended are dropped.
 *
 * The context is a frozen object made once per job, holding this API and
 * nothing else; its methods need no `this`, so they may be destructured.
 */
export interface AgentContext {
  /** The job's id. */
  readonly jobId: string;
  /** The submitting session's id. */
  readonly sessionId: string;
  /** Who submitted the job. */
  readonly principal: Principal;
  /** The resolved agent, `name@version` or the bare name. */
  readonly agent: string;
  /** The resolved version, if the agent is versioned. */
  readonly version: string | undefined;
  /** The effective lease (spec §9). */
  readonly lease: Lease;
  /** The lease constraints (spec 1.1 §9.5). */
  readonly leaseConstraints: LeaseConstraints | undefined;
  /** The job's 32-hex W3C trace-id (spec §11). */
  readonly traceId: string;
  /**
   * Aborted when the job is cancelled (reason: `ArcpError` `CANCELLED`), times
   * out (`TIMEOUT`) or the runtime shuts down (`INTERNAL_ERROR`).
   */
  readonly signal: AbortSignal;
  /** Emits `log {level, message, attributes?}`. */
  log(
    level: "debug" | "info" | "warn" | "error",
    message: string,
    attributes?: Record<string, unknown>,
  ): Promise<void>;
  /** Emits `thought {text}`. */
  thought(text: string): Promise<void>;
  /** Emits `status {phase, message?}`. */
  status(phase: string, message?: string): Promise<void>;
  /** Emits `metric {name, value, unit?, dimensions?}`. */
  metric(name: string, value: number, options?: MetricOptions): Promise<void>;
  /** Emits `progress {current, total?, units?, message?}`; `current` must be non-negative. */
  progress(current: number, options?: ProgressOptions): Promise<void>;
  /** Emits `artifact_ref {uri, content_type, byte_size?, sha256?}`. */
  artifactRef(artifact: ArtifactRefBody): Promise<void>;
  /**
   * Emits `tool_call {tool, args, call_id}` and returns the `call_id` to pass
   * to {@linkcode AgentContext.toolResult}.
   */
  toolCall(tool: string, args: unknown, callId?: string): Promise<string>;
  /** Emits `tool_result {call_id, result}` or `{call_id, error}`. */
  toolResult(callId: string, outcome: Omit<ToolResultBody, "call_id">): Promise<void>;
  /**
   * Emits an event of any kind, e.g. a vendor `x-acme.trace` kind; reserved
   * kinds should use their typed emitter.
   */
  emit(kind: string, body: Record<string, unknown>): Promise<void>;
  /**
   * Checks one authority-bearing operation against the lease, synchronously,
   * before it is dispatched (spec 1.1 §9.3): expiry first, then the budget
   * (for `tool.call`, `fs.*`, `net.fetch`, `agent.delegate`), then the
   * capability's patterns against the canonicalised target.
   *
   * @returns The canonical target to act on (never the raw one).
   * @throws {ArcpError} `LEASE_EXPIRED`, `BUDGET_EXHAUSTED` or `PERMISSION_DENIED`.
   */
  authorize(capability: string, target: string): string;
  /**
   * Runs a tool through the runtime (spec §8.2, §9.3): emits `tool_call`,
   * authorises it (`tool.call` on the tool name unless `options` say
   * otherwise), runs `run`, and emits `tool_result` with its result or
   * error. A refusal becomes a `tool_result` error and is thrown; the job
   * goes on, except that `LEASE_EXPIRED` also ends it (spec 1.1 §9.5).
   *
   * @param tool The tool's name, as `tool_call` carries it.
   * @param run The operation; what it returns is the `tool_result`'s result.
   * @param options The call's `args` and what it is authorised as.
   * @throws {ArcpError} the refusal, or what `run` threw as an `ArcpError`.
   * @example Run a checked tool call
   * ```ts
   * import type { AgentContext } from "@arcp/arcp/runtime";
   *
   * export async function search(query: string, ctx: AgentContext): Promise<string[]> {
   *   return await ctx.tool("search", () => [`results for ${query}`], { args: { query } });
   * }
   * ```
   */
  tool<T>(tool: string, run: () => Promise<T> | T, options?: ToolOptions): Promise<T>;
  /**
   * Runs a tool through the runtime, with its arguments given positionally.
   *
   * @deprecated Pass the arguments as an option instead:
   *   `ctx.tool(tool, run, { args, capability, target })`. This shape will be
   *   removed in the next release.
   */
  tool<T>(
    tool: string,
    args: unknown,
    run: () => Promise<T> | T,
    options?: Omit<ToolOptions, "args">,
  ): Promise<T>;
  /**
   * `fetch` through the lease (`net.fetch`, spec §9.2), as a `net.fetch` tool
   * call, with the job's W3C `traceparent` header (spec §11) and its signal.
   *
   * @throws {ArcpError} `PERMISSION_DENIED`, `LEASE_EXPIRED`, `BUDGET_EXHAUSTED`.
   */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  /**
   * Checks that the job may invoke `model` (spec 1.1 §9.7) before the agent
   * calls it.
   *
   * @throws {ArcpError} `PERMISSION_DENIED`, `LEASE_EXPIRED`.
   */
  useModel(model: string): void;
  /**
   * Streams the job's result instead of returning it inline (spec 1.1 §8.4):
   * what is written (bytes, or text as UTF-8) goes out as ordered
   * `result_chunk` events, and `job.result` then carries `result_id` and
   * `result_size`. Close the writer before returning; a string the agent
   * returns becomes the result's `summary`. One per job.
   *
   * @param options `encoding` of the chunks' data: `base64` (default, any
   *   bytes) or `utf8` (text; chunks never split a character).
   * @throws {TypeError} when called twice.
   */
  resultStream(options?: { encoding?: "utf8" | "base64" }): WritableStream<Uint8Array | string>;
  /**
   * Delegates to a sub-agent (spec §10): emits the `delegate` event and
   * starts a child job in the same session (announced by a `job.accepted`
   * with `parent_job_id` and `delegate_id`), whose lease must be a subset of
   * this job's (spec 1.1 §9.4). The child inherits this job's trace and
   * expiry; its `cost.budget` is carved from this job's remaining budget,
   * and given back when the child is refused. It is cancelled if this job ends first. The outcome is also reported as
   * a `tool_result` whose `call_id` is the `delegate_id`.
   *
   * @param agent The sub-agent, `name` or `name@version`.
   * @param input The child's input.
   * @param options The child's requested lease and constraints.
   * @returns The child's `job.result` payload.
   * @throws {ArcpError} `LEASE_SUBSET_VIOLATION`, `PERMISSION_DENIED`
   *   (`agent.delegate`), `AGENT_NOT_AVAILABLE`, or the child's own error.
   * @example Delegate with part of the budget
   * ```ts
   * import type { AgentContext } from "@arcp/arcp/runtime";
   *
   * export async function research(topic: string, ctx: AgentContext): Promise<unknown> {
   *   const child = await ctx.delegate("summarise", { topic }, {
   *     leaseRequest: { "cost.budget": ["USD:0.40"] },
   *   });
   *   return child.result;
   * }
   * ```
   */
  delegate(agent: string, input?: unknown, options?: DelegateOptions): Promise<JobResultPayload>;
  /**
   * Delegates to a sub-agent, with its lease given positionally.
   *
   * @deprecated Pass the lease as an option instead:
   *   `ctx.delegate(agent, input, { leaseRequest, leaseConstraints })`. This
   *   shape will be removed in the next release.
   */
  delegate(
    agent: string,
    input: unknown,
    leaseRequest: Lease,
    constraints?: LeaseConstraints,
  ): Promise<JobResultPayload>;
  /** Remaining budget per currency (exact decimals), when the lease has `cost.budget`. */
  readonly budget: Readonly<Record<string, string>> | undefined;
  /**
   * The job's provisioned credentials (spec 1.1 §9.8): empty unless the
   * runtime has a provisioner. Present each only to its `endpoint`; they are
   * revoked when the job ends.
   */
  readonly credentials: readonly Credential[];
  /**
   * Rotates a credential (spec 1.1 §9.8.2): the upstream invalidates the old
   * value, and a `status {phase: "credential_rotated"}` event carries the id
   * and new value to the submitter (other observers see it without the value).
   *
   * @returns The credential with its new value.
   * @throws {ArcpError} `INVALID_REQUEST` for an unknown id or a provisioner
   *   that cannot rotate; `INTERNAL_ERROR` when the upstream fails.
   */
  rotateCredential(id: string): Promise<Credential>;
}

/** Options of {@linkcode AgentContext.tool}. */
export interface ToolOptions {
  /**
   * The call's arguments, as `tool_call` carries them (JSON).
   * @default {{}}
   */
  args?: unknown;
  /**
   * The capability the call needs.
   * @default {"tool.call"}
   */
  capability?: string;
  /**
   * The target checked against the capability's patterns.
   * @default {the tool name}
   */
  target?: string;
}

/** Options of {@linkcode AgentContext.delegate} (spec §10), named as in `Client.submit`'s. */
export interface DelegateOptions {
  /**
   * The child's requested lease, as the `delegate` event's `lease_request`:
   * a subset of this job's (spec 1.1 §9.4).
   * @default {{}} (no capabilities)
   */
  leaseRequest?: Lease;
  /** The child's lease constraints, such as an earlier `expires_at` (spec 1.1 §9.5). */
  leaseConstraints?: LeaseConstraints;
}

/**
 * An agent: an async function from input to a JSON-serialisable result. It
 * ends the job with `job.result` when it returns, or `job.error` when it
 * throws (`INTERNAL_ERROR`, or the code of an `ArcpError` it throws).
 */
export type AgentHandler<I = unknown, O = unknown> = (input: I, ctx: AgentContext) => Promise<O>;

/** An agent as registered with a runtime (spec 1.1 §7.5). */
export interface AgentDefinition {
  /** Agent name, `[a-z0-9][a-z0-9._-]*`. */
  name: string;
  /** Version, `[a-zA-Z0-9.+_-]+`; omit for an unversioned agent. */
  version?: string;
  /**
   * Whether a bare name resolves to this version. Without an explicit
   * default, the highest version (numeric-aware order) is the default.
   * @default {false}
   */
  default?: boolean;
  /** The agent function. */
  handler: AgentHandler<never, unknown>;
}

/** What a {@linkcode LeasePolicy} decides on: one job's requested lease. */
export interface LeasePolicyRequest {
  /** Who asks: the submitting principal. */
  principal: Principal;
  /** The resolved agent, `name@version` or the bare name. */
  agent: string;
  /** The lease as requested (validated; for a delegation, already within the parent's). */
  lease: Lease;
  /** The requested lease constraints. */
  leaseConstraints: LeaseConstraints | undefined;
  /** The delegating job, for a delegation (spec §10). */
  parentJobId: string | null;
}

/**
 * A runtime's lease policy (spec 1.1 §9.2): returns the effective lease for
 * a request, which may drop capabilities, patterns or budget but never add
 * any; `job.accepted` echoes the result. A result that is not a subset of
 * the request is refused (the submission fails with `INTERNAL_ERROR`).
 * Throw an `ArcpError` (`PERMISSION_DENIED`) to refuse the job outright.
 *
 * @example Keep every job off the network
 * ```ts
 * import type { LeasePolicy } from "@arcp/arcp/runtime";
 *
 * export const offline: LeasePolicy = ({ lease }) =>
 *   Object.fromEntries(Object.entries(lease).filter(([capability]) => capability !== "net.fetch"));
 * ```
 */
export type LeasePolicy = (request: LeasePolicyRequest) => Lease | Promise<Lease>;

/** One `job.subscribe` decision, for the audit hook (spec 1.1 §14). */
export interface SubscribeAudit {
  /** The subscribing principal. */
  subscriber: string;
  /** The subscribing session. */
  session_id: string;
  /** The target job. */
  job_id: string;
  /** The principal that submitted the job. */
  owner: string;
  /** Whether the subscription was allowed. */
  allowed: boolean;
}
