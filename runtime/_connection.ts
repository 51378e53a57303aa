// This module is browser compatible.
// One transport attached to the runtime: the handshake (spec §6.1 to §6.3),
// then dispatch of every client message. Bad input is answered with
// session.error and the connection carries on (spec §12 INVALID_REQUEST).

import {
  type ClientMessageType,
  decodeMessage,
  encodeMessage,
  type EnvelopeOf,
  featureOf,
  type Message,
  type MessagePayloads,
  sentByClient,
} from "../protocol/envelope.ts";
import { ArcpError } from "../protocol/errors.ts";
import type { Envelope, Feature, SessionErrorPayload } from "../protocol/messages.ts";
import { Heartbeat } from "../internal/heartbeat.ts";
import { type Clock, type ClockTimer, isoAt } from "../protocol/clock.ts";
import { type Frame, MalformedFrame, type Transport } from "../transports/types.ts";
import type { RuntimeCore } from "./_core.ts";
import {
  authenticate,
  confirmRotation,
  negotiate,
  openSession,
  type ResumeRequest,
  resumeRequestOf,
  resumeSession,
} from "./_handshake.ts";
import type { Principal } from "./auth.ts";
import { listJobs, subscribe } from "./_observe.ts";
import type { Outlet, RuntimeSession } from "./_session.ts";
import { submitJob } from "./_submit.ts";
import { isUnfinished } from "./_recovery.ts";
import { IdleWatch, isThroughput } from "./_idle.ts";
import { wireError } from "./_wire_error.ts";

/** What the runtime does with each message a client sends, once a session is established. */
type ClientHandlers = {
  readonly [T in ClientMessageType]: (
    connection: RuntimeConnection,
    session: RuntimeSession,
    message: EnvelopeOf<T>,
  ) => Promise<void> | void;
};

/** Errors after which a handshake's transport is closed (spec §6.1, §6.3). */
const FATAL = new Set(["UNAUTHENTICATED", "RESUME_WINDOW_EXPIRED"]);

/**
 * Milliseconds a closing connection waits for its last frames to go out; a
 * peer that does not read would otherwise hold the close forever.
 */
const CLOSE_GRACE_MS = 1000;

/** Whether `promise` settles (resolves or rejects) within `ms`. */
async function settlesWithin(
  promise: Promise<unknown>,
  ms: number,
  clock: Clock,
): Promise<boolean> {
  let timer: ClockTimer | undefined;
  const late = new Promise<false>((resolve) => timer = clock.setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true as const, () => true as const), late]);
  } finally {
    clock.clearTimeout(timer);
  }
}

function alreadyEstablished(_: RuntimeConnection, session: RuntimeSession): never {
  throw new ArcpError("INVALID_REQUEST", `Session "${session.id}" is already established`);
}

export class RuntimeConnection implements Outlet {
  readonly #core: RuntimeCore;
  readonly #writer: WritableStreamDefaultWriter<Frame>;
  readonly #reader: ReadableStreamDefaultReader<Frame | MalformedFrame>;
  #session: RuntimeSession | undefined;
  #features: ReadonlySet<Feature> = new Set();
  #heartbeat: Heartbeat | undefined;
  #closing = false;
  /** Set after a resume until the client's first frame confirms the new token. */
  #rotated = false;
  /** Set while a hello or resume is being answered. */
  #handshaking = false;
  #helloTimer: ClockTimer | undefined;
  #idle: IdleWatch | undefined;
  /** The principal this connection's session counts against, once counted. */
  #counted: string | undefined;
  /** Set once this connection let go of its session. */
  #released = false;
  /** Set when a resume on another connection took the session over. */
  #superseded = false;
  /** The session a resume took over, until the handshake attaches or gives it up. */
  #claimed: RuntimeSession | undefined;

  constructor(core: RuntimeCore, transport: Transport) {
    this.#core = core;
    this.#writer = transport.writable.getWriter();
    this.#writer.closed.catch(this.#gone("the transport's writable failed"));
    this.#reader = transport.readable.getReader();
  }

  /** Reads and answers frames until the transport closes or `signal` aborts. */
  async run(signal?: AbortSignal): Promise<void> {
    const onAbort = () => this.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    // Once nothing can be written to the peer, frames still queued are
    // dropped unanswered: no reply could reach it.
    this.#writer.closed.catch(() => this.close());
    // A transport refuses more frames with an ArcpError (a full queue): sent
    // as is, even while a frame is being answered.
    this.#reader.closed.catch((error) => {
      if (error instanceof ArcpError) void this.#closeTransport(error);
    });
    let failure: ArcpError | undefined;
    try {
      await this.#core.ready();
      // From now on: recovery at start may take longer than a handshake may.
      if (!this.#closing) this.#armHelloDeadline();
      while (!this.#closing) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        this.#heartbeat?.received();
        if (
          this.#idle !== undefined && !(value instanceof MalformedFrame) && isThroughput(value.type)
        ) {
          this.#idle.touch();
        }
        if (this.#rotated) {
          this.#rotated = false;
          void confirmRotation(this.#session!);
        }
        await this.#receive(value);
      }
    } catch (error) {
      if (error instanceof ArcpError) failure = error;
      else this.#core.logger.debug("arcp runtime: transport failed", error);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      await this.#closeTransport(failure);
    }
  }

  /** Closes the transport gracefully; the session and its jobs live on (spec §6.7). */
  close(): void {
    void this.#closeTransport();
  }

  /** Sends `error` and closes the transport: a connection refused before it is served. */
  refuse(error: ArcpError): Promise<void> {
    return this.#closeTransport(error);
  }

  /**
   * Closes the transport, first sending `error` as `session.error` when
   * given. Frames still queued from the peer are dropped unanswered.
   */
  async #closeTransport(error?: ArcpError): Promise<void> {
    this.#core.clock.clearTimeout(this.#helloTimer);
    this.#heartbeat?.stop();
    this.#idle?.stop();
    this.#release();
    if (this.#closing) return;
    this.#closing = true;
    this.#uncount();
    if (error !== undefined) {
      this.#core.logger.debug(`arcp runtime: closing a connection: ${error.message}`);
      const payload: SessionErrorPayload = error.toPayload();
      const envelope = encodeMessage("session.error", payload, { session_id: this.#session?.id });
      this.#writer.write(envelope).catch(this.#gone("cannot send the closing session.error"));
    }
    if (!await settlesWithin(this.#writer.close(), CLOSE_GRACE_MS, this.#core.clock)) {
      await this.#writer.abort(error).catch(this.#gone("cannot abort a stuck transport"));
    }
    await this.#reader.cancel().catch(this.#gone("cannot cancel a closing transport's reads"));
  }

  /** Logs at debug what failed on a transport that is going or gone: nothing else is owed. */
  #gone(what: string): (error: unknown) => void {
    return (error) => this.#core.logger.debug(`arcp runtime: ${what}`, error);
  }

  /** Lets go of the session, once: stored as detached, unless another connection took it over. */
  #release(): void {
    const session = this.#session;
    if (session === undefined || this.#released) return;
    this.#released = true;
    session.detach(this);
    if (!this.#superseded) this.#core.detached(session);
  }

  /** Closes a connection that has not completed a handshake in time (hello or resume). */
  #armHelloDeadline(): void {
    const ms = this.#core.helloTimeoutMs;
    this.#helloTimer = this.#core.clock.setTimeout(() => {
      if (this.#session !== undefined || this.#closing) return;
      // One being answered (a slow authenticator) gets another period.
      if (this.#handshaking) return this.#armHelloDeadline();
      void this.#closeTransport(
        new ArcpError(
          "UNAUTHENTICATED",
          `No session.hello or session.resume within ${ms} ms: helloTimeoutMs is ${ms}`,
        ),
      );
    }, ms);
  }

  // Outlet ---------------------------------------------------------------

  async write(frames: readonly Envelope[]): Promise<void> {
    const writer = this.#writer;
    for (const frame of frames) writer.write(frame).catch(this.#onWriteError);
    this.#heartbeat?.sent();
    await writer.ready;
  }

  /** Closes the connection, first sending a reason that is an `ArcpError` as `session.error`. */
  drop(reason: unknown): void {
    this.#core.logger.debug("arcp runtime: connection dropped", reason);
    void this.#closeTransport(reason instanceof ArcpError ? reason : undefined);
  }

  supersede(reason: ArcpError): void {
    this.#superseded = true;
    this.drop(reason);
  }

  /** A failed write means the transport is unusable: close it so the client notices and resumes. */
  readonly #onWriteError = (error: unknown): void => {
    if (!this.#closing) this.drop(error);
  };

  // Receiving ------------------------------------------------------------

  async #receive(frame: Frame | MalformedFrame): Promise<void> {
    const requestId = frame instanceof MalformedFrame || typeof frame.id !== "string"
      ? undefined
      : frame.id;
    try {
      if (frame instanceof MalformedFrame) throw new ArcpError("INVALID_REQUEST", frame.reason);
      const message = decodeMessage(frame);
      if (message === undefined) return;
      if (this.#session !== undefined) await this.#dispatch(this.#session, message);
      else {
        this.#handshaking = true;
        try {
          await this.#handshake(message);
        } catch (error) {
          // A failed handshake does not hold a session slot, nor a session it took over.
          if (this.#session === undefined) {
            this.#uncount();
            const claimed = this.#claimed;
            this.#claimed = undefined;
            if (claimed !== undefined) this.#core.detached(claimed);
          }
          throw error;
        } finally {
          this.#handshaking = false;
        }
      }
    } catch (error) {
      const arcpError = wireError(error, this.#core.logger, "failed to handle a frame");
      if (arcpError === error && arcpError.code === "INTERNAL_ERROR") {
        this.#core.logger.error("arcp runtime: failed to handle a frame", error);
      }
      await this.#sendError(arcpError, requestId);
      if (this.#session === undefined && FATAL.has(arcpError.code)) this.close();
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
    else await this.#writer.write(envelope).catch(this.#gone(`cannot send ${type}`));
    this.#heartbeat?.sent();
  }

  async #handshake(message: Message): Promise<void> {
    if (message.type !== "session.hello" && message.type !== "session.resume") {
      throw new ArcpError(
        "INVALID_REQUEST",
        `Expected session.hello before "${message.type}": no session is established`,
      );
    }
    const resume = resumeRequestOf(message);
    const principal = message.type === "session.hello" &&
        (resume === undefined || message.payload.auth?.token !== undefined)
      ? await authenticate(this.#core, message)
      : undefined;
    const [session, token] = resume === undefined
      ? await this.#open(principal!)
      : await this.#resume(resume, principal);
    // A session.resume carries no capabilities: the session keeps what it negotiated.
    const features = message.type === "session.hello"
      ? negotiate(this.#core, message.payload.capabilities)
      : negotiate(this.#core, { features: session.record.features ?? [] });
    if (String(features) !== String(session.record.features)) {
      void session.updateRecord({ features });
    }
    this.#features = new Set(features);
    await this.#writer.write(encodeMessage("session.welcome", {
      runtime: { name: this.#core.name, version: this.#core.version },
      resume_token: token,
      resume_window_sec: this.#core.resumeWindowSec,
      heartbeat_interval_sec: this.#core.heartbeatIntervalSec,
      capabilities: { encodings: ["json"], features, agents: this.#core.registry.inventory() },
    }, { session_id: session.id }));
    this.#session = session;
    this.#core.clock.clearTimeout(this.#helloTimer);
    this.#core.attached(session);
    if (this.#features.has("heartbeat")) this.#startHeartbeat(session);
    const idleSec = this.#core.idleSessionSec;
    if (idleSec > 0) {
      this.#idle = new IdleWatch(idleSec, session, () => {
        void this.#closeTransport(
          new ArcpError(
            "INTERNAL_ERROR",
            `Session idle for ${idleSec} s (no request, no running job, no subscription): ` +
              `idleSessionSec is ${idleSec}`,
          ),
        );
      }, this.#core.clock);
    }
    const acking = this.#features.has("ack");
    if (resume === undefined) session.attach(this, acking);
    else {
      this.#rotated = true;
      await session.resume(this, resume.lastEventSeq, acking);
    }
  }

  /**
   * Counts this connection's session against its principal's cap (spec 1.1
   * §14); given back exactly once, when the connection closes or the
   * handshake fails.
   *
   * @throws {ArcpError} `INTERNAL_ERROR` naming the cap when it is reached.
   */
  #count(principalId: string): void {
    if (this.#closing) {
      throw new ArcpError("INTERNAL_ERROR", "The connection closed during the handshake");
    }
    this.#core.connectedSessions.add(principalId);
    this.#counted = principalId;
  }

  #uncount(): void {
    if (this.#counted === undefined) return;
    this.#core.connectedSessions.remove(this.#counted);
    this.#counted = undefined;
  }

  /** Opens a session, if its principal may connect one more. */
  #open(principal: Principal): Promise<[RuntimeSession, string]> {
    this.#count(principal.id);
    return openSession(this.#core, principal);
  }

  /**
   * Resumes a session, if its principal may connect one more; one refused
   * (or whose welcome cannot be sent) is left detached and resumable, with
   * the token it presented.
   */
  async #resume(
    request: ResumeRequest,
    principal: Principal | undefined,
  ): Promise<[RuntimeSession, string]> {
    const resumed = await resumeSession(this.#core, request, principal);
    this.#claimed = resumed[0];
    this.#count(resumed[0].principal.id);
    return resumed;
  }

  #startHeartbeat(session: RuntimeSession): void {
    this.#heartbeat = new Heartbeat(this.#core.heartbeatIntervalSec, (ping) => {
      void this.#send("session.ping", ping);
    }, () => {
      // The client went silent: the session stays resumable and its jobs run on (spec 1.1 §6.4).
      this.#core.logger.debug(`arcp runtime: heartbeat lost on session ${session.id}`);
      void this.#sendError(
        new ArcpError("HEARTBEAT_LOST", "No message from the client for two heartbeat intervals"),
        undefined,
      );
      this.close();
    }, this.#core.clock);
  }

  #dispatch(session: RuntimeSession, message: Message): Promise<void> | void {
    const feature = featureOf(message.type);
    if (feature !== undefined && !this.#features.has(feature)) {
      throw new ArcpError(
        "INVALID_REQUEST",
        `"${message.type}" needs the "${feature}" feature, which was not negotiated`,
      );
    }
    if (!sentByClient(message)) {
      throw new ArcpError("INVALID_REQUEST", `"${message.type}" is sent by runtimes, not clients`);
    }
    return this.#handle(session, message);
  }

  #handle<T extends ClientMessageType>(
    session: RuntimeSession,
    message: EnvelopeOf<T>,
  ): Promise<void> | void {
    return RuntimeConnection.#handlers[message.type](this, session, message);
  }

  static readonly #handlers: ClientHandlers = {
    "job.submit": (connection, session, message) => submitJob(connection.#core, session, message),
    "job.cancel": (connection, session, message) => connection.#cancel(session, message),
    "session.list_jobs": (connection, session, message) =>
      listJobs(connection.#core, session, message).then((payload) =>
        connection.#send("session.jobs", payload)
      ),
    "job.subscribe": (connection, session, message) =>
      subscribe(connection.#core, session, message),
    "job.unsubscribe": (_, session, message) => {
      session.subscriptions.get(message.payload.job_id)?.end();
    },
    "session.ack": (connection, session, { payload }) => {
      connection.#core.telemetry.acknowledged(
        Math.max(0, session.lastSeq - payload.last_processed_seq),
      );
      session.acknowledge(payload.last_processed_seq);
    },
    "session.ping": (connection, _, message) =>
      connection.#send("session.pong", {
        ping_nonce: message.payload.nonce,
        received_at: isoAt(connection.#core.clock),
      }),
    "session.pong": () => {},
    "session.close": (connection, session, message) =>
      connection.#send("session.closed", { reason: message.payload.reason ?? "client_close" })
        .then(() => session.flushed()).then(() => connection.close()),
    "session.bye": (connection) => connection.close(),
    "session.hello": alreadyEstablished,
    "session.resume": alreadyEstablished,
  };

  async #cancel(session: RuntimeSession, message: EnvelopeOf<"job.cancel">): Promise<void> {
    const jobId = message.job_id ?? message.payload.job_id;
    if (jobId === undefined) {
      throw new ArcpError("INVALID_REQUEST", 'Invalid job.cancel: "job_id" is missing');
    }
    const job = session.jobs.get(jobId);
    if (job === undefined && session.subscriptions.has(jobId)) {
      return this.#sendError(
        new ArcpError(
          "PERMISSION_DENIED",
          `Subscribing to job "${jobId}" does not confer cancel authority`,
        ),
        message.id,
        jobId,
      );
    }
    if (job === undefined || job.terminal) {
      const record = job?.record() ?? await this.#core.store.getJob(jobId);
      if (job === undefined && record?.session_id === session.id && isUnfinished(record)) {
        // Running on another runtime instance, which reads the request from the session.
        const reason = message.payload.reason ?? "cancelled by client";
        await session.requestCancel(jobId, reason);
        return this.#send("job.cancelled", { reason }, jobId);
      }
      const error = record === undefined || record.principal !== session.principal.id
        ? new ArcpError("JOB_NOT_FOUND", `Job "${jobId}" does not exist`)
        : record.session_id !== session.id
        ? new ArcpError(
          "PERMISSION_DENIED",
          `Only the session that submitted job "${jobId}" may cancel it`,
        )
        : new ArcpError(
          "INVALID_REQUEST",
          `Cannot cancel job "${jobId}": it already ended as ${record.status}`,
        );
      return this.#sendError(error, message.id, jobId);
    }
    const reason = message.payload.reason ?? "cancelled by client";
    await this.#send("job.cancelled", { reason }, jobId);
    job.abort(new ArcpError("CANCELLED", reason));
  }
}
