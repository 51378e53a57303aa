// This module is browser compatible.
// Runs a task an interval after something asks for it, and so at most once
// per interval: the client acknowledges (spec 1.1 §6.5: at most every few
// hundred milliseconds) and saves its resume state when its consumer has read
// or new events have come, never on a clock of its own. Nothing asked, no
// timer. The wait also leaves a just-received event in the runtime's log a
// moment longer, as a periodic ack did, for a subscriber asking for history.

export class Throttle {
  readonly #task: () => void;
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param task What to run.
   * @param intervalMs How long after the first request a run comes, in milliseconds.
   */
  constructor(task: () => void, intervalMs: number) {
    this.#task = task;
    this.#intervalMs = intervalMs;
  }

  /** Asks for a run, `intervalMs` from the first request since the last run. */
  request(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#task();
    }, this.#intervalMs);
  }

  /** Runs the task now, in place of any run asked for. */
  flush(): void {
    this.cancel();
    this.#task();
  }

  /** Drops a run asked for and not yet made. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
