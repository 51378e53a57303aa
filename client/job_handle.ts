// This module is browser compatible.
/**
 * The client's handles on jobs: one it submitted ({@linkcode JobHandle}) and
 * one it observes from another session ({@linkcode JobSubscription}).
 *
 * @module
 */

import type { JobEvent } from "../protocol/events.ts";
import type {
  Credential,
  JobAcceptedPayload,
  JobResultPayload,
  JobSubscribedPayload,
  Lease,
  LeaseConstraints,
} from "../protocol/messages.ts";
import type { JobStream } from "./_job_stream.ts";

/** Options of {@linkcode JobHandle.cancel}. */
export interface CancelOptions {
  /** Why the job is cancelled, sent as `job.cancel.payload.reason`. */
  reason?: string;
  /** Stops waiting for the runtime's `job.cancelled`. */
  signal?: AbortSignal;
}

/**
 * What every job handle offers: its identity, its events and its result. The
 * events are a single-consumer `ReadableStream` (use `tee()` for more), also
 * iterable with `for await`; the stream closes on the terminal event. Read
 * them, or cancel `events` if only the result matters: unread events beyond
 * the client's `eventBufferSize` hold back acknowledgement, which in turn
 * slows the agent (spec 1.1 §6.5).
 */
export abstract class JobView implements AsyncIterable<JobEvent> {
  /** The job id. */
  readonly jobId: string;
  /** The resolved agent, `name@version` when versioned (spec 1.1 §7.5). */
  readonly agent: string;
  /** The effective lease (spec §7.1). */
  readonly lease: Lease;
  /** The lease constraints (spec 1.1 §9.5). */
  readonly leaseConstraints: LeaseConstraints | undefined;
  /** The job's trace-id (spec §11). */
  readonly traceId: string | undefined;
  /** The job's `job.event`s in order; closes after the terminal event. */
  readonly events: ReadableStream<JobEvent>;
  /**
   * Settles once: resolves with the `job.result` payload, rejects with an
   * `ArcpError` carrying the `job.error` code (`CANCELLED`, `TIMEOUT`,
   * `INTERNAL_ERROR`, …), or with `ConnectionClosedError` when the
   * connection ends for good first.
   */
  readonly result: Promise<JobResultPayload>;
  readonly #stream: JobStream;

  /**
   * Built by subclasses from what the runtime announced; not constructed by users.
   *
   * @param fields The job's identity as the runtime announced it.
   * @param stream Where the client delivers this job's events.
   */
  constructor(
    fields: {
      job_id: string;
      agent?: string;
      lease?: Lease;
      lease_constraints?: LeaseConstraints;
      trace_id?: string;
      credentials?: Credential[];
    },
    stream: JobStream,
  ) {
    stream.credentials = fields.credentials ?? [];
    this.jobId = fields.job_id;
    this.agent = fields.agent ?? "";
    this.lease = fields.lease ?? {};
    this.leaseConstraints = fields.lease_constraints;
    this.traceId = fields.trace_id;
    this.events = stream.events;
    this.result = stream.result;
    this.#stream = stream;
  }

  /**
   * The bytes of a streamed result (spec 1.1 §8.4), reassembled from its
   * `result_chunk` events in order and checked complete against
   * `result_size`.
   *
   * @returns The whole result.
   * @throws {ArcpError} the job's error; `RESUME_WINDOW_EXPIRED` for a
   *   subscription that began after some chunks were emitted (a late
   *   `subscribe` without history, or one whose replay no longer reaches
   *   them: the job succeeded, but its bytes are not to be had here); or
   *   `INTERNAL_ERROR` when chunks are missing, out of order or of the
   *   wrong total size.
   * @throws {TypeError} when the result was inline, not streamed.
   */
  resultBytes(): Promise<Uint8Array> {
    return this.#stream.resultBytes();
  }

  /**
   * A streamed result decoded as UTF-8 text; see {@linkcode JobView.resultBytes}.
   *
   * @returns The whole result as a string.
   */
  async resultText(): Promise<string> {
    return new TextDecoder().decode(await this.resultBytes());
  }

  /**
   * The job's provisioned credentials (spec 1.1 §9.8), sent only to its
   * submitter: values follow `credential_rotated` status events, and the
   * list empties when the job ends, so nothing outlives the job. Secrets:
   * never log or persist them.
   */
  get credentials(): readonly Credential[] {
    return this.#stream.credentials;
  }

  /** Whether the job has ended (or the connection was lost for good). */
  get done(): boolean {
    return this.#stream.done;
  }

  /**
   * Iterates the events (reads {@linkcode JobView.events}); breaking out
   * early cancels the stream, not the job.
   */
  [Symbol.asyncIterator](): AsyncIterator<JobEvent> {
    const reader = this.events.getReader();
    return {
      next: () => reader.read() as Promise<IteratorResult<JobEvent>>,
      return: async () => {
        await reader.cancel();
        return { done: true, value: undefined };
      },
    };
  }
}

/**
 * A job this client submitted and the runtime accepted (spec §7.1).
 *
 * @example Stream events, then read the result
 * ```ts ignore
 * const job = await client.submit("count", { n: 3 });
 * for await (const event of job) console.log(event.event_seq, event.payload.kind);
 * const { result } = await job.result;
 * ```
 */
export class JobHandle extends JobView {
  /** The whole `job.accepted` payload, except `credentials` (see {@linkcode JobView.credentials}). */
  readonly accepted: JobAcceptedPayload;
  readonly #cancel: (options: CancelOptions) => Promise<void>;

  /**
   * Built by the client on `job.accepted`; not constructed by users.
   *
   * @param accepted The `job.accepted` payload.
   * @param stream Where the client delivers this job's events.
   * @param cancel Sends `job.cancel` for this job.
   */
  constructor(
    accepted: JobAcceptedPayload,
    stream: JobStream,
    cancel: (options: CancelOptions) => Promise<void>,
  ) {
    super(accepted, stream);
    const { credentials: _held, ...rest } = accepted;
    this.accepted = rest;
    this.#cancel = cancel;
  }

  /**
   * Asks the runtime to cancel the job (spec §7.4). Resolves when the runtime
   * acknowledges with `job.cancelled`, or at once if the job already ended;
   * the job then ends with `CANCELLED`, visible on {@linkcode JobView.result}.
   *
   * @param options Reason and abort signal.
   * @throws {ArcpError} `JOB_NOT_FOUND` when the runtime does not know the job.
   * @throws {ConnectionClosedError} when the connection is closed.
   */
  cancel(options: CancelOptions = {}): Promise<void> {
    return this.#cancel(options);
  }
}

/**
 * A job of another session this client observes (spec 1.1 §7.6): its events
 * in this session's sequence space, but no authority over it.
 *
 * @example Follow a job from a dashboard
 * ```ts ignore
 * const watched = await client.subscribe(jobId, { history: true });
 * for await (const event of watched) console.log(event.payload.kind);
 * ```
 */
export class JobSubscription extends JobView {
  /** The `job.subscribed` payload (the observer's authority descriptor), except `credentials`. */
  readonly subscribed: JobSubscribedPayload;
  readonly #unsubscribe: () => Promise<void>;

  /**
   * Built by the client on `job.subscribed`; not constructed by users.
   *
   * @param subscribed The `job.subscribed` payload.
   * @param stream Where the client delivers this job's events.
   * @param unsubscribe Sends `job.unsubscribe`.
   */
  constructor(
    subscribed: JobSubscribedPayload,
    stream: JobStream,
    unsubscribe: () => Promise<void>,
  ) {
    super(subscribed, stream);
    const { credentials: _held, ...rest } = subscribed;
    this.subscribed = rest;
    this.#unsubscribe = unsubscribe;
  }

  /** Stops observing (spec 1.1 §7.6); the job itself goes on. */
  unsubscribe(): Promise<void> {
    return this.#unsubscribe();
  }
}
