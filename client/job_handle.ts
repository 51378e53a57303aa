// This module is browser compatible.
/**
 * The client's handle on one submitted job.
 *
 * @module
 */

import type { JobEvent } from "../protocol/events.ts";
import type {
  JobAcceptedPayload,
  JobResultPayload,
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
 * A job accepted by the runtime (spec §7.1): its identity and effective lease,
 * its events, and its result. The events are a single-consumer
 * `ReadableStream` (use `tee()` for more), also iterable with `for await`;
 * the stream closes on the terminal event.
 *
 * @example Stream events, then read the result
 * ```ts ignore
 * const job = await client.submit("count", { n: 3 });
 * for await (const event of job) console.log(event.event_seq, event.payload.kind);
 * const { result } = await job.result;
 * ```
 */
export class JobHandle implements AsyncIterable<JobEvent> {
  /** The job id. */
  readonly jobId: string;
  /** The resolved agent, `name@version` when versioned (spec 1.1 §7.5). */
  readonly agent: string;
  /** The effective lease (spec §7.1). */
  readonly lease: Lease;
  /** The lease constraints echoed by the runtime (spec 1.1 §9.5). */
  readonly leaseConstraints: LeaseConstraints | undefined;
  /** The job's trace-id (spec §11). */
  readonly traceId: string | undefined;
  /** The whole `job.accepted` payload. */
  readonly accepted: JobAcceptedPayload;
  /** The job's `job.event`s in order; closes after the terminal event. */
  readonly events: ReadableStream<JobEvent>;
  /**
   * Settles once: resolves with the `job.result` payload, rejects with an
   * `ArcpError` carrying the `job.error` code (`CANCELLED`, `TIMEOUT`,
   * `INTERNAL_ERROR`, …), or with `ConnectionClosedError` when the
   * connection ends first.
   */
  readonly result: Promise<JobResultPayload>;
  readonly #stream: JobStream;
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
    this.accepted = accepted;
    this.jobId = accepted.job_id;
    this.agent = accepted.agent ?? "";
    this.lease = accepted.lease ?? {};
    this.leaseConstraints = accepted.lease_constraints;
    this.traceId = accepted.trace_id;
    this.events = stream.events;
    this.result = stream.result;
    this.#stream = stream;
    this.#cancel = cancel;
  }

  /** Whether the job has ended (or the connection was lost). */
  get done(): boolean {
    return this.#stream.done;
  }

  /**
   * Asks the runtime to cancel the job (spec §7.4). Resolves when the runtime
   * acknowledges with `job.cancelled`, or at once if the job already ended;
   * the job then ends with `CANCELLED`, visible on {@linkcode JobHandle.result}.
   *
   * @param options Reason and abort signal.
   * @throws {ArcpError} `JOB_NOT_FOUND` when the runtime does not know the job.
   * @throws {ConnectionClosedError} when the connection is closed.
   */
  cancel(options: CancelOptions = {}): Promise<void> {
    return this.#cancel(options);
  }

  /**
   * Iterates the events (reads {@linkcode JobHandle.events}); breaking out
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
