// Helpers shared by the scenario files.

import assert from "node:assert/strict";
import { ArcpError } from "../../protocol/errors.ts";
import type { AgentContext, AgentDefinition } from "../../runtime.ts";
import type { Frame } from "../../transports/types.ts";
import { aborted, envelope, type RawConnection, type TransportKind } from "../_helpers.ts";

/** A scenario: the behaviour it proves, as a test name, and its body for one transport. */
export interface Scenario {
  name: string;
  run(kind: TransportKind): Promise<void>;
}

/** An `assert.rejects` validator: the error is an ArcpError with `code`. */
export function isArcpError(code: string): (error: unknown) => boolean {
  return (error: unknown): boolean => {
    assert.ok(error instanceof ArcpError, `expected an ArcpError, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    return true;
  };
}

/** A frame's payload as a plain record. */
export function payloadOf(frame: Frame): Record<string, unknown> {
  return frame.payload as Record<string, unknown>;
}

/** A `session.resume` frame for the session `raw` holds. */
export function resumeOf(raw: RawConnection, lastEventSeq: number): Frame {
  return envelope("session.resume", {
    session_id: raw.sessionId,
    resume_token: raw.resumeToken,
    last_event_seq: lastEventSeq,
  });
}

/** The event_seq of every sequenced frame, in order. */
export function seqsOf(frames: readonly Frame[]): number[] {
  return frames.filter((f) => typeof f.event_seq === "number").map((f) => f.event_seq as number);
}

/** Whether a frame ends its job. */
export function isTerminal(frame: Frame): boolean {
  return frame.type === "job.result" || frame.type === "job.error";
}

/** Runs `echo` on a raw connection and checks it succeeds: the session still works. */
export async function assertSessionWorks(raw: RawConnection): Promise<void> {
  const frames = await raw.run("echo", { still: "works" });
  const terminal = frames.at(-1)!;
  assert.equal(terminal.type, "job.result", JSON.stringify(terminal));
  assert.deepEqual(payloadOf(terminal).result, { echoed: { still: "works" }, version: "2.0.0" });
}

/** An agent that says when it started and then waits for the test to release it. */
export function gatedAgent(name: string) {
  const started = Promise.withResolvers<AgentContext>();
  const release = Promise.withResolvers<void>();
  const finished = Promise.withResolvers<{ aborted: boolean; emitErrors: unknown[] }>();
  const definition: AgentDefinition = {
    name,
    async handler(_input: unknown, ctx) {
      started.resolve(ctx);
      const emitErrors: unknown[] = [];
      await ctx.log("info", "before").catch((e) => emitErrors.push(e));
      await release.promise;
      for (let i = 1; i <= 3; i++) {
        await ctx.progress(i, { total: 3 }).catch((e) => emitErrors.push(e));
      }
      finished.resolve({ aborted: ctx.signal.aborted, emitErrors });
      return { finished: true };
    },
  };
  return { definition, started, release, finished };
}

/** An agent that waits for its signal and ends with the abort reason. */
export function abortableAgent(name: string) {
  const started = Promise.withResolvers<void>();
  const reason = Promise.withResolvers<unknown>();
  const definition: AgentDefinition = {
    name,
    async handler(_input: unknown, ctx) {
      started.resolve();
      const why = await aborted(ctx.signal);
      reason.resolve(why);
      throw why;
    },
  };
  return { definition, started, reason };
}

export function inSession(raw: RawConnection, frame: Frame): Frame {
  return { ...frame, session_id: raw.sessionId };
}

/** Input of {@linkcode pausingAgent}. */
export interface PausingInput {
  /** Progress events to emit, `current` 1 to `n`. */
  n: number;
  /** After emitting these `current` values, wait for the test's release, in order. */
  pauses?: number[];
}

/**
 * `name` (default `stream`): emits `progress` 1 to `n`, pausing after each
 * value in `pauses` until the test releases that pause; returns `{ n }`.
 * Pauses are numbered from 0 across every job of the agent, in the order
 * they are reached.
 */
export function pausingAgent(name = "stream") {
  const gates: PromiseWithResolvers<void>[] = [];
  const reached: PromiseWithResolvers<void>[] = [];
  const gate = (list: PromiseWithResolvers<void>[], index: number) =>
    list[index] ??= Promise.withResolvers<void>();
  const state = { runs: 0, finished: 0, pauses: 0, emitErrors: [] as unknown[] };
  const definition: AgentDefinition = {
    name,
    async handler(input: unknown, ctx) {
      state.runs++;
      const { n, pauses = [] } = input as PausingInput;
      for (let i = 1; i <= n; i++) {
        await ctx.progress(i, { total: n }).catch((e) => state.emitErrors.push(e));
        if (pauses.includes(i)) {
          const index = state.pauses++;
          gate(reached, index).resolve();
          await gate(gates, index).promise;
        }
      }
      state.finished++;
      return { n };
    },
  };
  return {
    definition,
    /** How many jobs started and finished, pauses reached, and what emitters threw. */
    state,
    /** Resolves once a job reached pause `index` (0-based). */
    paused: (index: number): Promise<void> => gate(reached, index).promise,
    /** Lets a job carry on past pause `index`. */
    release: (index: number): void => gate(gates, index).resolve(),
  };
}

/** The `current` of every `progress` event among `frames`. */
export function progressOf(frames: readonly Frame[]): number[] {
  return frames
    .filter((f) => f.type === "job.event" && payloadOf(f).kind === "progress")
    .map((f) => (payloadOf(f).body as { current: number }).current);
}

/** `[from, from + 1, …, to]`. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
