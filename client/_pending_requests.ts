// This module is browser compatible.
// The client's requests that await an answer, and how an answer finds its
// request: by `request_id`, else the oldest request the answer's type replies
// to (by the message table).

import { answers, type Message, type MessageOf, type MessageType } from "../protocol/envelope.ts";
import type { Envelope } from "../protocol/messages.ts";

/** A request sent and not answered yet. */
export interface PendingRequest {
  envelope: Envelope;
  resolve(reply: Message): void;
  reject(error: Error): void;
}

export class PendingRequests {
  /** By envelope id, in the order they were sent. */
  readonly #pending = new Map<string, PendingRequest>();

  add(request: PendingRequest): void {
    this.#pending.set(request.envelope.id, request);
  }

  /** Forgets a request nobody waits for any more. */
  delete(id: string): void {
    this.#pending.delete(id);
  }

  /** The envelopes awaiting an answer, oldest first: what a new connection sends again. */
  *envelopes(): Iterable<Envelope> {
    for (const pending of this.#pending.values()) yield pending.envelope;
  }

  /** Whether a `job.submit` awaits its `job.accepted`: held orphans may be its job's. */
  hasSubmit(): boolean {
    for (const pending of this.#pending.values()) {
      if (pending.envelope.type === "job.submit") return true;
    }
    return false;
  }

  /** Whether a request about `jobId` awaits an answer. */
  asked(jobId: string): boolean {
    for (const pending of this.#pending.values()) {
      const { job_id: about } = pending.envelope.payload as { job_id?: string };
      if (about === jobId || pending.envelope.job_id === jobId) return true;
    }
    return false;
  }

  /**
   * The pending request a message answers: by `request_id`, else the oldest
   * one `answer` replies to (any, when `answer` is undefined).
   */
  take(
    answer: MessageType | undefined,
    requestId: string | undefined,
    jobId?: string,
  ): PendingRequest | undefined {
    let id = requestId !== undefined && this.#pending.has(requestId) ? requestId : undefined;
    if (id === undefined && requestId === undefined) {
      for (const [candidate, pending] of this.#pending) {
        const { type: sent, payload } = pending.envelope as Envelope<string, { job_id?: string }>;
        if (answer !== undefined && !answers(answer, sent)) continue;
        if (jobId !== undefined && payload.job_id !== jobId) continue;
        id = candidate;
        break;
      }
    }
    if (id === undefined) return undefined;
    const pending = this.#pending.get(id)!;
    this.#pending.delete(id);
    return pending;
  }

  /** Resolves every `job.cancel` of the job `answer` is about: it has ended, one way or another. */
  answerCancels(answer: MessageOf<"job.cancelled" | "job.result" | "job.error">): void {
    for (const [id, pending] of this.#pending) {
      if (pending.envelope.type === "job.cancel" && pending.envelope.job_id === answer.job_id) {
        this.#pending.delete(id);
        pending.resolve(answer);
      }
    }
  }

  /** Fails every request with `error`: the session has ended. */
  rejectAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
