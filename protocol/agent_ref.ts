// This module is browser compatible.
/**
 * The agent reference grammar of spec 1.1 §7.5: `name` or `name@version`.
 *
 * @module
 */

import { ArcpError } from "./errors.ts";

/** A parsed agent reference. */
export interface AgentRef {
  /** Agent name, `[a-z0-9][a-z0-9._-]*`. */
  name: string;
  /** Pinned version, `[a-zA-Z0-9.+_-]+`, or `undefined` for the default. */
  version: string | undefined;
}

const AGENT_REF = /^([a-z0-9][a-z0-9._-]*)(?:@([a-zA-Z0-9.+_-]+))?$/;

/**
 * Parses `name` or `name@version` (spec 1.1 §7.5).
 *
 * @param ref The `agent` field of a `job.submit`.
 * @returns The name and optional version.
 * @throws {ArcpError} `INVALID_REQUEST` when `ref` does not follow the grammar.
 * @example
 * ```ts
 * import { parseAgentRef } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseAgentRef("echo@1.0.0"), { name: "echo", version: "1.0.0" });
 * assert.deepEqual(parseAgentRef("echo"), { name: "echo", version: undefined });
 * assert.throws(() => parseAgentRef("Echo@"));
 * ```
 */
export function parseAgentRef(ref: string): AgentRef {
  const match = AGENT_REF.exec(ref);
  if (match === null) {
    throw new ArcpError(
      "INVALID_REQUEST",
      `Invalid agent "${ref}": expected name or name@version (spec §7.5)`,
      { details: { agent: ref } },
    );
  }
  return { name: match[1]!, version: match[2] };
}

/**
 * Formats a resolved agent as it appears in `job.accepted` and listings:
 * `name@version`, or the bare name for an unversioned agent.
 *
 * @param name Agent name.
 * @param version Resolved version, if any.
 * @returns The reference string.
 * @example
 * ```ts
 * import { formatAgentRef } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatAgentRef("echo", "2.0.0"), "echo@2.0.0");
 * ```
 */
export function formatAgentRef(name: string, version: string | undefined): string {
  return version === undefined ? name : `${name}@${version}`;
}
