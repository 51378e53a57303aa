// This module is browser compatible.
// The 1.1 features both sides of this SDK implement (spec 1.1 §6.2): what the
// runtime offers, and with `provisioned_credentials` what the client asks for.
// A runtime offers `provisioned_credentials` only with a provisioner (spec 1.1 §14).

import type { Feature } from "./messages.ts";

export const IMPLEMENTED_FEATURES: readonly Feature[] = [
  "heartbeat",
  "ack",
  "list_jobs",
  "subscribe",
  "lease_expires_at",
  "cost.budget",
  "model.use",
  "progress",
  "result_chunk",
  "agent_versions",
];

/** What the client asks for: everything, credentials included. */
export const CLIENT_FEATURES: readonly Feature[] = [
  ...IMPLEMENTED_FEATURES,
  "provisioned_credentials",
];
