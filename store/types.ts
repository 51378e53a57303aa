// This module is browser compatible.
/**
 * The storage interface behind the runtime's durable state: the per-session
 * event log that resume (spec §6.3) and subscription (spec 1.1 §7.6) replay.
 *
 * @module
 */

import type { Envelope } from "../protocol/messages.ts";

/**
 * A sequenced envelope as logged: a `job.event`, `job.result` or `job.error`
 * carrying its session-scoped `event_seq` (spec §8.3).
 */
export type StoredEvent = Envelope & { job_id: string; event_seq: number };

/** Options of {@linkcode EventStore.read}. */
export interface ReadOptions {
  /** Yield events with `event_seq` greater than this. */
  after: number;
  /** Stops the iteration early. */
  signal?: AbortSignal;
}

/** The range of sequence numbers a session's log still holds. */
export interface LogBounds {
  /** Lowest retained `event_seq`, or `last + 1` when the log is empty. */
  first: number;
  /** Highest `event_seq` ever appended (0 when none). */
  last: number;
}

/**
 * Where a runtime keeps each session's event log. The runtime assigns
 * `event_seq` (contiguous from 1 per session) and batches appends; a store
 * only persists and replays. Implementations: memory, Deno KV, IndexedDB.
 */
export interface EventStore {
  /**
   * Appends a batch of events, in `event_seq` order, atomically where the
   * backend allows. Idempotent: events at or below the last stored seq are
   * skipped.
   *
   * @throws {RangeError} when the batch would leave a gap in the sequence, or
   *   an event is too large for the backend.
   */
  append(sessionId: string, events: readonly StoredEvent[]): Promise<void>;
  /** Streams the retained events after `options.after`, in order, without loading them all. */
  read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent>;
  /** Drops events with `event_seq <= through`. */
  trim(sessionId: string, options: { through: number }): Promise<void>;
  /** The retained range of a session's log. */
  bounds(sessionId: string): Promise<LogBounds>;
  /** Releases what the store opened itself (never a handle it was given). */
  close?(): Promise<void>;
}
