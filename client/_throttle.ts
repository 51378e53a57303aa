// This module is browser compatible.
// Runs a task soon after something asks for it, and at most once per
// interval: the client acknowledges (spec 1.1 §6.5: at most every few hundred
// milliseconds) and saves its resume state when its consumer has read or new
// events have come, never on a clock of its own. Nothing asked, no timer.

export class Throttle {
  readonly #task: () => void;
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastRun = Number.NEGATIVE_INFINITY;

  /**
   * @param task What to run.
   * @param intervalMs The least time between the starts of two runs, in milliseconds.
   */
  constructor(task: () => void, intervalMs: number) {
    this.#task = task;
    this.#intervalMs = intervalMs;
  }

  /** Asks for a run: in the next macrotask, or once `intervalMs` has passed since the last. */
  request(): void {
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#lastRun + this.#intervalMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, wait);
  }

  /** Runs the task now, in place of any run asked for. */
  flush(): void {
    this.cancel();
    this.#run();
  }

  /** Drops a run asked for and not yet made. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #run(): void {
    this.#lastRun = Date.now();
    this.#task();
  }
}
