// This module is browser compatible.
/**
 * Where a client keeps what it needs to resume its session (spec §6.3), so a
 * reloaded page or a restarted CLI picks up where it left off.
 *
 * @module
 */

/** What resuming a session takes (spec 1.0 §6.3). Treat it as a credential. */
export interface ResumeState {
  /** The session to resume. */
  session_id: string;
  /** The most recent resume token. */
  resume_token: string;
  /** The highest `event_seq` the client has received. */
  last_event_seq: number;
}

/** A place to keep {@linkcode ResumeState} under a key. */
export interface ResumeStateStore {
  /** The state saved under `key`, if any. */
  load(key: string): Promise<ResumeState | undefined>;
  /** Saves `state` under `key`. */
  save(key: string, state: ResumeState): Promise<void>;
  /** Forgets `key`. */
  delete(key: string): Promise<void>;
}

/**
 * A {@linkcode ResumeStateStore} in memory: survives reconnects within one
 * process, not restarts.
 *
 * @example
 * ```ts
 * import { MemoryResumeStateStore } from "@arcp/arcp/client";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryResumeStateStore();
 * await store.save("k", { session_id: "sess_1", resume_token: "rt_1", last_event_seq: 4 });
 * assert.equal((await store.load("k"))?.last_event_seq, 4);
 * ```
 */
export class MemoryResumeStateStore implements ResumeStateStore {
  #states = new Map<string, ResumeState>();

  /** The state saved under `key`, if any. */
  load(key: string): Promise<ResumeState | undefined> {
    const state = this.#states.get(key);
    return Promise.resolve(state && { ...state });
  }

  /** Saves `state` under `key`. */
  save(key: string, state: ResumeState): Promise<void> {
    this.#states.set(key, { ...state });
    return Promise.resolve();
  }

  /** Forgets `key`. */
  delete(key: string): Promise<void> {
    this.#states.delete(key);
    return Promise.resolve();
  }
}
