// This module is browser compatible.
// The append rule every persistent store shares: a batch continues the log,
// events the log already holds are skipped, and a gap is refused.

import type { StoredEvent } from "./types.ts";

/**
 * The index in `events` of the first event a log whose highest seq is `last`
 * does not hold yet (`events.length` when it holds them all).
 *
 * @throws {RangeError} when the events from there on do not continue the log
 *   one by one.
 */
export function firstNewEvent(events: readonly StoredEvent[], last: number): number {
  let start = 0;
  while (start < events.length && events[start]!.event_seq <= last) start++;
  let next = last + 1;
  for (let index = start; index < events.length; index++, next++) {
    const seq = events[index]!.event_seq;
    if (seq !== next) {
      throw new RangeError(`Cannot append event_seq ${seq}: the log expects ${next}`);
    }
  }
  return start;
}
