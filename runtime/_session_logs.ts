// This module is browser compatible.
// Chooses, once per runtime, which log its sessions write: the shared log
// when the store offers compare-and-append (several instances may write a
// session's log), else the single-writer log.

import type { Clock } from "../protocol/clock.ts";
import type { EventStore, RuntimeStore } from "../store/types.ts";
import type { SessionLogs } from "./_session_log.ts";
import { SharedLog } from "./_session_log_shared.ts";
import { SingleWriterLog } from "./_session_log_single.ts";

/**
 * The session logs over `store`.
 *
 * @param io The store's event log and session records, the poll interval of
 *   a watched shared log in milliseconds, the signal ending every watch, and
 *   the clock timing the polls.
 */
export function sessionLogs(io: {
  log: EventStore;
  records: Pick<RuntimeStore, "getSession">;
  pollMs: number;
  signal: AbortSignal;
  clock: Clock;
}): SessionLogs {
  const { log } = io;
  if (log.compareAndAppend === undefined) {
    return (sessionId, sink) => new SingleWriterLog(log, sessionId, sink);
  }
  const shared = { ...io, log: log as EventStore & Required<Pick<EventStore, "compareAndAppend">> };
  return (sessionId, sink) => new SharedLog(shared, sessionId, sink);
}
