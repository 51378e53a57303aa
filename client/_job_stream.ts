// This module is browser compatible.
// The receiving end of one job: its event stream and its settle-once result.
// The client feeds it; a JobHandle exposes it. Events wait in a queue of our
// own and enter the ReadableStream only when the consumer reads, so the
// client knows what has been consumed and acknowledges no further (STYLE 29).

import { ArcpError } from "../protocol/errors.ts";
import type { JobEvent } from "../protocol/events.ts";
import type { Credential, JobErrorPayload, JobResultPayload } from "../protocol/messages.ts";
import { ChunkAssembler } from "./_chunks.ts";

export class JobStream {
  readonly events: ReadableStream<JobEvent>;
  readonly result: Promise<JobResultPayload>;
  readonly #highWaterMark: number;
  readonly #onRead: () => void;
  #controller!: ReadableStreamDefaultController<JobEvent>;
  #settle = Promise.withResolvers<JobResultPayload>();
  #queue: JobEvent[] = [];
  #head = 0;
  #waiting = false;
  #open = true;
  #ending: (() => void) | undefined;
  #done = false;
  readonly #chunks = new ChunkAssembler();
  /** Why a streamed result cannot be assembled by this subscriber, though the job succeeded. */
  #unavailable: string | undefined;
  /** Live credentials (spec 1.1 §9.8): rotated by status events, dropped when the job ends. */
  #credentials: Credential[] = [];

  /**
   * @param highWaterMark Events that may wait unread and still count as
   *   processed; past it, acknowledgement stops until the consumer reads.
   * @param onRead Called when the consumer has taken an event or cancelled
   *   the stream: what it has read changed.
   */
  constructor(highWaterMark: number, onRead: () => void) {
    this.#highWaterMark = highWaterMark;
    this.#onRead = onRead;
    this.events = new ReadableStream<JobEvent>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => {
        if (this.#head < this.#queue.length) this.#deliver();
        else if (this.#ending !== undefined) this.#ending();
        else this.#waiting = true;
      },
      cancel: () => {
        this.#open = false;
        this.#queue = [];
        this.#head = 0;
        this.#onRead();
      },
    }, { highWaterMark: 0 });
    this.result = this.#settle.promise;
    // The handle's owner may never await the result; that must not surface
    // as an unhandled rejection.
    this.result.catch(() => {});
  }

  /** The assembled bytes of a streamed result (spec 1.1 §8.4), once the job succeeded. */
  async resultBytes(): Promise<Uint8Array> {
    const payload = await this.result;
    if (payload.result_id === undefined) {
      throw new TypeError(
        "Cannot read a streamed result: this job's result is inline (see result.result)",
      );
    }
    if (this.#unavailable !== undefined) {
      // Outside what the subscription replayed, which the buffer window bounds (spec 1.1 §7.6).
      throw new ArcpError("RESUME_WINDOW_EXPIRED", this.#unavailable, {
        details: { result_id: payload.result_id },
      });
    }
    return this.#chunks.bytes();
  }

  /**
   * This stream is a subscription's (spec 1.1 §7.6): it may begin after some
   * of the job's events, so a streamed result may be unavailable here.
   */
  joinedLate(): void {
    this.#chunks.joinedLate();
  }

  /** The job's credentials as of the latest rotation; empty once it ended (spec 1.1 §9.8.2). */
  get credentials(): readonly Credential[] {
    return this.#credentials;
  }

  set credentials(credentials: readonly Credential[]) {
    if (!this.#done) this.#credentials = credentials.map((credential) => ({ ...credential }));
  }

  /** Whether the terminal event (or a connection loss) has been seen. */
  get done(): boolean {
    return this.#done;
  }

  /** The first event queued but not yet read by the consumer, if any. */
  get firstUnreadSeq(): number | undefined {
    return this.#queue[this.#head]?.event_seq;
  }

  /** The first event this stream holds back from acknowledgement, if any. */
  get firstUnprocessedSeq(): number | undefined {
    return this.#queue[this.#head + this.#highWaterMark]?.event_seq;
  }

  push(event: JobEvent): void {
    // Chunks are assembled as they arrive, whether or not anyone reads the events.
    if (event.payload.kind === "result_chunk") this.#chunks.add(event.payload.body);
    else if (event.payload.kind === "status") this.#rotate(event.payload.body);
    if (!this.#open) return;
    this.#queue.push(event);
    if (this.#waiting) this.#deliver();
  }

  succeed(payload: JobResultPayload): void {
    if (this.#done) return;
    this.#done = true;
    this.#credentials = [];
    const missed = payload.result_id === undefined ? undefined : this.#chunks.missed(payload);
    if (missed !== undefined) {
      this.#unavailable = `Streamed result ${payload.result_id} is not available to this ` +
        `subscriber: ${missed} emitted before the events it received (subscribe with history ` +
        `while the runtime still holds the job's events)`;
    }
    const problem = payload.result_id === undefined || missed !== undefined
      ? undefined
      : this.#chunks.check(payload);
    if (problem === undefined) this.#settle.resolve(payload);
    else {this.#settle.reject(
        new ArcpError(
          "INTERNAL_ERROR",
          `Streamed result ${payload.result_id} is unusable: ${problem}`,
        ),
      );}
    this.#end(() => this.#controller.close());
  }

  fail(payload: JobErrorPayload): void {
    if (this.#done) return;
    this.#done = true;
    this.#credentials = [];
    this.#settle.reject(ArcpError.fromPayload(payload));
    this.#end(() => this.#controller.close());
  }

  /** The connection went away for good before the job ended. */
  abandon(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#credentials = [];
    this.#settle.reject(error);
    if (this.#open) {
      this.#open = false;
      this.#controller.error(error);
    }
  }

  /** Applies a `credential_rotated` status; `id` is accepted for `credential_id`. */
  #rotate(body: Record<string, unknown>): void {
    if (body.phase !== "credential_rotated" || typeof body.value !== "string") return;
    const id = body.credential_id ?? body.id;
    const value = body.value;
    // Replaced, not mutated: a caller's earlier copy keeps the value it had.
    this.#credentials = this.#credentials.map((c) => c.id === id ? { ...c, value } : c);
  }

  #deliver(): void {
    this.#waiting = false;
    this.#controller.enqueue(this.#queue[this.#head++]!);
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#onRead();
  }

  /** Closes the stream once the consumer has read what is queued. */
  #end(close: () => void): void {
    if (!this.#open) return;
    const finish = () => {
      this.#open = false;
      close();
    };
    if (this.#head >= this.#queue.length && this.#waiting) finish();
    else this.#ending = finish;
  }
}
