// This module is browser compatible.
// `ctx.delegate`, the parent's side of delegation (spec §10): the `delegate`
// event, then the child started, awaited, and its outcome reported to the
// parent as a `tool_result`.

import { parseAgentRef } from "../protocol/agent_ref.ts";
import { ArcpError } from "../protocol/errors.ts";
import { newId } from "../protocol/ids.ts";
import type { ToolResultBody } from "../protocol/events.ts";
import type {
  JobErrorPayload,
  JobResultPayload,
  Lease,
  LeaseConstraints,
} from "../protocol/messages.ts";
import type { JobRecord } from "../store/types.ts";
import { wireError } from "./_wire_error.ts";
import type { JobTrace } from "./_telemetry.ts";
import type { Context } from "@opentelemetry/api";

/** What `ctx.delegate` asks for. */
export interface DelegateRequest {
  agent: string;
  input: unknown;
  leaseRequest: Lease;
  constraints: LeaseConstraints | undefined;
  delegateId: string;
  /** The delegation's span: the child job's goes under it. */
  traceParent: Context;
}

/** What delegation uses of the parent job (see `RuntimeJob`). */
export interface DelegatingJob {
  readonly jobId: string;
  readonly signal: AbortSignal;
  readonly trace: JobTrace;
  emit(kind: string, body: Record<string, unknown>): Promise<void>;
  authorize(capability: string, target: string): string;
  toolResult(callId: string, outcome: Omit<ToolResultBody, "call_id">): Promise<void>;
}

/** What delegation uses of the child job (see `RuntimeJob`). */
export interface DelegatedJob {
  readonly jobId: string;
  readonly terminal: boolean;
  readonly settled: Promise<void>;
  abort(reason: ArcpError): void;
  record(): JobRecord;
}

/** The name an `agent.delegate` pattern is matched against: the agent without its version. */
export function delegateTarget(agent: string): string {
  return parseAgentRef(agent).name;
}

/** How a parent starts and holds its children. */
interface DelegationOptions<Child> {
  start(request: DelegateRequest): Promise<Child>;
  children: Set<Child>;
  /** Where a local failure to start the child is logged, with the id the wire shows. */
  logger: Pick<Console, "error">;
}

/**
 * Delegates `request` from `parent` and waits for the child: `start` starts
 * it, and `children` holds it while it runs. A stopped parent stops waiting
 * at once and cancels the child.
 *
 * @returns The child's `job.result` payload.
 * @throws {ArcpError} The child's error, or the refusal to start it
 *   (`PERMISSION_DENIED`, `LEASE_SUBSET_VIOLATION`, `AGENT_NOT_AVAILABLE`,
 *   …); the parent's abort reason when it was stopped.
 */
export async function delegateAndWait<Child extends DelegatedJob>(
  parent: DelegatingJob,
  request: Omit<DelegateRequest, "delegateId" | "traceParent">,
  options: DelegationOptions<Child>,
): Promise<JobResultPayload> {
  const delegateId = newId("del");
  const span = parent.trace.delegation(request.agent, delegateId);
  try {
    const result = await delegated(
      parent,
      { ...request, delegateId, traceParent: span.context },
      options,
    );
    span.end();
    return result;
  } catch (error) {
    span.end(error);
    throw error;
  }
}

/** {@linkcode delegateAndWait} once the delegation has its id and span (in `request`). */
async function delegated<Child extends DelegatedJob>(
  parent: DelegatingJob,
  request: DelegateRequest,
  options: DelegationOptions<Child>,
): Promise<JobResultPayload> {
  const { agent, input, leaseRequest, delegateId } = request;
  await parent.emit("delegate", {
    delegate_id: delegateId,
    agent,
    input: input ?? null,
    lease_request: leaseRequest,
  });
  let child: Child;
  try {
    parent.authorize("agent.delegate", delegateTarget(agent));
    child = await options.start(request);
  } catch (error) {
    // Refusals reach the parent as a tool_result, never the session (spec 1.0 §10.2).
    // The agent runs here and sees the cause; the wire sees only a refusal
    // the runtime meant, or a generic error with an id (see _wire_error.ts).
    const failure = ArcpError.from(error);
    const shown = wireError(error, options.logger, `cannot delegate from job ${parent.jobId}`);
    await parent.toolResult(delegateId, { error: shown.toPayload() });
    throw failure;
  }
  options.children.add(child);
  // A cancelled parent stops waiting at once; its end cancels the child.
  const stopped = Promise.withResolvers<void>();
  // The agent holds this signal: an "abort" event it dispatches itself is no abort.
  const onAbort = () => {
    if (parent.signal.aborted) stopped.resolve();
  };
  parent.signal.addEventListener("abort", onAbort);
  await Promise.race([child.settled, stopped.promise]);
  parent.signal.removeEventListener("abort", onAbort);
  if (!child.terminal) {
    child.abort(new ArcpError("CANCELLED", `Parent job ${parent.jobId} was stopped`));
    throw parent.signal.reason;
  }
  options.children.delete(child);
  const terminal = child.record().terminal!;
  if (terminal.type === "job.result") {
    const payload = terminal.payload as JobResultPayload;
    await parent.toolResult(delegateId, { result: { job_id: child.jobId, ...payload } });
    return payload;
  }
  const failure = ArcpError.fromPayload(terminal.payload as JobErrorPayload);
  await parent.toolResult(delegateId, { error: failure.toPayload() });
  throw failure;
}
