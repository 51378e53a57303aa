// This module is browser compatible.
// A job's authority (spec §9): its effective lease, its expiry and its budget
// counters, checked synchronously before every authority-bearing operation
// is dispatched (spec 1.1 §9.3).

import { BudgetCounters } from "../protocol/budget.ts";
import { ArcpError } from "../protocol/errors.ts";
import { authorize, isExpired } from "../protocol/lease.ts";
import type { Lease, LeaseConstraints } from "../protocol/messages.ts";

/** Operations that spend budget and so stop when it is exhausted (spec 1.1 §9.6). */
const BUDGETED = new Set(["tool.call", "fs.read", "fs.write", "net.fetch", "agent.delegate"]);

export interface AuthorityOptions {
  lease: Lease;
  constraints: LeaseConstraints | undefined;
  /** Milliseconds since the epoch; injectable so tests need not sleep. */
  now: () => number;
  /** Grace after `expires_at` (spec 1.1 §14). */
  expiryGraceMs: number;
  /** Whether a lease without `model.use` forbids every model (spec 1.1 §9.7). */
  requireModelLease: boolean;
}

export class JobAuthority {
  readonly budget: BudgetCounters | undefined;
  readonly #options: AuthorityOptions;

  constructor(options: AuthorityOptions) {
    this.#options = options;
    this.budget = options.lease["cost.budget"] === undefined
      ? undefined
      : new BudgetCounters(options.lease);
  }

  /** Whether the lease has expired (spec 1.1 §9.5). */
  get expired(): boolean {
    const expiresAt = this.#options.constraints?.expires_at;
    return expiresAt !== undefined &&
      isExpired(expiresAt, this.#options.now(), this.#options.expiryGraceMs);
  }

  /** When the lease counts as expired, grace included, in ms since the epoch; `undefined` for none. */
  get expiryMs(): number | undefined {
    const expiresAt = this.#options.constraints?.expires_at;
    return expiresAt === undefined
      ? undefined
      : Date.parse(expiresAt) + this.#options.expiryGraceMs;
  }

  /** The clock leases expire by. */
  nowMs(): number {
    return this.#options.now();
  }

  /** The `LEASE_EXPIRED` error once the lease has expired, else `undefined`. */
  expiredError(): ArcpError | undefined {
    if (!this.expired) return undefined;
    return new ArcpError(
      "LEASE_EXPIRED",
      `Lease expired at ${this.#options.constraints!.expires_at}`,
    );
  }

  /**
   * Decides one operation: returns the canonical target it may act on.
   *
   * @throws {ArcpError} `LEASE_EXPIRED`, `BUDGET_EXHAUSTED` (both never
   *   retryable), or `PERMISSION_DENIED`.
   */
  check(capability: string, target: string): string {
    const expired = this.expiredError();
    if (expired !== undefined) throw expired;
    if (BUDGETED.has(capability) && this.budget?.exhausted()) {
      const spent = this.budget.currencies.filter((currency) =>
        Number(this.budget!.remaining(currency)) <= 0
      );
      throw new ArcpError("BUDGET_EXHAUSTED", `${spent.join(", ")} budget exhausted`);
    }
    if (capability === "model.use" && this.#options.lease["model.use"] === undefined) {
      if (!this.#options.requireModelLease) return target;
    }
    const decision = authorize(this.#options.lease, capability, target);
    if (!decision.allowed) {
      throw new ArcpError(
        "PERMISSION_DENIED",
        `${capability} of "${target}" denied by lease: ${decision.reason}`,
        {
          details: { capability, target },
        },
      );
    }
    return decision.target;
  }
}
