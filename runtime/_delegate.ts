// This module is browser compatible.
// Delegation (spec §10, 1.1 §9.4): a running job starts a child job in its
// own session, with a lease that must be a subset of its own, inheriting its
// trace and expiry, with a budget carved from what the parent has left.

import { ArcpError } from "../protocol/errors.ts";
import { newJobId } from "../protocol/ids.ts";
import {
  effectiveExpiry,
  isLeaseSubset,
  validateExpiresAt,
  validateLease,
} from "../protocol/lease.ts";
import { parseAmount } from "../protocol/budget.ts";
import { isoAt } from "../protocol/clock.ts";
import type { RuntimePolicies, RuntimeServices } from "./_core.ts";
import type { JobIdentity, RuntimeJob } from "./_job.ts";
import type { DelegateRequest } from "./_job_delegate.ts";
import type { Context } from "@opentelemetry/api";

/** What delegation reads of the runtime. */
export interface DelegateScope
  extends
    Pick<RuntimeServices, "registry" | "runningJobs">,
    Pick<RuntimePolicies, "now" | "clock"> {}
/** Starts a child job in its parent's session (see `startJob`). */
export type StartChild = (
  spec: JobIdentity & { parent: { job: RuntimeJob; delegateId: string }; traceParent: Context },
) => Promise<RuntimeJob>;

/**
 * Validates a delegation and starts the child job with `startJob`.
 *
 * @throws {ArcpError} `LEASE_SUBSET_VIOLATION` for a lease, budget or expiry
 *   wider than the parent's; `AGENT_NOT_AVAILABLE`,
 *   `AGENT_VERSION_NOT_AVAILABLE`, `INVALID_REQUEST`.
 */
export async function delegateJob(
  core: DelegateScope,
  parent: RuntimeJob,
  request: DelegateRequest,
  startJob: StartChild,
): Promise<RuntimeJob> {
  const { definition, ref } = core.registry.resolve(request.agent);
  const { lease } = validateLease(request.leaseRequest, { field: "lease_request" });
  if (request.constraints?.expires_at !== undefined) {
    validateExpiresAt(request.constraints.expires_at, core.now());
  }
  const budget = parent.budget;
  const subset = isLeaseSubset(lease, parent.lease, {
    ...(budget === undefined ? {} : { parentRemaining: budget }),
    ...(request.constraints === undefined ? {} : { childConstraints: request.constraints }),
    ...(parent.leaseConstraints === undefined
      ? {}
      : { parentConstraints: parent.leaseConstraints }),
  });
  if (!subset.ok) {
    throw new ArcpError(
      "LEASE_SUBSET_VIOLATION",
      `Delegation to "${request.agent}" widens the lease: ${subset.reason}`,
      {
        details: { capability: subset.capability, pattern: subset.pattern },
      },
    );
  }
  // Refused before the carve-out when it can be; startJob counts the child
  // with no await in between.
  core.runningJobs.check(parent.principal.id);
  // Carved out now, so a concurrent delegation is checked against what is
  // left; given back if the child is refused later (lease policy,
  // credential, store): what the child may spend, the parent no longer can.
  const carved = (lease["cost.budget"] ?? []).map(parseAmount);
  for (const { currency, value } of carved) parent.spendBudget(currency, value);
  const expiresAt = effectiveExpiry(request.constraints, parent.leaseConstraints);
  try {
    return await startJob({
      id: newJobId(),
      definition,
      agent: ref,
      input: request.input ?? null,
      lease,
      leaseConstraints: expiresAt === undefined ? undefined : { expires_at: expiresAt },
      // Delegated jobs inherit the parent's trace (spec 1.0 §10.3).
      traceId: parent.traceId,
      // Its span goes under the delegation's, in the parent's span.
      traceParent: request.traceParent,
      maxRuntimeSec: undefined,
      createdAt: isoAt(core.clock),
      idempotencyKey: undefined,
      parent: { job: parent, delegateId: request.delegateId },
    });
  } catch (error) {
    // A child startJob refused never started, so it spends nothing.
    for (const { currency, value } of carved) parent.refundBudget(currency, value);
    throw error;
  }
}
