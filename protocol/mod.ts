// This module is browser compatible.
/**
 * Protocol code shared by the client and the runtime: wire types, envelope
 * validation, errors, identifiers, agent references and trace context.
 *
 * @example Decode a frame
 * ```ts
 * import { decodeMessage } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const m = decodeMessage({ arcp: "1.1", id: "m1", type: "session.ping", session_id: "s", payload: { nonce: "n" } });
 * assert.equal(m?.type, "session.ping");
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./messages.ts";
export * from "./events.ts";
export { decodeMessage, encodeMessage } from "./envelope.ts";
export type { EnvelopeFields, Message, MessagePayloads, MessageType } from "./envelope.ts";
export {
  newId,
  newJobId,
  newMessageId,
  newResumeToken,
  newSessionId,
  newSpanId,
  newTraceId,
} from "./ids.ts";
export { type AgentRef, formatAgentRef, parseAgentRef } from "./agent_ref.ts";
export { artifactRef, type ArtifactRefOptions } from "./artifact.ts";
export { parseTraceId } from "./trace.ts";
export { globToRegExp, isGlobSubset } from "./glob.ts";
export {
  assertLeaseSubset,
  authorize,
  effectiveExpiry,
  isExpired,
  isLeaseSubset,
  leaseAllows,
  type LeaseDecision,
  type LeaseSubsetContext,
  type LeaseSubsetResult,
  type LeaseValidation,
  RESERVED_CAPABILITIES,
  type ReservedCapability,
  validateExpiresAt,
  validateLease,
  type ValidateLeaseOptions,
} from "./lease.ts";
export { canonicalizePath, canonicalizeTarget, canonicalizeUrl } from "./canonical.ts";
export {
  type Amount,
  BudgetCounters,
  type BudgetCountersOptions,
  formatAmount,
  numberToDecimal,
  parseAmount,
} from "./budget.ts";
export { SDK_NAME, SDK_VERSION } from "./version.ts";
