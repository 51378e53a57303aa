// This module is browser compatible.
// The envelope ids of a session's recent `job.submit` messages. An envelope
// `id` is unique per message and is what transports deduplicate by (spec 1.0
// §5, §7.2 "transport-level"), so a second `job.submit` with an id already
// seen is a retransmission: a client that lost its connection before the
// `job.accepted` sends it again after resuming. The session remembers what
// each id was answered with, for a bounded number of ids, so that the
// retransmission gets the same answer instead of starting a second job.

import { sha256Hex } from "./_digest.ts";

/** What an earlier `job.submit` with the same envelope id came to. */
export interface EarlierSubmit {
  /** Fingerprint of its parameters and idempotency key, see {@linkcode submitIdFingerprint}. */
  fingerprint: string;
  /** Resolves with the job it was answered with, or `undefined` if it was refused. */
  jobId: Promise<string | undefined>;
}

/**
 * The fingerprint that decides whether two submits with one envelope id are
 * the same message: the submission's parameters (`submissionFingerprint`)
 * and its idempotency key.
 */
export function submitIdFingerprint(parameters: string, key: string | undefined): string {
  return sha256Hex(`${parameters}\n${JSON.stringify(key ?? null)}`);
}

/** The last `limit` `job.submit` envelope ids of one session, oldest forgotten first. */
export class RecentSubmits {
  readonly #limit: number;
  readonly #entries = new Map<string, EarlierSubmit>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The earlier submit with envelope id `id`, if it is still remembered. */
  get(id: string): EarlierSubmit | undefined {
    return this.#entries.get(id);
  }

  /**
   * Remembers a submit being handled; returns the function that settles it
   * with the job it was answered with. A refused submit (`undefined`) is
   * forgotten, so that a retransmission is judged again.
   */
  remember(id: string, fingerprint: string): (jobId: string | undefined) => void {
    if (this.#limit === 0) return () => {};
    const { promise, resolve } = Promise.withResolvers<string | undefined>();
    const entry = { fingerprint, jobId: promise };
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    if (this.#entries.size > this.#limit) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    return (jobId) => {
      resolve(jobId);
      if (jobId === undefined && this.#entries.get(id) === entry) this.#entries.delete(id);
    };
  }
}
