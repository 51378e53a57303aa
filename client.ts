// This module is browser compatible.
/**
 * The ARCP client: connect to a runtime, submit jobs, stream their events,
 * cancel them, list and observe jobs, and ride out dropped connections by
 * resuming the session (spec §6, §7, §8).
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

import { encodeMessage, type MessagePayloads } from "./protocol/envelope.ts";
import { ArcpError, ConnectionClosedError } from "./protocol/errors.ts";
import { newId } from "./protocol/ids.ts";
import type {
  AgentInfo,
  SessionJobsPayload,
  SessionListJobsPayload,
  SessionWelcomePayload,
} from "./protocol/messages.ts";
import { FEATURES } from "./protocol/messages.ts";
import { SDK_NAME, SDK_VERSION } from "./protocol/version.ts";
import { SILENT } from "./internal/silent.ts";
import type { Transport } from "./transports/types.ts";
import { type CancelOptions, JobHandle, JobSubscription } from "./client/job_handle.ts";
import type { ResumeState } from "./client/resume_state.ts";
import { handshake, type Welcomed } from "./client/_handshake.ts";
import { type BindingOpener as Opener, bindingOpener } from "./client/_open_binding.ts";
import { Session, type SessionOptions } from "./client/_session.ts";
import { endSubmit, startSubmit } from "./client/_telemetry.ts";
import type {
  CloseOptions,
  ConnectOptions,
  ConnectTarget,
  ListJobsOptions,
  SubmitOptions,
  SubscribeOptions,
} from "./client/options.ts";

export { type CancelOptions, JobHandle, JobSubscription, JobView } from "./client/job_handle.ts";
export type {
  CloseOptions,
  ConnectOptions,
  ConnectTarget,
  ListJobsOptions,
  ReconnectOptions,
  SubmitOptions,
  SubscribeOptions,
} from "./client/options.ts";
export {
  MemoryResumeStateStore,
  type ResumeState,
  type ResumeStateStore,
} from "./client/resume_state.ts";

function opener(
  target: ConnectTarget,
  options: ConnectOptions,
  timeoutMs: number,
): Opener | undefined {
  if (typeof target === "string" || target instanceof URL) {
    const socketOptions = options.maxFrameBytes === undefined
      ? {}
      : { maxFrameBytes: options.maxFrameBytes };
    return bindingOpener(target, options.transport, socketOptions, timeoutMs);
  }
  if (typeof target === "function") {
    return { open: async () => await target(), fallBack: () => false, welcomed() {} };
  }
  return undefined;
}

/**
 * Opens a session: connects the transport (for a URL, a WebSocket or the
 * HTTP binding as `options.transport` says),
 * sends `session.hello` (resuming the session in `resumeStore`, if any) and
 * waits for `session.welcome` (spec §6.2, §6.3).
 *
 * @param target A `ws:`/`wss:` or `http:`/`https:` URL, an open {@linkcode Transport}, or a
 *   function that opens one (needed for reconnects over other transports).
 * @param options Token, identity, reconnection, acknowledgement, timeouts.
 * @returns The connected client.
 * @throws {ArcpError} `UNAUTHENTICATED` for a missing or wrong token, or any
 *   other `session.error` the runtime answers the hello with.
 * @throws {ConnectionClosedError} when the transport closes or the
 *   handshake times out. A WebSocket that cannot open rejects with
 *   `Cannot connect to URL: <why>`: connection refused, unknown host, the
 *   HTTP status answered instead of the upgrade (e.g. 404 for a wrong path),
 *   or a TLS failure.
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
  target: ConnectTarget,
  options: ConnectOptions = {},
): Promise<Client> {
  const timeoutMs = options.handshakeTimeoutMs ?? 30_000;
  const open = opener(target, options, timeoutMs);
  const resumeKey = options.resumeKey ??
    (open !== undefined && typeof target !== "function" ? String(target) : "default");
  const saved = await options.resumeStore?.load(resumeKey);
  const hello = (resume?: ResumeState) => {
    const payload: MessagePayloads["session.hello"] = {
      client: options.client ?? { name: SDK_NAME, version: SDK_VERSION },
      auth: options.token === undefined
        ? { scheme: "bearer" }
        : { scheme: "bearer", token: options.token },
      capabilities: { encodings: ["json"], features: [...FEATURES] },
    };
    if (resume !== undefined) payload.resume = { ...resume };
    return encodeMessage("session.hello", payload);
  };
  const first = async (resume?: ResumeState): Promise<Welcomed> => {
    try {
      const welcomed = await handshake(
        open ? await open.open(options.signal) : (target as Transport),
        hello(resume),
        timeoutMs,
        options.signal,
      );
      open?.welcomed();
      return welcomed;
    } catch (error) {
      // A WebSocket that died before its welcome: once more over HTTP.
      if (open?.fallBack(error) !== true) throw error;
      return await first(resume);
    }
  };
  let welcomed;
  try {
    welcomed = await first(saved);
  } catch (error) {
    // A saved session that can no longer be resumed: start a new one.
    const stale = error instanceof ArcpError &&
      (error.code === "RESUME_WINDOW_EXPIRED" || error.code === "UNAUTHENTICATED" ||
        error.code === "INVALID_REQUEST");
    if (saved === undefined || !stale || open === undefined) throw error;
    await options.resumeStore?.delete(resumeKey);
    welcomed = await first();
  }
  const reconnect = options.reconnect ?? open !== undefined;
  const sessionOptions: SessionOptions = {
    reconnect: open === undefined || reconnect === false ? undefined : {
      open: open.open,
      hello,
      timeoutMs,
      backoff: typeof reconnect === "object" ? reconnect : {},
    },
    resumeStore: options.resumeStore,
    resumeKey,
    autoAck: options.autoAck ?? true,
    eventBufferSize: options.eventBufferSize ?? 1024,
    logger: options.logger ?? SILENT,
    lastEventSeq: saved !== undefined && welcomed.welcome.session_id === saved.session_id
      ? saved.last_event_seq
      : 0,
  };
  return new Client(new Session(welcomed, sessionOptions));
}

/**
 * A connected ARCP session, made by {@linkcode connect}. Any number of jobs
 * may run concurrently; each gets its own handle. With reconnection on, a
 * dropped connection is resumed behind the scenes and every job's events
 * continue without gap or duplicate.
 */
export class Client {
  readonly #session: Session;

  /**
   * Made by {@linkcode connect}; not constructed by users.
   *
   * @param session The client's session machinery.
   */
  constructor(session: Session) {
    this.#session = session;
  }

  /** The session id assigned by the runtime. */
  get sessionId(): string {
    return this.#session.sessionId;
  }

  /** The latest `session.welcome` payload. */
  get welcome(): SessionWelcomePayload {
    return this.#session.welcome;
  }

  /** The negotiated features: what both sides declared (spec 1.1 §6.2). */
  get features(): ReadonlySet<string> {
    return this.#session.features;
  }

  /** The highest `event_seq` received in this session (spec §8.3). */
  get lastEventSeq(): number {
    return this.#session.lastSeq;
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
   *   `DUPLICATE_KEY`, `INVALID_REQUEST`, or whatever else the runtime
   *   refuses the job with.
   * @throws {ConnectionClosedError} when the connection is closed.
   */
  async submit(agent: string, input?: unknown, options: SubmitOptions = {}): Promise<JobHandle> {
    const payload: MessagePayloads["job.submit"] = { agent };
    if (input !== undefined) payload.input = input;
    if (options.leaseRequest !== undefined) payload.lease_request = options.leaseRequest;
    if (options.leaseConstraints !== undefined) {
      payload.lease_constraints = options.leaseConstraints;
    }
    payload.idempotency_key = options.idempotencyKey ?? newId("idem");
    if (options.maxRuntimeSec !== undefined) payload.max_runtime_sec = options.maxRuntimeSec;
    const trace = startSubmit(agent, this.sessionId, options.traceId);
    const envelope = encodeMessage("job.submit", payload, {
      session_id: this.sessionId,
      trace_id: trace.traceId,
    });
    let accepted;
    try {
      accepted = await this.#session.request(envelope, options.signal);
    } catch (error) {
      endSubmit(trace, { error });
      throw error;
    }
    const jobId = accepted.payload.job_id;
    endSubmit(trace, { jobId });
    const stream = this.#session.claimStream(jobId);
    return new JobHandle(
      accepted.payload,
      stream,
      (cancel) => this.#session.jobDone(jobId) ? Promise.resolve() : this.#cancel(jobId, cancel),
    );
  }

  /**
   * Observes a job, typically one submitted by another session (spec 1.1
   * §7.6): its events arrive in this session's sequence space.
   *
   * @param jobId The job to follow.
   * @param options History replay and abort signal.
   * @returns A handle with the job's events and result, without cancel.
   * @throws {ArcpError} `JOB_NOT_FOUND`, `PERMISSION_DENIED` (another
   *   principal's job), `INVALID_REQUEST` (`subscribe` not negotiated).
   */
  async subscribe(jobId: string, options: SubscribeOptions = {}): Promise<JobSubscription> {
    const payload: MessagePayloads["job.subscribe"] = {
      job_id: jobId,
      history: options.history ?? false,
    };
    if (options.fromEventSeq !== undefined) payload.from_event_seq = options.fromEventSeq;
    const stream = this.#session.streamFor(jobId);
    stream.joinedLate();
    const envelope = encodeMessage("job.subscribe", payload, { session_id: this.sessionId });
    try {
      const subscribed = await this.#session.request(envelope, options.signal);
      return new JobSubscription(subscribed.payload, stream, () => this.#unsubscribe(jobId));
    } catch (error) {
      this.#session.forget(jobId);
      throw error;
    }
  }

  /**
   * Lists the principal's jobs, finished ones included, page by page
   * (spec 1.1 §6.6).
   *
   * @param options Filter, page size and abort signal.
   * @returns An async iterable of pages; each is a `session.jobs` payload.
   * @throws {ArcpError} `INVALID_REQUEST` for a bad filter or when
   *   `list_jobs` was not negotiated.
   */
  async *listJobs(options: ListJobsOptions = {}): AsyncIterable<SessionJobsPayload> {
    let cursor: string | null = null;
    do {
      const payload: SessionListJobsPayload = { limit: options.limit ?? 100, cursor };
      if (options.filter !== undefined) payload.filter = options.filter;
      const envelope = encodeMessage("session.list_jobs", payload, { session_id: this.sessionId });
      const page = (await this.#session.request(envelope, options.signal)).payload;
      yield page;
      cursor = page.next_cursor ?? null;
    } while (cursor !== null);
  }

  /**
   * Cancels a job by id (spec §7.4): sends `job.cancel` and resolves when the
   * runtime acknowledges with `job.cancelled`; the job then ends with
   * `CANCELLED`. Only the session that submitted the job may cancel it, so
   * this is for a job submitted earlier in this session, e.g. by a process
   * that resumed the session through a shared `resumeStore` (spec §7.7). A job
   * submitted through this client can also be cancelled with
   * {@linkcode JobHandle.cancel}.
   *
   * @param jobId The job to cancel.
   * @param options Reason and abort signal.
   * @throws {ArcpError} `JOB_NOT_FOUND` when the principal has no such job,
   *   `PERMISSION_DENIED` when another session submitted it,
   *   `INVALID_REQUEST` when it has already ended.
   * @throws {ConnectionClosedError} when the connection is closed.
   * @example Cancel a running job by its id
   * ```ts
   * import { connect } from "@arcp/arcp/client";
   * import { Runtime, staticTokens } from "@arcp/arcp/runtime";
   * import { memoryTransportPair } from "@arcp/arcp/transports/memory";
   * import assert from "node:assert/strict";
   *
   * await using runtime = new Runtime({
   *   authenticate: staticTokens({ t: "alice" }),
   *   agents: [{
   *     name: "wait",
   *     handler: (_input, ctx) =>
   *       new Promise((_resolve, reject) => {
   *         ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
   *       }),
   *   }],
   * });
   * const [clientSide, runtimeSide] = memoryTransportPair();
   * runtime.accept(runtimeSide);
   * await using client = await connect(clientSide, { token: "t" });
   * const { jobId, result } = await client.submit("wait");
   *
   * await client.cancel(jobId, { reason: "no longer needed" });
   * await assert.rejects(result, { code: "CANCELLED" });
   * ```
   */
  cancel(jobId: string, options: CancelOptions = {}): Promise<void> {
    return this.#cancel(jobId, options);
  }

  /**
   * Acknowledges every event up to `seq` (spec 1.1 §6.5); needed only with
   * `autoAck: false`. Not sent while the connection is down: acknowledge
   * again once it is back (acknowledgements are cumulative).
   *
   * @param seq The highest processed `event_seq`.
   */
  ack(seq: number): void {
    this.#session.ack(seq);
  }

  /**
   * Ends the session gracefully: `session.close`, then waits for
   * `session.closed` (spec 1.1 §6.7) and closes the transport. Jobs keep
   * running on the runtime; open handles here reject with
   * `ConnectionClosedError`.
   *
   * @param options Abort signal for the wait.
   */
  close(options: CloseOptions = {}): Promise<void> {
    return this.#session.close(options.signal);
  }

  /** Same as {@linkcode Client.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #cancel(jobId: string, options: CancelOptions): Promise<void> {
    const followed = !this.#session.jobDone(jobId);
    const payload = options.reason === undefined ? {} : { reason: options.reason };
    const envelope = encodeMessage("job.cancel", payload, {
      session_id: this.sessionId,
      job_id: jobId,
    });
    try {
      await this.#session.request(envelope, options.signal);
    } catch (error) {
      // A cancel that lost the race with the job's own end has nothing to report.
      if (!(error instanceof ArcpError) || !followed || !this.#session.jobDone(jobId)) throw error;
    }
  }

  async #unsubscribe(jobId: string): Promise<void> {
    const envelope = encodeMessage("job.unsubscribe", { job_id: jobId }, {
      session_id: this.sessionId,
    });
    this.#session.forget(jobId, new ConnectionClosedError(`Unsubscribed from job ${jobId}`));
    await this.#session.send(envelope);
  }
}
