// This module is browser compatible.
// The one clock the runtime reads time from and sets timers with, so that a
// test can drive every deadline (resume windows, idempotency keys, idle
// sessions, heartbeats, leases) without sleeping.

import { isoTimestamp } from "../internal/time.ts";

/** A timer's handle, as the clock that set it returned it. */
export type ClockTimer = unknown;

/**
 * Where the runtime reads the time and sets its timers: the option
 * `clock` of `RuntimeOptions`. The default is {@linkcode systemClock}.
 *
 * @example A clock that runs an hour ahead
 * ```ts
 * import { type Clock, Runtime, systemClock } from "@arcp/arcp/runtime";
 *
 * const ahead: Clock = {
 *   now: () => systemClock.now() + 3_600_000,
 *   setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms),
 *   clearTimeout: (timer) => systemClock.clearTimeout(timer),
 * };
 * const runtime = new Runtime({ clock: ahead });
 * await runtime.close();
 * ```
 */
export interface Clock {
  /** Milliseconds since the epoch (like `Date.now()`). */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now; returns a handle for {@linkcode Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): ClockTimer;
  /** Cancels a timer set by {@linkcode Clock.setTimeout}; ignores `undefined` and fired timers. */
  clearTimeout(timer: ClockTimer | undefined): void;
}

/**
 * The real clock: `Date.now`, `setTimeout` and `clearTimeout`.
 *
 * @example Read the time
 * ```ts
 * import { systemClock } from "@arcp/arcp/runtime";
 * import assert from "node:assert/strict";
 *
 * assert.ok(Math.abs(systemClock.now() - Date.now()) < 1000);
 * ```
 */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): ClockTimer => setTimeout(fn, ms),
  clearTimeout: (timer: ClockTimer | undefined): void =>
    clearTimeout(timer as ReturnType<typeof setTimeout> | undefined),
});

/** `clock`'s time as an ISO-8601 UTC timestamp (one formatting per millisecond). */
export function isoAt(clock: Clock): string {
  return isoTimestamp(clock.now());
}

/**
 * Calls `fn` every `ms` milliseconds of `clock` until the returned function
 * is called; the next call is set once the previous one has run.
 */
export function every(clock: Clock, ms: number, fn: () => void): () => void {
  let timer: ClockTimer | undefined;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    timer = clock.setTimeout(tick, ms);
    fn();
  };
  timer = clock.setTimeout(tick, ms);
  return () => {
    stopped = true;
    clock.clearTimeout(timer);
  };
}

/** `clock`, its `now` replaced by `now` when given (the runtime's deprecated `now` option). */
export function withNow(clock: Clock, now: (() => number) | undefined): Clock {
  if (now === undefined) return clock;
  return {
    now: () => now(),
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (timer) => clock.clearTimeout(timer),
  };
}
