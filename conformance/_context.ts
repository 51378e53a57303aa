// This module is browser compatible.
// What a check is given: the target as its first welcome described it, and
// helpers that speak ARCP over raw connections (hello, submit, run a job to
// its end), each connection closed when the check ends.

import { ERROR_CODES, retryableFor } from "../protocol/errors.ts";
import { FEATURES } from "../protocol/messages.ts";
import { CheckSkipped, expect, type Frame, messageId, Wire } from "./_wire.ts";

/** The target as the kit's first welcome described it. */
export interface Target {
  url: string;
  token: string;
  token2: string | undefined;
  /** The effective features: the target's, intersected with every one the kit asks for. */
  features: ReadonlySet<string>;
  /** Agent name → its advertised versions and default (empty for a 1.0 string list). */
  agents: ReadonlyMap<string, { versions: string[]; default: string | undefined }>;
}

/** One job run to its end: its acceptance, its events and its terminal frame. */
export interface JobRun {
  jobId: string;
  accepted: Frame;
  events: Frame[];
  terminal: Frame;
}

/** A payload as a record, or `{}` when it is not an object. */
export function payloadOf(frame: Frame | undefined): Record<string, unknown> {
  const payload = frame?.payload;
  return payload !== null && typeof payload === "object" && !Array.isArray(payload)
    ? payload as Record<string, unknown>
    : {};
}

/** The job a frame is about: its envelope `job_id`, else its payload's. */
export function jobIdOf(frame: Frame): unknown {
  return frame.job_id ?? payloadOf(frame).job_id;
}

/** `frame` in one line, for a failure message. */
export function show(frame: Frame | undefined): string {
  if (frame === undefined) return "a closed connection";
  const text = JSON.stringify(frame);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

const CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/**
 * Checks an error payload (spec 1.0 §12): a canonical `code` among `codes`, a
 * string `message`, a boolean `retryable` that follows §12's rules.
 */
export function expectErrorPayload(frame: Frame | undefined, codes: string[], what: string): void {
  expect(
    frame !== undefined,
    `expected ${what} (${codes.join(" or ")}), but the connection closed`,
  );
  const payload = payloadOf(frame);
  expect(
    typeof payload.code === "string" && codes.includes(payload.code),
    `expected ${what} with code ${codes.join(" or ")}, got ${show(frame)}`,
  );
  expect(CODES.has(payload.code as string), `${payload.code} is not a §12 code`);
  expect(typeof payload.message === "string", `the error has no string "message": ${show(frame)}`);
  expect(
    typeof payload.retryable === "boolean",
    `the error has no boolean "retryable": ${show(frame)}`,
  );
  const code = payload.code as string;
  if (code === "LEASE_EXPIRED" || code === "BUDGET_EXHAUSTED" || code === "INTERNAL_ERROR") {
    expect(
      payload.retryable === retryableFor(code),
      `${code} must be sent with retryable: ${retryableFor(code)} (spec §12), got ${show(frame)}`,
    );
  }
}

/** Expects a `session.error` whose code is one of `codes`. */
export function expectSessionError(frame: Frame | undefined, codes: string[], what: string): void {
  expect(
    frame?.type === "session.error",
    `expected session.error ${codes.join(" or ")} for ${what}, got ${show(frame)}`,
  );
  expectErrorPayload(frame, codes, `session.error for ${what}`);
}

/** The resources and helpers of one check; its connections are closed by {@linkcode CheckContext.dispose}. */
export class CheckContext {
  readonly target: Target;
  readonly signal: AbortSignal;
  readonly #wires: Wire[] = [];

  constructor(target: Target, signal: AbortSignal) {
    this.target = target;
    this.signal = signal;
  }

  /** The connection sent on last, whose exchange a failure reports. */
  get lastWire(): Wire | undefined {
    return this.#wires.reduce<Wire | undefined>(
      (last, wire) => (last === undefined || wire.sentAt > last.sentAt ? wire : last),
      undefined,
    );
  }

  /** Skips the check unless the target hosts every one of `agents`. */
  needAgents(...agents: string[]): void {
    for (const agent of agents) {
      if (!this.target.agents.has(agent)) {
        throw new CheckSkipped(`the target hosts no "${agent}" agent (docs/conformance.md)`);
      }
    }
  }

  /** The second principal's token; skips the check without one. */
  get token2(): string {
    if (this.target.token2 === undefined) throw new CheckSkipped("needs --token2");
    return this.target.token2;
  }

  /** A new connection, closed when the check ends. */
  async open(): Promise<Wire> {
    const wire = await Wire.open(this.target.url, this.signal);
    this.#wires.push(wire);
    return wire;
  }

  /** A `session.hello` payload asking for every feature of spec 1.1 §6.2. */
  helloPayload(token: string | undefined, extra: Record<string, unknown> = {}) {
    return {
      client: { name: "arcp-conformance", version: "1.0.0" },
      auth: token === undefined ? { scheme: "bearer" } : { scheme: "bearer", token },
      capabilities: { encodings: ["json"], features: [...FEATURES] },
      ...extra,
    };
  }

  /** Sends a hello on `wire` and expects `session.welcome`; returns it. */
  async hello(wire: Wire, token = this.target.token): Promise<Frame> {
    wire.send("session.hello", this.helloPayload(token));
    return await this.welcome(wire, "a hello with a valid token");
  }

  /** Expects `session.welcome` next; records its session id. */
  async welcome(wire: Wire, what: string): Promise<Frame> {
    const frame = await wire.next();
    expect(
      frame?.type === "session.welcome",
      `expected session.welcome for ${what}, got ${show(frame)}`,
    );
    expect(
      typeof frame.session_id === "string",
      `session.welcome has no session_id: ${show(frame)}`,
    );
    wire.sessionId = frame.session_id;
    return frame;
  }

  /** A new connection with a session, as `token` (the kit's token by default). */
  async session(token = this.target.token): Promise<Wire> {
    const wire = await this.open();
    await this.hello(wire, token);
    return wire;
  }

  /** Sends `job.submit` and expects `job.accepted` (matched by `request_id` when it carries one). */
  async submit(
    wire: Wire,
    agent: string,
    input: unknown,
    extra: Record<string, unknown> = {},
  ): Promise<{ jobId: string; accepted: Frame }> {
    const id = wire.send("job.submit", { agent, input, ...extra });
    const answer = await wire.until(
      (f) => (f.type === "job.accepted" || f.type === "session.error") && answers(f, id),
      `job.accepted for ${agent}`,
    );
    const accepted = answer.at(-1)!;
    expect(accepted.type === "job.accepted", `${agent} was not accepted: ${show(accepted)}`);
    const jobId = payloadOf(accepted).job_id;
    expect(typeof jobId === "string", `job.accepted has no payload.job_id: ${show(accepted)}`);
    return { jobId, accepted };
  }

  /** Reads `jobId`'s events up to its terminal `job.result` or `job.error`. */
  async finish(wire: Wire, jobId: string): Promise<{ events: Frame[]; terminal: Frame }> {
    const frames = await wire.until(
      (f) => (f.type === "job.result" || f.type === "job.error") && jobIdOf(f) === jobId,
      `the end of job ${jobId}`,
    );
    return {
      events: frames.filter((f) => f.type === "job.event" && jobIdOf(f) === jobId),
      terminal: frames.at(-1)!,
    };
  }

  /** Submits and runs a job to its end. */
  async run(
    wire: Wire,
    agent: string,
    input: unknown,
    extra: Record<string, unknown> = {},
  ): Promise<JobRun> {
    const { jobId, accepted } = await this.submit(wire, agent, input, extra);
    return { jobId, accepted, ...await this.finish(wire, jobId) };
  }

  /** Closes every connection the check opened. */
  dispose(): void {
    for (const wire of this.#wires) wire.close();
  }
}

/** Whether `frame` answers the request `id`: it names it, or names no request at all. */
function answers(frame: Frame, id: string): boolean {
  const requestId = payloadOf(frame).request_id;
  return requestId === undefined || requestId === id;
}

/** A fresh idempotency key. */
export function freshKey(): string {
  return `conformance-${messageId()}`;
}

/** One check of the kit. */
export interface Check {
  /** A stable identifier, e.g. `auth.bad-token`. */
  id: string;
  /** The spec section it checks, e.g. `1.0 §6.1`. */
  section: string;
  /** What it checks, in a few words. */
  title: string;
  /** The feature (spec 1.1 §6.2) the target must advertise; skipped otherwise. */
  feature?: string;
  /** `false` for a SHOULD: its failure is reported but does not fail the run. */
  required?: boolean;
  /** Runs the check; throws a `CheckFailure` (`_wire.ts`) or {@linkcode CheckSkipped}. */
  run(ctx: CheckContext): Promise<void>;
}
