// This module is browser compatible.
// Per-principal counts behind the per-principal caps (spec 1.1 §14): sessions
// connected and jobs running, in this runtime instance. Counters rather than
// scans, so a check costs the same however many sessions and jobs there are.

import { ArcpError } from "../protocol/errors.ts";

export class PrincipalCounts {
  readonly #counts = new Map<string, number>();
  readonly #max: number;
  readonly #what: string;
  readonly #option: string;

  /**
   * @param max The cap per principal.
   * @param what What is counted, for messages: "connected sessions".
   * @param option The option that sets the cap, named in refusals.
   */
  constructor(max: number, what: string, option: string) {
    this.#max = max;
    this.#what = what;
    this.#option = option;
  }

  /**
   * Refuses one more for `principal`, without counting it.
   *
   * @throws {ArcpError} `INTERNAL_ERROR` naming the cap when it is reached
   *   (spec 1.0 §14: exceeded limits surface as `INTERNAL_ERROR`).
   */
  check(principal: string): void {
    if ((this.#counts.get(principal) ?? 0) >= this.#max) {
      throw new ArcpError(
        "INTERNAL_ERROR",
        `Too many ${this.#what} for principal "${principal}": ${this.#option} is ${this.#max}`,
      );
    }
  }

  /**
   * Counts one more for `principal`.
   *
   * @throws {ArcpError} as {@linkcode PrincipalCounts.check} does.
   */
  add(principal: string): void {
    this.check(principal);
    this.#counts.set(principal, (this.#counts.get(principal) ?? 0) + 1);
  }

  /** Counts one less for `principal`. */
  remove(principal: string): void {
    const count = (this.#counts.get(principal) ?? 0) - 1;
    if (count > 0) this.#counts.set(principal, count);
    else this.#counts.delete(principal);
  }
}
