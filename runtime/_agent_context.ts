// This module is browser compatible.
// What an agent is handed: a frozen object holding the documented
// `AgentContext` API and nothing else. The job behind it (its abort, budget
// moves, credentials, record and session) is reached only through closures
// and a #private field, which no cast or reflection on the context can open.
// It also maps the deprecated positional shapes of `tool` and `delegate` onto
// the current ones.

import type { JobResultPayload, Lease, LeaseConstraints } from "../protocol/messages.ts";
import type { AgentContext, DelegateOptions, ToolOptions } from "./context.ts";
import type { ToolCallOptions } from "./_job_emitters.ts";

/** What the context needs of its job: the public API, with `tool` and `delegate` in one shape. */
export interface ContextSource extends Omit<AgentContext, "tool" | "delegate"> {
  /** Runs `run` as one checked tool call with `args`. */
  tool<T>(
    tool: string,
    args: unknown,
    run: () => Promise<T> | T,
    options: ToolCallOptions,
  ): Promise<T>;
  /** Delegates to `agent` with the requested lease. */
  delegate(
    agent: string,
    input: unknown,
    leaseRequest: Lease,
    constraints: LeaseConstraints | undefined,
  ): Promise<JobResultPayload>;
}

/** The keys of {@linkcode DelegateOptions}: a third argument with no other key is one. */
const DELEGATE_OPTIONS: ReadonlySet<string> = new Set(["leaseRequest", "leaseConstraints"]);

/**
 * A deep copy of a plain JSON-like value, frozen: the agent may read the
 * job's lease and principal but not change what the runtime checks against.
 * Values that are not plain objects or arrays are kept as they are.
 */
function frozenCopy<T>(value: T): T {
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy)) as T;
  if (
    value === null || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype
  ) {
    return value;
  }
  const copy: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) copy[key] = frozenCopy(member);
  return Object.freeze(copy) as T;
}

/**
 * The arguments of `ctx.tool` after its name, as `[args, run, options]`:
 * `(run, options?)`, or the deprecated `(args, run, options?)` (told apart
 * by whether the first is the function to run; arguments are JSON, never one).
 */
function toolArguments(
  rest: unknown[],
): [unknown, () => unknown, Omit<ToolOptions, "args">] {
  const [first, second, third] = rest;
  if (typeof first === "function") {
    const { args = {}, ...options } = (second ?? {}) as ToolOptions;
    return [args, first as () => unknown, options];
  }
  return [first, second as () => unknown, (third ?? {}) as Omit<ToolOptions, "args">];
}

/**
 * The lease arguments of `ctx.delegate` after its input: an options object,
 * or the deprecated `(leaseRequest, constraints?)` (a lease's keys are
 * capabilities, never only `leaseRequest`/`leaseConstraints`).
 */
function delegateArguments(rest: unknown[]): [Lease, LeaseConstraints | undefined] {
  const [first, second] = rest;
  const isOptions = rest.length < 2 && (first === undefined ||
    (typeof first === "object" && first !== null &&
      Object.keys(first).every((key) => DELEGATE_OPTIONS.has(key))));
  if (!isOptions) return [first as Lease, second as LeaseConstraints | undefined];
  const options = (first ?? {}) as DelegateOptions;
  return [options.leaseRequest ?? {}, options.leaseConstraints];
}

/** Returns the object it is given, so that a subclass adds its fields to that object. */
class Given {
  constructor(object: object) {
    return object;
  }
}

/**
 * Holds a context's job in a #private field added to the context itself:
 * no reflection on the context reaches it, and only this module reads it.
 */
class JobField extends Given {
  readonly #job: ContextSource;

  constructor(context: object, job: ContextSource) {
    super(context);
    this.#job = job;
  }

  /** The job of `context`; a TypeError for an object that is not a context. */
  static of(context: object): ContextSource {
    return (context as JobField).#job;
  }
}

/**
 * The live members of every context, read from its job at each access:
 * getters on one frozen prototype (an object literal's own getters would give
 * each context a shape of its own), over the plain object prototype.
 */
const LIVE_MEMBERS = Object.freeze({
  get budget(): AgentContext["budget"] {
    return JobField.of(this).budget;
  },
  get credentials(): AgentContext["credentials"] {
    return JobField.of(this).credentials;
  },
});

/**
 * Makes the context `job`'s agent is handed: built once per job and frozen,
 * with copies of the lease and principal, and methods bound to the job.
 */
export function agentContext(job: ContextSource): AgentContext {
  const tool = (name: string, ...rest: unknown[]) => job.tool(name, ...toolArguments(rest));
  const delegate = (agent: string, input?: unknown, ...rest: unknown[]) =>
    job.delegate(agent, input, ...delegateArguments(rest));
  const context = {
    __proto__: LIVE_MEMBERS,
    jobId: job.jobId,
    sessionId: job.sessionId,
    principal: frozenCopy(job.principal),
    agent: job.agent,
    version: job.version,
    lease: frozenCopy(job.lease),
    leaseConstraints: frozenCopy(job.leaseConstraints),
    traceId: job.traceId,
    signal: job.signal,
    log: (level, message, attributes) => job.log(level, message, attributes),
    thought: (text) => job.thought(text),
    status: (phase, message) => job.status(phase, message),
    metric: (name, value, options) => job.metric(name, value, options),
    progress: (current, options) => job.progress(current, options),
    artifactRef: (artifact) => job.artifactRef(artifact),
    toolCall: (tool, args, callId) => job.toolCall(tool, args, callId),
    toolResult: (callId, outcome) => job.toolResult(callId, outcome),
    emit: (kind, body) => job.emit(kind, body),
    authorize: (capability, target) => job.authorize(capability, target),
    tool: tool as AgentContext["tool"],
    fetch: (input, init) => job.fetch(input, init),
    useModel: (model) => job.useModel(model),
    resultStream: (options) => job.resultStream(options),
    delegate: delegate as AgentContext["delegate"],
    rotateCredential: (id) => job.rotateCredential(id),
  } as Omit<AgentContext, "budget" | "credentials">;
  new JobField(context, job);
  return Object.freeze(context) as AgentContext;
}
