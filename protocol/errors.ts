// This module is browser compatible.
/**
 * The ARCP error taxonomy (spec §12) as one error class.
 *
 * @module
 */

/**
 * The fifteen canonical ARCP error codes of spec §12 (1.0's twelve plus 1.1's
 * `AGENT_VERSION_NOT_AVAILABLE`, `LEASE_EXPIRED` and `BUDGET_EXHAUSTED`).
 *
 * @example Check that a string is a known code
 * ```ts
 * import { ERROR_CODES } from "@arcp/arcp";
 * import assert from "node:assert/strict";
 *
 * assert.ok(ERROR_CODES.includes("LEASE_EXPIRED"));
 * ```
 */
export const ERROR_CODES = [
  "PERMISSION_DENIED",
  "LEASE_SUBSET_VIOLATION",
  "JOB_NOT_FOUND",
  "DUPLICATE_KEY",
  "AGENT_NOT_AVAILABLE",
  "AGENT_VERSION_NOT_AVAILABLE",
  "CANCELLED",
  "TIMEOUT",
  "RESUME_WINDOW_EXPIRED",
  "HEARTBEAT_LOST",
  "LEASE_EXPIRED",
  "BUDGET_EXHAUSTED",
  "INVALID_REQUEST",
  "UNAUTHENTICATED",
  "INTERNAL_ERROR",
] as const;

/** One of the canonical ARCP error codes of spec §12. */
export type ErrorCode = typeof ERROR_CODES[number];

/**
 * The error payload carried on the wire by `session.error`, `job.error` and
 * `tool_result.error` (spec §12).
 */
export interface ErrorPayload {
  /** Canonical code; peers may send vendor codes, which are kept as strings. */
  code: ErrorCode | (string & Record<never, never>);
  /** Human-readable description of what failed. */
  message: string;
  /** Whether a naive retry might succeed (spec §12). */
  retryable: boolean;
  /** Optional, error-specific structured details. */
  details?: Record<string, unknown>;
}

const ALWAYS_RETRYABLE: ReadonlySet<string> = new Set(["INTERNAL_ERROR"]);
const NEVER_RETRYABLE: ReadonlySet<string> = new Set(["LEASE_EXPIRED", "BUDGET_EXHAUSTED"]);
const RETRYABLE_BY_DEFAULT: ReadonlySet<string> = new Set(["INTERNAL_ERROR", "HEARTBEAT_LOST"]);

/**
 * Returns `true` when `value` is one of the canonical codes of spec §12.
 *
 * @param value Any value.
 * @returns Whether `value` is an {@linkcode ErrorCode}.
 * @example Narrow a string
 * ```ts
 * import { isErrorCode } from "@arcp/arcp";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isErrorCode("TIMEOUT"), true);
 * assert.equal(isErrorCode("INTERNAL"), false);
 * ```
 */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/**
 * Applies the retryability rules of spec §12: `LEASE_EXPIRED` and
 * `BUDGET_EXHAUSTED` are never retryable, `INTERNAL_ERROR` always is. Any
 * other code keeps `requested`, or its default (`true` only for
 * `HEARTBEAT_LOST`) when `requested` is `undefined`.
 *
 * @param code The error code.
 * @param requested The retryability the producer asked for, if any.
 * @returns The retryability to put on the wire.
 * @example The fixed rules win over what was asked
 * ```ts
 * import { retryableFor } from "@arcp/arcp";
 * import assert from "node:assert/strict";
 *
 * assert.equal(retryableFor("BUDGET_EXHAUSTED", true), false);
 * assert.equal(retryableFor("INTERNAL_ERROR", false), true);
 * assert.equal(retryableFor("PERMISSION_DENIED"), false);
 * ```
 */
export function retryableFor(code: string, requested?: boolean): boolean {
  if (NEVER_RETRYABLE.has(code)) return false;
  if (ALWAYS_RETRYABLE.has(code)) return true;
  return requested ?? RETRYABLE_BY_DEFAULT.has(code);
}

/** Options of the {@linkcode ArcpError} constructor. */
export interface ArcpErrorOptions {
  /** Whether a retry might succeed; overridden by the fixed rules of spec §12. */
  retryable?: boolean;
  /** Error-specific structured details, sent on the wire. */
  details?: Record<string, unknown>;
  /** The local cause; never sent on the wire. */
  cause?: unknown;
}

/**
 * A protocol error: one of the codes of spec §12 with its message,
 * retryability and details. It is what the SDK throws or rejects with for
 * every failure the peer reported, and what agents throw to end a job with a
 * specific code.
 *
 * @example Throw and inspect
 * ```ts
 * import { ArcpError } from "@arcp/arcp";
 * import assert from "node:assert/strict";
 *
 * const err = new ArcpError("LEASE_EXPIRED", "Lease expired at 20:00:00Z", { retryable: true });
 * assert.equal(err.retryable, false); // §12: never retryable
 * assert.deepEqual(err.toPayload(), {
 *   code: "LEASE_EXPIRED",
 *   message: "Lease expired at 20:00:00Z",
 *   retryable: false,
 * });
 * ```
 */
export class ArcpError extends Error {
  /** The error code; a canonical {@linkcode ErrorCode} unless a peer sent a vendor code. */
  readonly code: ErrorCode | (string & Record<never, never>);
  /** Whether a naive retry might succeed (spec §12). */
  readonly retryable: boolean;
  /** Error-specific details, if any. */
  readonly details: Record<string, unknown> | undefined;

  /**
   * Creates a protocol error; `retryable` is normalised by {@linkcode retryableFor}.
   *
   * @param code The error code (spec §12).
   * @param message What failed, in sentence case without a trailing period.
   * @param options Retryability, details and cause.
   */
  constructor(
    code: ErrorCode | (string & Record<never, never>),
    message: string,
    options: ArcpErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ArcpError";
    this.code = code;
    this.retryable = retryableFor(code, options.retryable);
    this.details = options.details;
  }

  /**
   * The wire form of this error (spec §12), without the local `cause`.
   *
   * @returns An {@linkcode ErrorPayload}.
   */
  toPayload(): ErrorPayload {
    const payload: ErrorPayload = {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
    };
    if (this.details !== undefined) payload.details = this.details;
    return payload;
  }

  /**
   * Builds an error from a wire payload. Lenient: a missing message or
   * retryable flag is filled in, and §12's fixed retryability rules are
   * applied even when the peer sent otherwise.
   *
   * @param payload A `session.error`, `job.error` or `tool_result.error` payload.
   * @returns The equivalent {@linkcode ArcpError}.
   * @example Round-trip
   * ```ts
   * import { ArcpError } from "@arcp/arcp";
   * import assert from "node:assert/strict";
   *
   * const err = ArcpError.fromPayload({ code: "TIMEOUT", message: "Job exceeded 5s", retryable: false });
   * assert.equal(err.code, "TIMEOUT");
   * ```
   */
  static fromPayload(payload: Partial<ErrorPayload> & { code?: unknown }): ArcpError {
    const code = typeof payload.code === "string" ? payload.code : "INTERNAL_ERROR";
    const options: ArcpErrorOptions = {};
    if (typeof payload.retryable === "boolean") options.retryable = payload.retryable;
    if (payload.details !== undefined && payload.details !== null) {
      options.details = payload.details;
    }
    return new ArcpError(
      code,
      typeof payload.message === "string" ? payload.message : code,
      options,
    );
  }

  /**
   * Converts anything thrown into an {@linkcode ArcpError}: an `ArcpError`
   * is returned as is, anything else (an `AbortError` included: only the
   * runtime knows whether the job was cancelled, and it uses the job's own
   * abort reason then) is `INTERNAL_ERROR` with the original as `cause`.
   *
   * @param error Anything that was thrown.
   * @returns An `ArcpError`.
   * @example Wrap a plain Error
   * ```ts
   * import { ArcpError } from "@arcp/arcp";
   * import assert from "node:assert/strict";
   *
   * assert.equal(ArcpError.from(new Error("boom")).code, "INTERNAL_ERROR");
   * ```
   */
  static from(error: unknown): ArcpError {
    if (error instanceof ArcpError) return error;
    if (error instanceof Error) {
      return new ArcpError("INTERNAL_ERROR", error.message || error.name, { cause: error });
    }
    return new ArcpError("INTERNAL_ERROR", String(error), { cause: error });
  }
}

/** Options of the {@linkcode ConnectionClosedError} constructor. */
export interface ConnectionClosedErrorOptions extends ErrorOptions {
  /**
   * The code of the `session.error` the runtime sent before it closed the
   * connection (spec §12), e.g. `HEARTBEAT_LOST` or `RESUME_WINDOW_EXPIRED`.
   */
  code?: ErrorCode | (string & Record<never, never>);
}

/**
 * Thrown locally when an operation needs a transport that has closed. It is
 * never sent on the wire. When the runtime said why it closed the connection
 * (a `session.error` before the close), `code` is that error's code, the
 * message includes its message, and `cause` is the {@linkcode ArcpError}.
 *
 * @example Detect a closed connection
 * ```ts
 * import { ConnectionClosedError } from "@arcp/arcp";
 * import assert from "node:assert/strict";
 *
 * const err = new ConnectionClosedError("Cannot submit: the connection is closed");
 * assert.ok(err instanceof Error);
 * assert.equal(err.code, undefined);
 * ```
 */
export class ConnectionClosedError extends Error {
  /** The code of the runtime's closing `session.error`, if it sent one (spec §12). */
  readonly code: ErrorCode | (string & Record<never, never>) | undefined;

  /**
   * Creates the error.
   *
   * @param message What could not be done, and why.
   * @param options Standard error options, e.g. a `cause`, and the runtime's `code`.
   */
  constructor(message = "The connection is closed", options?: ConnectionClosedErrorOptions) {
    super(message, options);
    this.name = "ConnectionClosedError";
    this.code = options?.code;
  }

  /**
   * The error for a connection the runtime closed after the `session.error`
   * `error`: its code, and a message that quotes the runtime's.
   *
   * @param error The runtime's `session.error`, as an {@linkcode ArcpError}.
   * @param context What was going on, e.g. `"The runtime closed the connection"`.
   * @returns The error, with `error` as its `cause`.
   * @example
   * ```ts
   * import { ArcpError, ConnectionClosedError } from "@arcp/arcp";
   * import assert from "node:assert/strict";
   *
   * const closed = ConnectionClosedError.fromRuntime(
   *   new ArcpError("HEARTBEAT_LOST", "No message from the client for two heartbeat intervals"),
   *   "The runtime closed the connection",
   * );
   * assert.equal(closed.code, "HEARTBEAT_LOST");
   * assert.equal(
   *   closed.message,
   *   "The runtime closed the connection: HEARTBEAT_LOST: No message from the client for two heartbeat intervals",
   * );
   * ```
   */
  static fromRuntime(error: ArcpError, context: string): ConnectionClosedError {
    return new ConnectionClosedError(`${context}: ${error.code}: ${error.message}`, {
      code: error.code,
      cause: error,
    });
  }
}
