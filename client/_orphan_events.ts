// This module is browser compatible.
// Events of jobs the client does not know yet, e.g. replayed after a resume
// before the resent submit is answered: held until the job's stream claims
// them, and capped so that events no handle can claim do not pile up.

import type { Message } from "../protocol/envelope.ts";

/** Events held for unknown jobs beyond which, with no submit pending, the oldest are dropped. */
const MAX_ORPHANS = 10_000;

export class OrphanEvents {
  /** By job id, the oldest job first. */
  readonly #held = new Map<string, Message[]>();
  readonly #claimable: () => boolean;
  #count = 0;

  /** @param claimable Whether a request in flight may still claim held events. */
  constructor(claimable: () => boolean) {
    this.#claimable = claimable;
  }

  /** Holds a job message whose job has no stream. */
  hold(message: Message): void {
    const jobId = message.job_id!;
    const list = this.#held.get(jobId) ?? [];
    list.push(message);
    this.#held.set(jobId, list);
    // Past the cap, and with no submit left to claim them, the oldest job's
    // events are let go: they belong to no handle this client can make.
    if (++this.#count > MAX_ORPHANS && !this.#claimable()) {
      const [oldest, dropped] = this.#held.entries().next().value!;
      this.#held.delete(oldest);
      this.#count -= dropped.length;
    }
  }

  /** Hands over (and forgets) the events held for `jobId`. */
  claim(jobId: string): Message[] | undefined {
    const early = this.#held.get(jobId);
    if (early === undefined) return undefined;
    this.#held.delete(jobId);
    this.#count -= early.length;
    return early;
  }

  /** The lowest seq held; infinity for none. */
  firstSeq(): number {
    let first = Number.POSITIVE_INFINITY;
    for (const held of this.#held.values()) {
      const seq = held[0]?.event_seq;
      if (seq !== undefined && seq < first) first = seq;
    }
    return first;
  }
}
