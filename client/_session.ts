// This module is browser compatible.
// The client's session machinery: one connection at a time, requests matched
// to answers, events routed to job streams in `event_seq` order with gaps
// and duplicates caught (spec §8.3), acknowledgement of what was consumed
// (spec 1.1 §6.5), heartbeats (§6.4), and reconnect-and-resume (§6.3).

import {
  decodeMessage,
  encodeMessage,
  type EnvelopeOf,
  type Message,
  type MessageOf,
  type ReplyType,
  type RequestType,
  type RuntimeMessageType,
  sentByRuntime,
} from "../protocol/envelope.ts";
import { ArcpError, ConnectionClosedError } from "../protocol/errors.ts";
import type { JobEvent } from "../protocol/events.ts";
import type { Envelope, SessionWelcomePayload } from "../protocol/messages.ts";
import { Heartbeat } from "../internal/heartbeat.ts";
import { MalformedFrame } from "../transports/types.ts";
import type { ResumeStateStore } from "./resume_state.ts";
import type { Link, Welcomed } from "./_handshake.ts";
import { JobStream } from "./_job_stream.ts";
import { OrphanEvents } from "./_orphan_events.ts";
import { PendingRequests } from "./_pending_requests.ts";
import { reconnect, type ReconnectPlan } from "./_reconnect.ts";
import { Throttle } from "./_throttle.ts";

export interface SessionOptions {
  reconnect: ReconnectPlan | undefined;
  resumeStore: ResumeStateStore | undefined;
  resumeKey: string;
  autoAck: boolean;
  eventBufferSize: number;
  logger: Pick<Console, "debug" | "warn" | "error">;
  lastEventSeq: number;
}

/**
 * The wait from a read to its acknowledgement and resume-state save, and so
 * the least time between two of them (spec 1.1 §6.5).
 */
const ACK_INTERVAL_MS = 200;

/** What the client does with each message a runtime sends. */
type RuntimeHandlers = {
  readonly [T in RuntimeMessageType]: (session: Session, message: EnvelopeOf<T>) => void;
};

export class Session {
  sessionId: string;
  welcome: SessionWelcomePayload;
  features: ReadonlySet<string> = new Set();
  readonly #options: SessionOptions;
  readonly #pending = new PendingRequests();
  readonly #streams = new Map<string, JobStream>();
  /** Events of jobs not yet known here, e.g. replayed before a resent submit is answered. */
  readonly #orphans = new OrphanEvents(() => this.#pending.hasSubmit());
  readonly #accepted = new Map<string, JobStream>();
  readonly #closing = new AbortController();
  readonly #finished = Promise.withResolvers<void>();
  #link: Link | undefined;
  #token: string;
  #lastSeq: number;
  #ackedSent: number;
  #savedSeq = -1;
  /** The highest `last_event_seq` a resume store has confirmed saving: no ack goes past it. */
  #durableSeq: number;
  #failure: Error | undefined;
  /** The runtime's last unanswered session.error on this link: why it is about to close it. */
  #closedBy: ArcpError | undefined;
  #heartbeat: Heartbeat | undefined;
  /** Acknowledges and saves after reads and arrivals; idle while nothing changes. */
  readonly #progress = new Throttle(() => this.#acknowledge(), ACK_INTERVAL_MS);

  constructor(welcomed: Welcomed, options: SessionOptions) {
    this.#options = options;
    this.#lastSeq = options.lastEventSeq;
    this.#ackedSent = options.lastEventSeq;
    this.#durableSeq = options.lastEventSeq;
    this.sessionId = welcomed.welcome.session_id ?? "";
    this.welcome = welcomed.welcome.payload;
    this.#token = welcomed.welcome.payload.resume_token;
    this.#adopt(welcomed);
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Sends a request and resolves with its answer; resent after a resume. */
  request<T extends RequestType>(
    envelope: EnvelopeOf<T>,
    signal?: AbortSignal,
  ): Promise<EnvelopeOf<ReplyType<T>>> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { promise, resolve, reject } = Promise.withResolvers<EnvelopeOf<ReplyType<T>>>();
    // Only a reply the table gives for T resolves it (PendingRequests.take).
    this.#pending.add({ envelope, resolve: resolve as (reply: Message) => void, reject });
    this.#write(envelope);
    if (signal === undefined) return promise;
    const onAbort = () => {
      this.#pending.delete(envelope.id);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    return promise.finally(() => signal.removeEventListener("abort", onAbort));
  }

  /** Sends a message that has no answer; lost if the connection is down. */
  send(envelope: Envelope): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    this.#write(envelope);
    return Promise.resolve();
  }

  /** The stream of `jobId`, created (and fed any early events) on first use. */
  streamFor(jobId: string): JobStream {
    let stream = this.#streams.get(jobId);
    if (stream !== undefined) return stream;
    stream = new JobStream(this.#options.eventBufferSize, () => this.#changed());
    this.#streams.set(jobId, stream);
    for (const message of this.#orphans.claim(jobId) ?? []) this.#deliver(stream, message);
    return stream;
  }

  /** The stream made when `jobId` was accepted, for the handle submit() returns. */
  claimStream(jobId: string): JobStream {
    const stream = this.#accepted.get(jobId);
    this.#accepted.delete(jobId);
    return stream ?? this.streamFor(jobId);
  }

  /** Stops routing `jobId`'s events here, failing its stream with `error` if given. */
  forget(jobId: string, error?: Error): void {
    const stream = this.#streams.get(jobId);
    this.#streams.delete(jobId);
    if (error !== undefined) stream?.abandon(error);
    this.#changed();
  }

  /** Whether `jobId` is not (or no longer) a running job of this client. */
  jobDone(jobId: string): boolean {
    return this.#streams.get(jobId)?.done !== false;
  }

  /** Acknowledges through `seq`; not recorded as sent while the connection is down. */
  ack(seq: number): void {
    if (seq <= this.#ackedSent || !this.features.has("ack") || this.#link === undefined) return;
    this.#ackedSent = seq;
    this.#write(
      encodeMessage("session.ack", { last_processed_seq: seq }, { session_id: this.sessionId }),
    );
  }

  async close(signal?: AbortSignal): Promise<void> {
    if (!this.#closing.signal.aborted && this.#failure === undefined && this.#link !== undefined) {
      const envelope = encodeMessage("session.close", { reason: "client_close" }, {
        session_id: this.sessionId,
      });
      // Peers that predate session.close answer with session.error; either way we are done.
      await this.request(envelope, signal).catch(() => {});
    }
    this.#closing.abort(new ConnectionClosedError("The client closed the session"));
    this.#dropLink();
    if (this.#link === undefined) {
      this.#finish(new ConnectionClosedError("The client closed the session"));
    }
    await this.#finished.promise;
  }

  // Connection lifecycle ---------------------------------------------------

  #adopt({ link, welcome }: Welcomed): void {
    this.#link = link;
    this.#closedBy = undefined;
    this.welcome = welcome.payload;
    this.#token = welcome.payload.resume_token;
    const features = new Set(welcome.payload.capabilities.features ?? []);
    this.features = features;
    this.#saveState();
    if (features.has("heartbeat")) {
      this.#heartbeat = new Heartbeat(welcome.payload.heartbeat_interval_sec ?? 30, (ping) => {
        this.#write(encodeMessage("session.ping", ping, { session_id: this.sessionId }));
      }, () => {
        this.#options.logger.warn("arcp client: heartbeat lost; reconnecting");
        this.#dropLink();
      });
    }
    void this.#run(link);
    // Requests the previous connection left unanswered go out again; submits
    // carry idempotency keys, so none can start a second job.
    for (const envelope of this.#pending.envelopes()) this.#write(envelope);
    // What was read while the connection was down is acknowledged on this one.
    this.#changed();
  }

  async #run(link: Link): Promise<void> {
    let cause: unknown;
    try {
      for (;;) {
        const { value, done } = await link.reader.read();
        if (done) break;
        this.#heartbeat?.received();
        if (value instanceof MalformedFrame) {
          this.#options.logger.warn(`arcp client: ignoring a malformed frame: ${value.reason}`);
          continue;
        }
        let message: Message | undefined;
        try {
          message = decodeMessage(value);
        } catch (invalid) {
          this.#options.logger.warn("arcp client: ignoring an invalid frame", invalid);
          continue;
        }
        if (message !== undefined) {
          this.#dispatch(message);
          this.#changed();
        }
        if (this.#link !== link) break;
      }
    } catch (error) {
      cause = error;
    }
    if (this.#link === link) this.#dropLink();
    if (this.#failure !== undefined) return;
    if (this.#closing.signal.aborted) return this.#finish(this.#closing.signal.reason);
    if (this.#options.reconnect === undefined) {
      const closedBy = this.#closedBy;
      return this.#finish(
        closedBy === undefined
          ? new ConnectionClosedError("The connection closed", { cause })
          : ConnectionClosedError.fromRuntime(closedBy, "The runtime closed the connection"),
      );
    }
    await this.#reconnect();
  }

  #dropLink(): void {
    const link = this.#link;
    this.#link = undefined;
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    this.#progress.flush();
    if (link !== undefined) {
      const { logger } = this.#options;
      link.writer.close().catch((error) => logger.debug("arcp client: cannot close a link", error));
      link.reader.cancel().catch((error) =>
        logger.debug("arcp client: cannot cancel a link", error)
      );
    }
  }

  async #reconnect(): Promise<void> {
    let welcomed: Welcomed;
    try {
      welcomed = await reconnect(this.#options.reconnect!, {
        resume: () => ({
          session_id: this.sessionId,
          resume_token: this.#token,
          last_event_seq: this.#lastSeq,
        }),
        signal: this.#closing.signal,
        logger: this.#options.logger,
      });
    } catch (error) {
      // Refused for good (an ArcpError): the saved resume state is useless too.
      // Jobs then fail as the connection's loss, not as if they had failed.
      if (error instanceof ArcpError) {
        await this.#options.resumeStore?.delete(this.#options.resumeKey).catch((reason) => {
          this.#options.logger.warn("arcp client: cannot delete the resume state", reason);
        });
        return this.#finish(
          ConnectionClosedError.fromRuntime(error, `Cannot resume session ${this.sessionId}`),
        );
      }
      return this.#finish(error as Error);
    }
    this.#adopt(welcomed);
  }

  /** Ends the session for good: everything waiting fails with `error`. */
  #finish(error: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#progress.cancel();
    this.#heartbeat?.stop();
    this.#pending.rejectAll(error);
    for (const stream of this.#streams.values()) stream.abandon(error);
    this.#streams.clear();
    this.#finished.resolve();
  }

  #write(envelope: Envelope): void {
    const link = this.#link;
    if (link === undefined) return;
    // A failed write means a failed link, which the read loop reports and recovers.
    link.writer.write(envelope).catch((error) => {
      this.#options.logger.debug(`arcp client: cannot send ${envelope.type}`, error);
    });
    this.#heartbeat?.sent();
  }

  /**
   * Something read or received may have moved what to acknowledge or save:
   * both happen ACK_INTERVAL_MS later, for everything read meanwhile. With
   * neither automatic acknowledgement nor a resume store there is nothing to do.
   */
  #changed(): void {
    if (this.#failure !== undefined) return;
    if (this.#options.autoAck || this.#options.resumeStore !== undefined) this.#progress.request();
  }

  /** Acknowledges what was consumed, and saves the resume state. */
  #acknowledge(): void {
    if (this.#options.autoAck) {
      let processed = this.#lastSeq;
      for (const stream of this.#streams.values()) {
        const first = stream.firstUnprocessedSeq;
        if (first !== undefined && first - 1 < processed) processed = first - 1;
      }
      // With saved state, what a restarted process resumes from must still be
      // in the log: nothing past what was read, nor past what the store has
      // confirmed (a crash between an ack and its save would resume from a
      // trimmed seq). A save that confirms more asks for another ack.
      if (this.#options.resumeStore !== undefined) {
        processed = Math.min(processed, this.#readSeq(), this.#durableSeq);
      }
      // Events of a job whose job.accepted was lost stay unacknowledged while
      // a submit may still claim them: flow control then bounds how many come.
      if (this.#pending.hasSubmit()) processed = Math.min(processed, this.#orphans.firstSeq() - 1);
      this.ack(processed);
    }
    this.#saveState();
  }

  /**
   * The highest seq through which every event reached the application (or
   * needs no reader): what another process may resume from. Events held in
   * a stream's queue or for a job not yet known die with this process.
   */
  #readSeq(): number {
    let read = this.#lastSeq;
    for (const stream of this.#streams.values()) {
      const first = stream.firstUnreadSeq;
      if (first !== undefined && first - 1 < read) read = first - 1;
    }
    return Math.min(read, this.#orphans.firstSeq() - 1);
  }

  #saveState(): void {
    const store = this.#options.resumeStore;
    if (store === undefined) return;
    const read = this.#readSeq();
    if (this.#savedSeq === read && this.#link !== undefined) return;
    this.#savedSeq = read;
    store.save(this.#options.resumeKey, {
      session_id: this.sessionId,
      resume_token: this.#token,
      last_event_seq: read,
    }).then(
      () => {
        if (read <= this.#durableSeq) return;
        this.#durableSeq = read;
        const open = this.#failure === undefined && this.#link !== undefined;
        if (open && this.#options.autoAck && read > this.#ackedSent) this.#progress.request();
      },
      (error) => this.#options.logger.warn("arcp client: cannot save resume state", error),
    );
  }

  // Dispatch ---------------------------------------------------------------

  /** Accepts the next sequenced message, drops a duplicate, and resumes on a gap. */
  #inSequence(message: Message): boolean {
    const seq = message.event_seq;
    if (seq === undefined) return true;
    if (this.#lastSeq > 0 && seq <= this.#lastSeq) return false;
    if (this.#lastSeq > 0 && seq !== this.#lastSeq + 1) {
      this.#options.logger.warn(
        `arcp client: event_seq jumped from ${this.#lastSeq} to ${seq}; resuming`,
      );
      if (this.#options.reconnect === undefined) {
        this.#finish(
          new ConnectionClosedError(
            `Events were lost: event_seq jumped from ${this.#lastSeq} to ${seq}`,
          ),
        );
      }
      this.#dropLink();
      return false;
    }
    this.#lastSeq = seq;
    return true;
  }

  #deliver(stream: JobStream, message: Message): void {
    if (message.type === "job.event") return stream.push(message as JobEvent);
    if (message.type === "job.result") {
      const payload = message.payload;
      // Lenient: some runtimes name the inline result `output`.
      if (payload.result === undefined && "output" in payload) payload.result = payload.output;
      stream.succeed(payload);
    } else if (message.type === "job.error") stream.fail(message.payload);
    else return;
    this.#streams.delete(message.job_id!);
    this.#pending.answerCancels(message);
  }

  #dispatch(message: Message): void {
    if (sentByRuntime(message)) this.#handle(message);
    else this.#ignore(message);
  }

  #ignore(message: Message): void {
    this.#options.logger.debug(`arcp client: ignoring ${message.type}`);
  }

  #handle<T extends RuntimeMessageType>(message: EnvelopeOf<T>): void {
    Session.#handlers[message.type](this, message);
  }

  static readonly #handlers: RuntimeHandlers = {
    "job.event": (session, message) => session.#route(message),
    "job.result": (session, message) => session.#route(message),
    "job.error": (session, message) => session.#route(message),
    "job.accepted": (session, message) => {
      const pending = session.#pending.take(message.type, message.payload.request_id);
      if (pending !== undefined) {
        // Made now, so events right behind the accepted frame have a home;
        // kept until submit() claims it, even if early events ended it.
        session.#accepted.set(message.payload.job_id, session.streamFor(message.payload.job_id));
        return pending.resolve(message);
      }
      // Its submit was abandoned (the signal aborted): stop the job. A job
      // delegated by one of ours (parent_job_id) was never submitted here.
      if (message.payload.parent_job_id == null && !session.#streams.has(message.payload.job_id)) {
        session.#write(encodeMessage("job.cancel", { reason: "submit abandoned" }, {
          session_id: session.sessionId,
          job_id: message.payload.job_id,
        }));
      }
    },
    "job.subscribed": (session, message) =>
      session.#pending.take(message.type, message.payload.request_id, message.payload.job_id)
        ?.resolve(message),
    "session.jobs": (session, message) =>
      session.#pending.take(message.type, message.payload.request_id)?.resolve(message),
    "job.cancelled": (session, message) => session.#pending.answerCancels(message),
    "session.closed": (session, message) =>
      session.#pending.take(message.type, undefined)?.resolve(message),
    "session.error": (session, message) => session.#sessionError(message.payload, message.job_id),
    "session.ping": (session, message) =>
      session.#write(encodeMessage("session.pong", {
        ping_nonce: message.payload.nonce,
        received_at: new Date().toISOString(),
      }, { session_id: session.sessionId })),
    // Arrival is what counts: the heartbeat noted it when the frame was read.
    "session.pong": (session, message) => session.#ignore(message),
    // The handshake took it; another one answers nothing.
    "session.welcome": (session, message) => session.#ignore(message),
    // The runtime closes the connection right after: reconnecting decides what follows.
    "session.bye": (session, message) => session.#ignore(message),
  };

  /** Routes a sequenced message to its job's stream, or holds it until the job is known. */
  #route(message: MessageOf<"job.event" | "job.result" | "job.error">): void {
    if (!this.#inSequence(message) || message.job_id === undefined) return;
    const stream = this.#streams.get(message.job_id);
    if (stream === undefined) return this.#orphans.hold(message);
    return this.#deliver(stream, message);
  }

  #sessionError(
    payload: Message["payload"] & { code: string; request_id?: string },
    jobId: string | undefined,
  ): void {
    // Not an answer: the runtime stopped feeding a job this client follows
    // (a subscription whose buffer overflowed).
    const stream = jobId === undefined ? undefined : this.#streams.get(jobId);
    if (payload.request_id === undefined && stream !== undefined && !this.#pending.asked(jobId!)) {
      this.#streams.delete(jobId!);
      return stream.abandon(ArcpError.fromPayload(payload));
    }
    const pending = this.#pending.take(undefined, payload.request_id);
    if (pending === undefined) {
      this.#options.logger.warn(
        `arcp client: session.error ${payload.code}: ${(payload as { message: string }).message}`,
      );
      // Answering nothing, it is the reason for the close that usually follows.
      this.#closedBy = ArcpError.fromPayload(payload);
      return;
    }
    pending.reject(ArcpError.fromPayload(payload));
  }
}
