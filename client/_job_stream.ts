// This module is browser compatible.
// The receiving end of one job: its event stream and its settle-once result.
// The client feeds it; a JobHandle exposes it.

import { ArcpError } from "../protocol/errors.ts";
import type { JobEvent } from "../protocol/events.ts";
import type { JobErrorPayload, JobResultPayload } from "../protocol/messages.ts";

export class JobStream {
  readonly events: ReadableStream<JobEvent>;
  readonly result: Promise<JobResultPayload>;
  #controller!: ReadableStreamDefaultController<JobEvent>;
  #settle = Promise.withResolvers<JobResultPayload>();
  #open = true;
  #done = false;

  constructor() {
    this.events = new ReadableStream<JobEvent>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => {
        this.#open = false;
      },
    });
    this.result = this.#settle.promise;
    // The handle's owner may never await the result; that must not surface
    // as an unhandled rejection.
    this.result.catch(() => {});
  }

  /** Whether the terminal event (or a connection loss) has been seen. */
  get done(): boolean {
    return this.#done;
  }

  push(event: JobEvent): void {
    if (this.#open) this.#controller.enqueue(event);
  }

  succeed(payload: JobResultPayload): void {
    if (this.#done) return;
    this.#done = true;
    this.#settle.resolve(payload);
    this.#close();
  }

  fail(payload: JobErrorPayload): void {
    if (this.#done) return;
    this.#done = true;
    this.#settle.reject(ArcpError.fromPayload(payload));
    this.#close();
  }

  /** The connection went away before the job ended. */
  abandon(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#settle.reject(error);
    if (this.#open) {
      this.#open = false;
      this.#controller.error(error);
    }
  }

  #close(): void {
    if (this.#open) {
      this.#open = false;
      this.#controller.close();
    }
  }
}
