// This module is browser compatible.
// The typed emitters of a job's context (spec §8.2): each shapes the body of
// one event kind and hands it to `emit`, which the job implements. `tool`
// brackets an operation with its `tool_call` and `tool_result` events; a cost
// `metric` spends from the job's budget (spec 1.1 §9.6).

import { ArcpError } from "../protocol/errors.ts";
import type { ToolResultBody } from "../protocol/events.ts";
import { newId } from "../protocol/ids.ts";
import type { BudgetCounters } from "../protocol/budget.ts";
import type { MetricOptions, ProgressOptions, ToolOptions } from "./context.ts";
import { encodedLength } from "./_job_payload.ts";
import type { JobTrace } from "./_telemetry.ts";

/** `ctx.tool`'s options, and who is told the `traceparent` of the call's span (`ctx.fetch` sends it on). */
export type ToolCallOptions = Omit<ToolOptions, "args"> & { traceparent?: (value: string) => void };

/** A rejected promise that is already handled: agents that do not await emitters must not crash the process. */
export function refused(error: Error): Promise<void> {
  const promise = Promise.reject(error);
  promise.catch(() => {});
  return promise;
}

/** The typed emitters of `AgentContext`, built on `emit`: `RuntimeJob` extends it. */
export abstract class JobEmitters {
  readonly #budget: BudgetCounters | undefined;

  /** @param budget The job's budget counters, when its lease has `cost.budget`. */
  constructor(budget: BudgetCounters | undefined) {
    this.#budget = budget;
  }

  /** Emits one `job.event` of `kind` with `body`. */
  abstract emit(kind: string, body: Record<string, unknown>): Promise<void>;
  /** Checks `capability` on `target` against the job's lease; returns the canonical target. */
  abstract authorize(capability: string, target: string): string;
  /** The job's span: each tool call gets a span under it. */
  abstract get trace(): JobTrace;

  log(
    level: "debug" | "info" | "warn" | "error",
    message: string,
    attributes?: Record<string, unknown>,
  ): Promise<void> {
    return this.emit(
      "log",
      attributes === undefined ? { level, message } : { level, message, attributes },
    );
  }

  thought(text: string): Promise<void> {
    return this.emit("thought", { text });
  }

  status(phase: string, message?: string): Promise<void> {
    return this.emit("status", message === undefined ? { phase } : { phase, message });
  }

  metric(name: string, value: number, options: MetricOptions = {}): Promise<void> {
    const budget = this.#budget;
    const { unit } = options;
    if (
      budget === undefined || !name.startsWith("cost.") || unit === undefined ||
      !budget.currencies.includes(unit)
    ) {
      return this.emit("metric", { name, value, ...options });
    }
    // A cost in a budgeted currency (spec 1.1 §9.6): negative or non-finite
    // values are refused and decrement nothing.
    if (!(value >= 0) || !Number.isFinite(value)) {
      return refused(
        new RangeError(
          `Cannot report ${name}: a cost must be a finite non-negative number, got ${value}`,
        ),
      );
    }
    budget.spend(unit, value);
    const reported = this.emit("metric", { name, value, ...options });
    if (value === 0) return reported;
    return this.emit("metric", {
      name: "cost.budget.remaining",
      value: budget.remainingNumber(unit)!,
      unit,
    });
  }

  async tool<T>(
    tool: string,
    args: unknown,
    run: () => Promise<T> | T,
    options: ToolCallOptions = {},
  ): Promise<T> {
    const callId = await this.toolCall(tool, args);
    const span = this.trace.tool(tool, callId, options.target);
    let result: T;
    try {
      this.authorize(options.capability ?? "tool.call", options.target ?? tool);
      const traceparent = span.traceparent();
      if (traceparent !== undefined) options.traceparent?.(traceparent);
      result = await run();
    } catch (error) {
      const failure = ArcpError.from(error);
      span.end(failure);
      await this.toolResult(callId, { error: failure.toPayload() });
      // An expired lease ends the job once the agent has been told (spec 1.1 §9.5).
      throw failure;
    }
    span.end();
    const length = encodedLength(result);
    await this.toolResult(
      callId,
      typeof length === "string" ? { result: String(result) } : { result: result ?? null },
    );
    return result;
  }

  progress(current: number, options: ProgressOptions = {}): Promise<void> {
    if (!(current >= 0)) {
      return refused(
        new RangeError(`Cannot emit progress: current must be non-negative, got ${current}`),
      );
    }
    return this.emit("progress", { current, ...options });
  }

  artifactRef(
    artifact: { uri: string; content_type: string; byte_size?: number; sha256?: string },
  ): Promise<void> {
    return this.emit("artifact_ref", { ...artifact });
  }

  async toolCall(tool: string, args: unknown, callId: string = newId("call")): Promise<string> {
    await this.emit("tool_call", { tool, args, call_id: callId });
    return callId;
  }

  toolResult(callId: string, outcome: Omit<ToolResultBody, "call_id">): Promise<void> {
    return this.emit("tool_result", { call_id: callId, ...outcome });
  }
}
