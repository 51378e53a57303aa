// This module is browser compatible.
/**
 * The ARCP client: connect to a runtime, submit jobs, stream their events,
 * cancel them (spec §6, §7, §8).
 *
 * @example Submit a job and stream it
 * ```ts ignore
 * import { connect } from "@arcp/arcp/client";
 *
 * await using client = await connect("ws://127.0.0.1:7777/arcp", { token: "s3cret" });
 * const job = await client.submit("count", { n: 3 });
 * for await (const event of job) console.log(event.payload.kind, event.payload.body);
 * console.log(await job.result);
 * ```
 *
 * @module
 */

import {
  decodeMessage,
  encodeMessage,
  type Message,
  type MessagePayloads,
} from "./protocol/envelope.ts";
import { ArcpError, ConnectionClosedError } from "./protocol/errors.ts";
import type { JobEvent } from "./protocol/events.ts";
import type {
  AgentInfo,
  Envelope,
  Feature,
  JobAcceptedPayload,
  Lease,
  LeaseConstraints,
  PeerInfo,
  SessionWelcomePayload,
} from "./protocol/messages.ts";
import { SDK_NAME, SDK_VERSION } from "./protocol/version.ts";
import { type Frame, MalformedFrame, type Transport } from "./transports/types.ts";
import { webSocketTransport } from "./transports/websocket.ts";
import { type CancelOptions, JobHandle } from "./client/job_handle.ts";
import { JobStream } from "./client/_job_stream.ts";

export { type CancelOptions, JobHandle } from "./client/job_handle.ts";

/** Options of {@linkcode connect}. */
export interface ConnectOptions {
  /** Bearer token for `session.hello.payload.auth` (spec §6.1). */
  token?: string;
  /**
   * Who the client is.
   * @default {{ name: "@arcp/arcp", version: SDK_VERSION }}
   */
  client?: PeerInfo;
  /**
   * Cap on one incoming frame in bytes, when connecting by URL.
   * @default {1048576}
   */
  maxFrameBytes?: number;
  /**
   * Milliseconds to wait for `session.welcome` before giving up.
   * @default {30000}
   */
  handshakeTimeoutMs?: number;
  /** Abandons the handshake. */
  signal?: AbortSignal;
  /** Where diagnostics go; silent by default. */
  logger?: Pick<Console, "debug" | "warn" | "error">;
}

/** Options of {@linkcode Client.submit} (spec §7.1). */
export interface SubmitOptions {
  /** Requested lease, as `lease_request`. */
  leaseRequest?: Lease;
  /** Lease constraints such as `expires_at` (ISO-8601 UTC). */
  leaseConstraints?: LeaseConstraints;
  /** Logical idempotency key (spec §7.2). */
  idempotencyKey?: string;
  /** Wall-clock limit in seconds, after which the job ends with `TIMEOUT`. */
  maxRuntimeSec?: number;
  /** W3C trace-id or traceparent to put on the envelope (spec §11). */
  traceId?: string;
  /** Stops waiting for `job.accepted`; a job accepted later is cancelled. */
  signal?: AbortSignal;
}

/** Options of {@linkcode Client.close}. */
export interface CloseOptions {
  /** Stops waiting for `session.closed`; the transport is closed regardless. */
  signal?: AbortSignal;
}

/** Features this client implements and asks for in `session.hello`. */
const CLIENT_FEATURES: readonly Feature[] = ["agent_versions", "progress"];
const SILENT: Pick<Console, "debug" | "warn" | "error"> = { debug() {}, warn() {}, error() {} };

interface Pending {
  type: "job.submit" | "job.cancel" | "session.close";
  resolve(message: Message | undefined): void;
  reject(error: Error): void;
  jobId?: string;
}

function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: () => void,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    onAbort();
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort();
      reject(signal.reason);
    };
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

/**
 * Opens a session: connects the transport (a WebSocket when given a URL),
 * sends `session.hello` and waits for `session.welcome` (spec §6.2).
 *
 * @param target A `ws:`/`wss:` URL (a WebSocket is opened with the global
 *   `WebSocket`), or an open {@linkcode Transport}.
 * @param options Token, client identity, timeouts.
 * @returns The connected client.
 * @throws {ArcpError} `UNAUTHENTICATED` for a missing or wrong token, or any
 *   other `session.error` the runtime answers the hello with.
 * @throws {ConnectionClosedError} when the transport closes or the
 *   handshake times out.
 * @example Connect over an in-process transport
 * ```ts
 * import { connect } from "@arcp/arcp/client";
 * import { Runtime, staticTokens } from "@arcp/arcp/runtime";
 * import { memoryTransportPair } from "@arcp/arcp/transports/memory";
 * import assert from "node:assert/strict";
 *
 * await using runtime = new Runtime({ authenticate: staticTokens({ t: "alice" }) });
 * const [clientSide, runtimeSide] = memoryTransportPair();
 * runtime.accept(runtimeSide);
 * await using client = await connect(clientSide, { token: "t" });
 * assert.match(client.sessionId, /^sess_/);
 * ```
 */
export async function connect(
  target: string | URL | Transport,
  options: ConnectOptions = {},
): Promise<Client> {
  const transport = typeof target === "string" || target instanceof URL
    ? webSocketTransport(
      new WebSocket(target),
      options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes },
    )
    : target;
  const writer = transport.writable.getWriter();
  const reader = transport.readable.getReader();
  const hello = encodeMessage("session.hello", {
    client: options.client ?? { name: SDK_NAME, version: SDK_VERSION },
    auth: options.token === undefined
      ? { scheme: "bearer" }
      : { scheme: "bearer", token: options.token },
    capabilities: { encodings: ["json"], features: [...CLIENT_FEATURES] },
  });
  const fail = (error: unknown) => {
    writer.abort(error).catch(() => {});
    reader.cancel(error).catch(() => {});
  };
  const timeoutMs = options.handshakeTimeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConnectionClosedError(`No session.welcome within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  const handshake = (async () => {
    await writer.write(hello);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new ConnectionClosedError("Transport closed before session.welcome");
      if (value instanceof MalformedFrame) continue;
      const message = decodeMessage(value);
      if (message?.type === "session.welcome") return message;
      if (message?.type === "session.error") throw ArcpError.fromPayload(message.payload);
    }
  })();
  try {
    const welcome = await abortable(Promise.race([handshake, timeout]), options.signal, () => {});
    return new Client(welcome, writer, reader, options.logger ?? SILENT);
  } catch (error) {
    fail(error);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A connected ARCP session, made by {@linkcode connect}. Any number of jobs
 * may run concurrently; each gets its own {@linkcode JobHandle}.
 */
export class Client {
  /** The session id assigned by the runtime. */
  readonly sessionId: string;
  /** The `session.welcome` payload. */
  readonly welcome: SessionWelcomePayload;
  /** The negotiated features: what both sides declared (spec 1.1 §6.2). */
  readonly features: ReadonlySet<string>;
  readonly #writer: WritableStreamDefaultWriter<Frame>;
  readonly #reader: ReadableStreamDefaultReader<Frame | MalformedFrame>;
  readonly #logger: Pick<Console, "debug" | "warn" | "error">;
  readonly #pending = new Map<string, Pending>();
  readonly #jobs = new Map<string, JobStream>();
  readonly #closed: Promise<void>;
  #closeError: Error | undefined;

  /**
   * Made by {@linkcode connect}; not constructed by users.
   *
   * @param welcome The `session.welcome` envelope.
   * @param writer The transport's writer.
   * @param reader The transport's reader.
   * @param logger Diagnostics sink.
   */
  constructor(
    welcome: Envelope<"session.welcome", SessionWelcomePayload>,
    writer: WritableStreamDefaultWriter<Frame>,
    reader: ReadableStreamDefaultReader<Frame | MalformedFrame>,
    logger: Pick<Console, "debug" | "warn" | "error">,
  ) {
    this.sessionId = welcome.session_id ?? "";
    this.welcome = welcome.payload;
    this.features = new Set(welcome.payload.capabilities.features ?? []);
    this.#writer = writer;
    this.#reader = reader;
    this.#logger = logger;
    this.#closed = this.#readLoop();
  }

  /** The runtime's agents, normalised to the 1.1 rich form (spec 1.1 §6.2). */
  get agents(): AgentInfo[] {
    return (this.welcome.capabilities.agents ?? []).map((agent) =>
      typeof agent === "string" ? { name: agent, versions: [] } : agent
    );
  }

  /**
   * Submits a job (spec §7.1) and resolves once the runtime accepts it.
   *
   * @param agent `name` or `name@version` (spec 1.1 §7.5).
   * @param input The agent's input; any JSON value.
   * @param options Lease, constraints, idempotency key, limits, signal.
   * @returns A handle on the accepted job.
   * @throws {ArcpError} `AGENT_NOT_AVAILABLE`, `AGENT_VERSION_NOT_AVAILABLE`,
   *   `INVALID_REQUEST`, or whatever else the runtime refuses the job with.
   * @throws {ConnectionClosedError} when the connection is closed.
   */
  async submit(agent: string, input?: unknown, options: SubmitOptions = {}): Promise<JobHandle> {
    const payload: MessagePayloads["job.submit"] = { agent };
    if (input !== undefined) payload.input = input;
    if (options.leaseRequest !== undefined) payload.lease_request = options.leaseRequest;
    if (options.leaseConstraints !== undefined) {
      payload.lease_constraints = options.leaseConstraints;
    }
    if (options.idempotencyKey !== undefined) payload.idempotency_key = options.idempotencyKey;
    if (options.maxRuntimeSec !== undefined) payload.max_runtime_sec = options.maxRuntimeSec;
    const envelope = encodeMessage("job.submit", payload, {
      session_id: this.sessionId,
      trace_id: options.traceId,
    });
    const accepted = await this.#request(envelope, "job.submit", options.signal);
    return this.#handleFor((accepted as Envelope<"job.accepted", JobAcceptedPayload>).payload)!;
  }

  /**
   * Ends the session gracefully: `session.close`, then waits for
   * `session.closed` (spec 1.1 §6.7) and closes the transport. Jobs keep
   * running on the runtime; open handles here reject with
   * `ConnectionClosedError`.
   *
   * @param options Abort signal for the wait.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#closeError === undefined) {
      const envelope = encodeMessage("session.close", { reason: "client_close" }, {
        session_id: this.sessionId,
      });
      // Peers that predate session.close answer with session.error; either way we are done.
      await this.#request(envelope, "session.close", options.signal).catch(() => {});
    }
    await this.#writer.close().catch(() => {});
    await this.#reader.cancel().catch(() => {});
    await this.#closed;
  }

  /** Same as {@linkcode Client.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #request(
    envelope: Envelope,
    type: Pending["type"],
    signal?: AbortSignal,
    jobId?: string,
  ): Promise<Message | undefined> {
    if (this.#closeError !== undefined) return Promise.reject(this.#closeError);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { promise, resolve, reject } = Promise.withResolvers<Message | undefined>();
    const pending: Pending = { type, resolve, reject };
    if (jobId !== undefined) pending.jobId = jobId;
    this.#pending.set(envelope.id, pending);
    this.#writer.write(envelope).catch((error) => {
      this.#pending.delete(envelope.id);
      reject(
        new ConnectionClosedError(`Cannot send ${type}: the connection is closed`, {
          cause: error,
        }),
      );
    });
    return abortable(promise, signal, () => this.#pending.delete(envelope.id));
  }

  #cancelJob(jobId: string, options: CancelOptions): Promise<void> {
    if (this.#jobs.get(jobId)?.done !== false) return Promise.resolve();
    const envelope = encodeMessage(
      "job.cancel",
      options.reason === undefined ? {} : { reason: options.reason },
      {
        session_id: this.sessionId,
        job_id: jobId,
      },
    );
    return this.#request(envelope, "job.cancel", options.signal, jobId).then(() => {});
  }

  #handleFor(payload: JobAcceptedPayload): JobHandle | undefined {
    if (this.#jobs.has(payload.job_id)) return undefined;
    const stream = new JobStream();
    this.#jobs.set(payload.job_id, stream);
    return new JobHandle(payload, stream, (options) => this.#cancelJob(payload.job_id, options));
  }

  /** The oldest pending request of `type`, for peers that do not echo request ids. */
  #oldest(
    type: Pending["type"] | undefined,
    requestId: string | undefined,
  ): [string, Pending] | undefined {
    if (requestId !== undefined) {
      const pending = this.#pending.get(requestId);
      return pending === undefined ? undefined : [requestId, pending];
    }
    for (const entry of this.#pending) {
      if (type === undefined || entry[1].type === type) return entry;
    }
    return undefined;
  }

  #take(type: Pending["type"] | undefined, requestId: string | undefined): Pending | undefined {
    const entry = this.#oldest(type, requestId);
    if (entry !== undefined) this.#pending.delete(entry[0]);
    return entry?.[1];
  }

  async #readLoop(): Promise<void> {
    let error: Error = new ConnectionClosedError("The connection is closed");
    try {
      for (;;) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        if (value instanceof MalformedFrame) {
          this.#logger.warn(`arcp client: ignoring a malformed frame: ${value.reason}`);
          continue;
        }
        let message: Message | undefined;
        try {
          message = decodeMessage(value);
        } catch (invalid) {
          this.#logger.warn("arcp client: ignoring an invalid frame", invalid);
          continue;
        }
        if (message !== undefined) this.#dispatch(message);
      }
    } catch (cause) {
      error = new ConnectionClosedError("The connection failed", { cause });
    }
    this.#closeError = error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    for (const stream of this.#jobs.values()) stream.abandon(error);
  }

  #dispatch(message: Message): void {
    switch (message.type) {
      case "job.event": {
        if (message.job_id !== undefined) this.#jobs.get(message.job_id)?.push(message as JobEvent);
        return;
      }
      case "job.result": {
        const payload = message.payload;
        // Lenient: some runtimes name the inline result `output`.
        if (payload.result === undefined && "output" in payload) payload.result = payload.output;
        return this.#terminal(message.job_id, (stream) => stream.succeed(payload));
      }
      case "job.error":
        return this.#terminal(message.job_id, (stream) => stream.fail(message.payload));
      case "job.accepted": {
        const pending = this.#take("job.submit", message.payload.request_id);
        if (pending !== undefined) return pending.resolve(message);
        // The submit was abandoned (its signal aborted): stop the orphan.
        if (this.#handleFor(message.payload) !== undefined) {
          void this.#cancelJob(message.payload.job_id, { reason: "submit abandoned" }).catch(
            () => {},
          );
        }
        return;
      }
      case "job.cancelled":
        return this.#resolveCancel(message.job_id);
      case "session.closed":
        return this.#take("session.close", undefined)?.resolve(message);
      case "session.error":
        return this.#sessionError(message.payload);
      case "session.ping":
        this.#writer.write(encodeMessage("session.pong", {
          ping_nonce: message.payload.nonce,
          received_at: new Date().toISOString(),
        }, { session_id: this.sessionId })).catch(() => {});
        return;
      default:
        this.#logger.debug(`arcp client: ignoring ${message.type}`);
    }
  }

  #terminal(jobId: string | undefined, settle: (stream: JobStream) => void): void {
    const stream = jobId === undefined ? undefined : this.#jobs.get(jobId);
    if (stream === undefined) return;
    settle(stream);
    this.#jobs.delete(jobId!);
    this.#resolveCancel(jobId);
  }

  #resolveCancel(jobId: string | undefined): void {
    for (const [id, pending] of this.#pending) {
      if (pending.type === "job.cancel" && pending.jobId === jobId) {
        this.#pending.delete(id);
        pending.resolve(undefined);
      }
    }
  }

  #sessionError(payload: MessagePayloads["session.error"]): void {
    const pending = this.#take(undefined, payload.request_id);
    if (pending === undefined) {
      this.#logger.warn(`arcp client: session.error ${payload.code}: ${payload.message}`);
      return;
    }
    // A cancel that lost the race with the job's own end has nothing to report.
    if (pending.type === "job.cancel" && this.#jobs.get(pending.jobId ?? "")?.done !== false) {
      return pending.resolve(undefined);
    }
    pending.reject(ArcpError.fromPayload(payload));
  }
}
