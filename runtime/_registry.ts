// This module is browser compatible.
// Agent registry and version resolution (spec 1.1 §7.5).

import { formatAgentRef, parseAgentRef } from "../protocol/agent_ref.ts";
import { ArcpError } from "../protocol/errors.ts";
import type { AgentInfo } from "../protocol/messages.ts";
import type { AgentDefinition } from "./context.ts";

interface AgentEntry {
  versions: Map<string | undefined, AgentDefinition>;
  explicitDefault: string | undefined;
}

/** A resolved agent: the definition and its `name@version` reference. */
export interface ResolvedAgent {
  definition: AgentDefinition;
  ref: string;
}

const byVersion = new Intl.Collator("en", { numeric: true }).compare;

export class AgentRegistry {
  #agents = new Map<string, AgentEntry>();

  register(definition: AgentDefinition): void {
    const ref = formatAgentRef(definition.name, definition.version);
    let parsed: { name: string; version: string | undefined } | undefined;
    try {
      parsed = parseAgentRef(ref);
    } catch { /* reported below */ }
    if (parsed?.name !== definition.name || parsed.version !== definition.version) {
      throw new TypeError(
        `Cannot register agent "${ref}": the name must match [a-z0-9][a-z0-9._-]* and the version [a-zA-Z0-9.+_-]+ (spec §7.5)`,
      );
    }
    let entry = this.#agents.get(definition.name);
    if (entry === undefined) {
      entry = { versions: new Map(), explicitDefault: undefined };
      this.#agents.set(definition.name, entry);
    }
    if (entry.versions.has(definition.version)) {
      throw new TypeError(`Cannot register agent "${ref}": already registered`);
    }
    entry.versions.set(definition.version, definition);
    if (definition.default) entry.explicitDefault = definition.version;
  }

  #defaultVersion(entry: AgentEntry): string | undefined {
    if (entry.explicitDefault !== undefined) return entry.explicitDefault;
    const versions = [...entry.versions.keys()].filter((v): v is string => v !== undefined);
    return versions.sort(byVersion).at(-1);
  }

  /** Resolves `name` or `name@version`, or throws the spec §7.5 error. */
  resolve(agent: string): ResolvedAgent {
    const { name, version } = parseAgentRef(agent);
    const entry = this.#agents.get(name);
    if (entry === undefined) {
      throw new ArcpError("AGENT_NOT_AVAILABLE", `Agent "${name}" is not registered`, {
        details: { agent },
      });
    }
    const wanted = version ?? this.#defaultVersion(entry);
    const definition = entry.versions.get(wanted);
    if (definition === undefined) {
      throw new ArcpError(
        "AGENT_VERSION_NOT_AVAILABLE",
        `Agent "${agent}" is not available: registered versions are ${
          [...entry.versions.keys()].filter(Boolean).join(", ") || "none"
        }`,
        { details: { agent } },
      );
    }
    return { definition, ref: formatAgentRef(name, definition.version) };
  }

  /** The 1.1 rich inventory of `session.welcome` (spec 1.1 §6.2). */
  inventory(): AgentInfo[] {
    return [...this.#agents].map(([name, entry]) => {
      const info: AgentInfo = {
        name,
        versions: [...entry.versions.keys()].filter((v): v is string => v !== undefined).sort(
          byVersion,
        ),
      };
      const fallback = this.#defaultVersion(entry);
      if (fallback !== undefined) info.default = fallback;
      return info;
    });
  }
}
