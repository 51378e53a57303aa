// This module is browser compatible.
/**
 * Provisioned credentials (spec 1.1 §9.8): the interface a runtime uses to
 * mint a short-lived, lease-scoped credential at an upstream (an LLM gateway's
 * virtual key, a vendor sub-key, a signed URL) for each job, and to revoke it
 * when the job ends.
 *
 * @module
 */

import type { CredentialConstraints, Lease, LeaseConstraints } from "../protocol/messages.ts";

/** What a {@linkcode CredentialProvisioner} is asked to issue: one credential for one job. */
export interface CredentialRequest {
  /**
   * The credential's id (`cred_` + ULID), chosen and written to the store's
   * ledger before `issue` is called, so a crash mid-issue still leaves a
   * record to revoke by. Key the upstream credential by it.
   */
  credentialId: string;
  /** The job the credential is for. */
  jobId: string;
  /** The submitting principal's id. */
  principal: string;
  /** The resolved agent, `name@version`. */
  agent: string;
  /** The job's effective lease; bake what the upstream can enforce into the credential (§9.8.3). */
  lease: Lease;
  /** The lease's `expires_at`, if any: the credential's TTL should not outlast it. */
  leaseConstraints: LeaseConstraints | undefined;
  /** Remaining budget per currency as exact decimal strings, when the lease has `cost.budget`. */
  budget: Readonly<Record<string, string>> | undefined;
  /** The delegating job, for a delegated one (spec §10). */
  parentJobId: string | null;
}

/** A credential as the upstream issued it; the runtime adds the `id`. */
export interface IssuedCredential {
  /** Authentication scheme; `"bearer"` (the default) is the only one the spec defines. */
  scheme?: string;
  /** The secret material. Never logged, never stored by the runtime. */
  value: string;
  /** The base URL (`http:` or `https:`) the credential is valid at. */
  endpoint: string;
  /** Advisory API dialect at `endpoint`, such as `"openai"`. */
  profile?: string;
  /**
   * What the upstream actually enforces (§9.8.3); see
   * {@linkcode credentialConstraints} for the lease's full mapping.
   */
  constraints?: CredentialConstraints;
}

/** Identifies a credential to revoke or rotate. */
export interface CredentialHandle {
  /** The credential's id, as given to `issue`. */
  credentialId: string;
  /** The job it was issued for. */
  jobId: string;
}

/**
 * A backend that mints and revokes per-job credentials at an upstream
 * (spec 1.1 §9.8). Configuring one on a runtime advertises the
 * `provisioned_credentials` feature; the runtime then guarantees revocation
 * by keeping a durable ledger of outstanding credentials in its store.
 *
 * `revoke` must be idempotent and succeed for an id the upstream never
 * issued (the runtime records an id before asking for it, so after a crash it
 * may revoke one whose issue never completed). A throw counts as a transient
 * failure and is retried with backoff, across restarts too.
 *
 * @example A provisioner over an upstream's key API
 * ```ts
 * import type { CredentialProvisioner } from "@arcp/arcp/runtime";
 *
 * const gateway = "https://gateway.example.com";
 * export const provisioner: CredentialProvisioner = {
 *   async issue(request) {
 *     const response = await fetch(`${gateway}/keys/${request.credentialId}`, { method: "PUT" });
 *     const { key } = await response.json() as { key: string };
 *     return { value: key, endpoint: `${gateway}/v1`, profile: "openai" };
 *   },
 *   async revoke({ credentialId }) {
 *     const response = await fetch(`${gateway}/keys/${credentialId}`, { method: "DELETE" });
 *     if (!response.ok && response.status !== 404) throw new Error(`revoke: ${response.status}`);
 *   },
 * };
 * ```
 */
export interface CredentialProvisioner {
  /**
   * Issues the job's credential, or resolves to `undefined` when this job
   * needs none. A throw rejects the submission with a retryable
   * `INTERNAL_ERROR` (the id is revoked anyway, in case the upstream minted it).
   */
  issue(request: CredentialRequest): Promise<IssuedCredential | undefined>;
  /** Revokes the credential at the upstream; idempotent. */
  revoke(credential: CredentialHandle): Promise<void>;
  /**
   * Replaces the credential's value (for `ctx.rotateCredential`). The upstream
   * must invalidate the prior value by the time this resolves (§9.8.2).
   */
  rotate?(credential: CredentialHandle): Promise<{ value: string }>;
}

/** How revocation failures are retried: exponential backoff with jitter. */
export interface RevocationRetry {
  /** Delay before the first retry, in milliseconds (default 500). */
  initialDelayMs?: number;
  /** Longest delay between attempts, in milliseconds (default 60,000). */
  maxDelayMs?: number;
  /**
   * Attempts before the credential is marked `unrevocable` and reported to
   * `onUnrevocable` (default 10). It stays in the ledger, and every restart
   * tries again.
   */
  maxAttempts?: number;
}

/**
 * The constraint echo of spec 1.1 §9.8.3 for a lease: `cost.budget` as the
 * remaining amount per currency, `model.use` patterns, and `expires_at`.
 * A provisioner returns the subset its upstream really enforces.
 *
 * @param request The job's lease, constraints and remaining budget.
 * @returns The constraints; empty when the lease has none of the three.
 * @example
 * ```ts
 * import { credentialConstraints } from "@arcp/arcp/runtime";
 * import assert from "node:assert/strict";
 *
 * const constraints = credentialConstraints({
 *   lease: { "cost.budget": ["USD:5.00"], "model.use": ["tier-fast/*"] },
 *   leaseConstraints: { expires_at: "2030-01-01T00:00:00Z" },
 *   budget: { USD: "4.5" },
 * });
 * assert.deepEqual(constraints, {
 *   "cost.budget": ["USD:4.5"],
 *   "model.use": ["tier-fast/*"],
 *   expires_at: "2030-01-01T00:00:00Z",
 * });
 * ```
 */
export function credentialConstraints(
  request: Pick<CredentialRequest, "lease" | "leaseConstraints" | "budget">,
): CredentialConstraints {
  const constraints: CredentialConstraints = {};
  if (request.budget !== undefined) {
    constraints["cost.budget"] = Object.entries(request.budget).map(([currency, amount]) =>
      `${currency}:${amount}`
    );
  }
  const models = request.lease["model.use"];
  if (models !== undefined) constraints["model.use"] = [...models];
  const expiresAt = request.leaseConstraints?.expires_at;
  if (expiresAt !== undefined) constraints.expires_at = expiresAt;
  return constraints;
}
