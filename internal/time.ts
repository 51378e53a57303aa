// This module is browser compatible.
// ISO-8601 UTC timestamps for event `ts` fields. Formatting a Date costs about
// a microsecond, more than the rest of an event's envelope; a job emitting
// thousands of events per millisecond reuses the string of that millisecond.

let cachedMs = Number.NaN;
let cachedIso = "";

/** `new Date(ms).toISOString()`, cached for the most recent millisecond. */
export function isoTimestamp(ms: number = Date.now()): string {
  if (ms !== cachedMs) {
    cachedMs = ms;
    cachedIso = new Date(ms).toISOString();
  }
  return cachedIso;
}
