// This module is browser compatible.
// The 1.1 features both sides of this SDK implement (spec 1.1 §6.2): what the
// client asks for and the runtime offers. `provisioned_credentials` is offered
// only by a runtime configured to provision them (spec 1.1 §14).

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
