// A clock a test moves by hand (the runtime's `clock` option): deadlines come
// due when the test says so, never by sleeping. Real I/O (sockets, stores)
// keeps running on the real event loop in between.

import type { Clock, ClockTimer } from "../runtime.ts";

interface Timer {
  id: number;
  due: number;
  fn: () => void;
}

/** Lets pending real I/O and promise callbacks run: a few real macrotasks. */
async function settle(turns = 5): Promise<void> {
  for (let turn = 0; turn < turns; turn++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

export class TestClock implements Clock {
  #ms: number;
  #nextId = 1;
  /** Timers set and not yet fired or cleared, by id. */
  readonly #timers = new Map<number, Timer>();

  /** @param startMs The time it starts at; by default the real time now. */
  constructor(startMs: number = Date.now()) {
    this.#ms = startMs;
  }

  readonly now = (): number => this.#ms;

  readonly setTimeout = (fn: () => void, ms: number): ClockTimer => {
    const id = this.#nextId++;
    const delay = Number.isFinite(ms) ? Math.max(0, ms) : 0;
    this.#timers.set(id, { id, due: this.#ms + delay, fn });
    return id;
  };

  readonly clearTimeout = (timer: ClockTimer | undefined): void => {
    if (typeof timer === "number") this.#timers.delete(timer);
  };

  /** How many timers are set and have not fired. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves the clock `ms` forward, firing every timer that comes due on the
   * way in order of due time (and of setting, among equals), each at its due
   * time; timers a fired one sets are fired too if they come due in time.
   * Real I/O gets a few turns of the event loop after each timer.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#ms + ms;
    await settle();
    for (;;) {
      const next = this.#next();
      if (next === undefined || next.due > target) break;
      this.#timers.delete(next.id);
      this.#ms = Math.max(this.#ms, next.due);
      next.fn();
      await settle();
    }
    this.#ms = target;
    await settle();
  }

  /**
   * Moves the clock `stepMs` at a time until `promise` settles, for a
   * deadline armed by work the test cannot see finish (a timer set just
   * after a frame went out); gives up after `maxSteps`.
   */
  async advanceUntil<T>(promise: Promise<T>, stepMs: number, maxSteps = 1_000): Promise<T> {
    let settled = false;
    const watched = promise.finally(() => settled = true);
    watched.catch(() => {});
    for (let step = 0; step < maxSteps && !settled; step++) await this.advance(stepMs);
    return await watched;
  }

  #next(): Timer | undefined {
    let next: Timer | undefined;
    for (const timer of this.#timers.values()) {
      if (next === undefined || timer.due < next.due) next = timer;
    }
    return next;
  }
}
