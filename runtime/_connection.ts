// This module is browser compatible.
// One transport attached to the runtime: the handshake (spec §6.1, §6.2),
// then dispatch of every client message. Bad input is answered with
// session.error and the connection carries on (spec §12 INVALID_REQUEST).

import {
  decodeMessage,
  encodeMessage,
  type Message,
  type MessagePayloads,
} from "../protocol/envelope.ts";
import { ArcpError } from "../protocol/errors.ts";
import { newJobId, newResumeToken, newSessionId, newTraceId } from "../protocol/ids.ts";
import type { Envelope, Feature, SessionErrorPayload } from "../protocol/messages.ts";
import { parseTraceId } from "../protocol/trace.ts";
import { type Frame, MalformedFrame, type Transport } from "../transports/types.ts";
import type { RuntimeStore } from "../store/types.ts";
import type { Authenticator } from "./auth.ts";
import { RuntimeJob } from "./_job.ts";
import type { AgentRegistry } from "./_registry.ts";
import { type Outlet, RuntimeSession } from "./_session.ts";

/** What a connection needs of its runtime. */
export interface RuntimeCore {
  name: string;
  version: string;
  registry: AgentRegistry;
  authenticate: Authenticator | undefined;
  store: RuntimeStore;
  sessions: Map<string, RuntimeSession>;
  features: readonly Feature[];
  resumeWindowSec: number;
  heartbeatIntervalSec: number;
  cancelGraceMs: number;
  logger: Pick<Console, "debug" | "warn" | "error">;
  /** Called whenever a session loses its connection; it may expire after the resume window. */
  detached(session: RuntimeSession): void;
}

/** Message types only a runtime sends; a client sending one is an error. */
const RUNTIME_ONLY = new Set([
  "session.welcome",
  "session.error",
  "session.closed",
  "session.jobs",
  "job.accepted",
  "job.cancelled",
  "job.event",
  "job.result",
  "job.error",
  "job.subscribed",
]);

export class RuntimeConnection implements Outlet {
  readonly #core: RuntimeCore;
  readonly #writer: WritableStreamDefaultWriter<Frame>;
  readonly #reader: ReadableStreamDefaultReader<Frame | MalformedFrame>;
  #session: RuntimeSession | undefined;
  #closing = false;

  constructor(core: RuntimeCore, transport: Transport) {
    this.#core = core;
    this.#writer = transport.writable.getWriter();
    this.#writer.closed.catch(() => {});
    this.#reader = transport.readable.getReader();
  }

  /** Reads and answers frames until the transport closes or `signal` aborts. */
  async run(signal?: AbortSignal): Promise<void> {
    const onAbort = () => this.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      while (!this.#closing) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        await this.#receive(value);
      }
    } catch (error) {
      this.#core.logger.debug("arcp runtime: transport failed", error);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      await this.#closeTransport();
    }
  }

  /** Closes the transport gracefully; the session and its jobs live on (spec §6.7). */
  close(): void {
    void this.#closeTransport();
  }

  async #closeTransport(): Promise<void> {
    if (this.#session !== undefined) {
      this.#session.detach(this);
      this.#core.detached(this.#session);
    }
    if (this.#closing) return;
    this.#closing = true;
    await this.#writer.close().catch(() => {});
    await this.#reader.cancel().catch(() => {});
  }

  // Outlet ---------------------------------------------------------------

  async write(frames: readonly Envelope[]): Promise<void> {
    const writer = this.#writer;
    for (const frame of frames) writer.write(frame).catch(this.#onWriteError);
    await writer.ready;
  }

  /** A failed write means the transport is unusable: close it so the client notices and resumes. */
  readonly #onWriteError = (error: unknown): void => {
    if (!this.#closing) this.drop(error);
  };

  drop(reason: unknown): void {
    this.#core.logger.debug("arcp runtime: connection dropped", reason);
    this.close();
  }

  // Receiving ------------------------------------------------------------

  async #receive(frame: Frame | MalformedFrame): Promise<void> {
    const requestId = frame instanceof MalformedFrame || typeof frame.id !== "string"
      ? undefined
      : frame.id;
    try {
      if (frame instanceof MalformedFrame) {
        throw new ArcpError("INVALID_REQUEST", frame.reason);
      }
      const message = decodeMessage(frame);
      if (message === undefined) return;
      if (this.#session === undefined) await this.#handshake(message);
      else await this.#dispatch(this.#session, message);
    } catch (error) {
      const arcpError = ArcpError.from(error);
      if (arcpError.code === "INTERNAL_ERROR") {
        this.#core.logger.error("arcp runtime: failed to handle a frame", error);
      }
      await this.#sendError(arcpError, requestId);
      if (arcpError.code === "UNAUTHENTICATED") this.close();
    }
  }

  async #sendError(error: ArcpError, requestId: string | undefined, jobId?: string): Promise<void> {
    const payload: SessionErrorPayload = error.toPayload();
    if (requestId !== undefined) payload.request_id = requestId;
    if (jobId !== undefined) payload.job_id = jobId;
    await this.#send("session.error", payload, jobId);
  }

  /** Sends behind the session's queued events, or directly before a session exists. */
  async #send<K extends keyof MessagePayloads>(
    type: K,
    payload: MessagePayloads[K],
    jobId?: string,
  ): Promise<void> {
    const session = this.#session;
    const envelope = encodeMessage(type, payload, { session_id: session?.id, job_id: jobId });
    if (session?.attached) await session.send(envelope);
    else await this.#writer.write(envelope).catch(() => {});
  }

  async #handshake(message: Message): Promise<void> {
    if (message.type !== "session.hello") {
      throw new ArcpError(
        "INVALID_REQUEST",
        `Expected session.hello before "${message.type}": no session is established`,
      );
    }
    const { auth, capabilities, resume } = message.payload;
    if (resume !== undefined || message.payload.resume_token !== undefined) {
      throw new ArcpError("INVALID_REQUEST", "Resume is not supported by this runtime yet", {
        details: { feature: "resume" },
      });
    }
    const principal = this.#core.authenticate === undefined
      ? null
      : await this.#core.authenticate({ scheme: auth?.scheme, token: auth?.token });
    if (principal === null) {
      throw new ArcpError(
        "UNAUTHENTICATED",
        auth?.token === undefined ? "Missing bearer token" : "Invalid bearer token",
      );
    }
    const session = new RuntimeSession(newSessionId(), principal, this.#core.store, (error) => {
      this.#core.logger.error("arcp runtime: event store append failed", error);
      void this.#sendError(
        new ArcpError("INTERNAL_ERROR", "Event store append failed; events were not delivered"),
        undefined,
      );
      this.close();
    });
    this.#core.sessions.set(session.id, session);
    this.#session = session;
    const requested = new Set(capabilities?.features ?? []);
    const welcome = encodeMessage("session.welcome", {
      runtime: { name: this.#core.name, version: this.#core.version },
      resume_token: newResumeToken(),
      resume_window_sec: this.#core.resumeWindowSec,
      heartbeat_interval_sec: this.#core.heartbeatIntervalSec,
      capabilities: {
        encodings: ["json"],
        features: this.#core.features.filter((f) => requested.has(f)),
        agents: this.#core.registry.inventory(),
      },
    }, { session_id: session.id });
    await this.#writer.write(welcome);
    session.attach(this);
  }

  async #dispatch(session: RuntimeSession, message: Message): Promise<void> {
    switch (message.type) {
      case "job.submit":
        return this.#submit(session, message);
      case "job.cancel":
        return this.#cancel(session, message);
      case "session.ping":
        return this.#send("session.pong", {
          ping_nonce: message.payload.nonce,
          received_at: new Date().toISOString(),
        });
      case "session.pong":
      case "session.ack":
        return;
      case "session.close":
        await this.#send("session.closed", { reason: message.payload.reason ?? "client_close" });
        await session.flushed();
        return this.close();
      case "session.bye":
        return this.close();
      case "session.hello":
        throw new ArcpError("INVALID_REQUEST", `Session "${session.id}" is already established`);
      case "session.resume":
      case "session.list_jobs":
      case "job.subscribe":
      case "job.unsubscribe":
        throw new ArcpError(
          "INVALID_REQUEST",
          `"${message.type}" is not supported by this runtime yet`,
          { details: { type: message.type } },
        );
      default:
        if (RUNTIME_ONLY.has(message.type)) {
          throw new ArcpError(
            "INVALID_REQUEST",
            `"${message.type}" is sent by runtimes, not clients`,
          );
        }
    }
  }

  async #submit(session: RuntimeSession, message: Message & { type: "job.submit" }): Promise<void> {
    const { payload } = message;
    const { definition, ref } = this.#core.registry.resolve(payload.agent);
    const traceId = message.trace_id === undefined ? newTraceId() : parseTraceId(message.trace_id);
    const job = new RuntimeJob({
      id: newJobId(),
      session,
      definition,
      agent: ref,
      input: payload.input ?? null,
      lease: payload.lease_request ?? {},
      leaseConstraints: payload.lease_constraints,
      traceId,
      maxRuntimeSec: payload.max_runtime_sec,
      cancelGraceMs: this.#core.cancelGraceMs,
      createdAt: new Date().toISOString(),
    });
    session.jobs.set(job.jobId, job);
    await session.send(
      encodeMessage("job.accepted", job.acceptedPayload(message.id), {
        session_id: session.id,
        job_id: job.jobId,
        trace_id: traceId,
      }),
    );
    job.start();
  }

  async #cancel(session: RuntimeSession, message: Message & { type: "job.cancel" }): Promise<void> {
    const jobId = message.job_id ?? message.payload.job_id;
    if (jobId === undefined) {
      throw new ArcpError("INVALID_REQUEST", 'Invalid job.cancel: "job_id" is missing');
    }
    const job = session.jobs.get(jobId);
    if (job === undefined) {
      return this.#sendError(
        new ArcpError("JOB_NOT_FOUND", `Job "${jobId}" does not exist in this session`),
        message.id,
        jobId,
      );
    }
    if (job.terminal) {
      return this.#sendError(
        new ArcpError(
          "INVALID_REQUEST",
          `Cannot cancel job "${jobId}": it already ended as ${job.jobStatus}`,
        ),
        message.id,
        jobId,
      );
    }
    const reason = message.payload.reason ?? "cancelled by client";
    await this.#send("job.cancelled", { reason }, jobId);
    job.abort(new ArcpError("CANCELLED", reason));
  }
}
