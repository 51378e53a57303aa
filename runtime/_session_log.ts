// This module is browser compatible.
// A session's event log as its session sees it: one thing that stores a
// batch of sequenced envelopes and says what was stored, in order. A store
// with one writer per log gets the single-writer log; a store several
// runtime instances may append to (it offers compare-and-append) gets the
// shared log, which also takes in what other instances appended. Which one
// is chosen once, when the runtime is built (see `_session_logs.ts`).

import type { Envelope } from "../protocol/messages.ts";
import type { StoredEvent, TerminalEnvelope } from "../store/types.ts";

/** What a session log tells its session as it stores. */
export interface LogSink {
  /** The highest event_seq stored. */
  readonly storedSeq: number;
  /**
   * `frames` are stored through `seq` (their control frames go through
   * with them), in log order: the session sends them on.
   */
  stored(seq: number, frames: readonly Envelope[]): void;
  /**
   * Other writers appended through `last` after the stored events (only a
   * shared log says so, before it hands their events to `stored`): the
   * session's unstored events, `rest` and anything queued after it, are
   * renumbered after them, and those of the jobs in `ended` dropped.
   *
   * @returns `rest` without the dropped events.
   */
  admit(last: number, rest: Envelope[], ended: ReadonlyMap<string, TerminalEnvelope>): Envelope[];
  /** The log may have grown elsewhere: the session catches up when it can. */
  behind(): void;
}

/** One session's log. */
export interface SessionLog {
  /**
   * Stores `batch` (its sequenced `events`, in order): calls the sink's
   * `stored` for what went in, in order, and resolves once all of it did.
   *
   * @throws when the store fails for good: nothing after the last `stored` is.
   */
  append(batch: Envelope[], events: StoredEvent[]): Promise<void>;
  /** Takes in what other writers appended (a single-writer log has none). */
  catchUp(): Promise<void>;
  /**
   * Jobs of the session that run elsewhere: other writers append their
   * events (a single-writer log has none).
   */
  follow(jobIds: readonly string[]): void;
  /**
   * Whether a connection is attached: while one is and jobs run elsewhere,
   * the log is watched for their appends, telling the sink `behind`.
   */
  attached(attached: boolean): void;
  /** The stored events after `after`, in order. */
  read(after: number): AsyncIterable<StoredEvent>;
  /** Frees the events through `through`. */
  trim(through: number): Promise<void>;
}

/** Opens the log of a session for its sink. */
export type SessionLogs = (sessionId: string, sink: LogSink) => SessionLog;
