// This module is browser compatible.
// `ctx.delegate`, the parent's side of delegation (spec §10): the `delegate`
// event, then the child started, awaited, and its outcome reported to the
// parent as a `tool_result`.

import { ArcpError } from "../protocol/errors.ts";
import { newId } from "../protocol/ids.ts";
import type { JobErrorPayload, JobResultPayload } from "../protocol/messages.ts";
import { type DelegateRequest, delegateTarget } from "./_delegate.ts";
import { wireError } from "./_wire_error.ts";
import type { RuntimeJob } from "./_job.ts";

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
export async function delegateAndWait(
  parent: RuntimeJob,
  request: Omit<DelegateRequest, "delegateId">,
  options: {
    start(request: DelegateRequest): Promise<RuntimeJob>;
    children: Set<RuntimeJob>;
    /** Where a local failure to start the child is logged, with the id the wire shows. */
    logger: Pick<Console, "error">;
  },
): Promise<JobResultPayload> {
  const { agent, input, leaseRequest, constraints } = request;
  const delegateId = newId("del");
  await parent.emit("delegate", {
    delegate_id: delegateId,
    agent,
    input: input ?? null,
    lease_request: leaseRequest,
  });
  let child: RuntimeJob;
  try {
    parent.authorize("agent.delegate", delegateTarget(agent));
    child = await options.start({ agent, input, leaseRequest, constraints, delegateId });
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
  const onAbort = () => stopped.resolve();
  parent.signal.addEventListener("abort", onAbort, { once: true });
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
