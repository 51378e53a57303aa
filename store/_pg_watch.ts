// Wake-ups of log watchers by LISTEN/NOTIFY: each transaction that changes
// a log sends one notification (PostgreSQL folds identical ones within a
// transaction, and NOTIFY takes a global lock at commit, so never one per
// event), and one LISTEN connection per store fans them out to its watchers.

import type postgres from "postgres";
import type { LogBounds } from "./types.ts";

/** The channel every store's log changes go on; the payload names the schema and session. */
export const LOG_CHANNEL = "arcp_log";

/** The payload of a change to `sessionId`'s log in `schema`: schema names hold no `:`. */
export function changePayload(schema: string, sessionId: string): string {
  return `${schema}:${sessionId}`;
}

/** The watchers of one store's logs, by session id. */
export class LogWatchers {
  #sql: postgres.Sql;
  #schema: string;
  #listening: Promise<postgres.ListenMeta> | undefined;
  #watchers = new Map<string, Set<() => void>>();
  #closed = false;

  constructor(sql: postgres.Sql, schema: string) {
    this.#sql = sql;
    this.#schema = schema;
  }

  #dispatch(payload: string): void {
    const separator = payload.indexOf(":");
    if (payload.slice(0, separator) !== this.#schema) return;
    for (const wake of this.#watchers.get(payload.slice(separator + 1)) ?? []) wake();
  }

  /**
   * Yields `bounds()` once listening (a change before that is not missed),
   * then after each notification for the session, until `signal` aborts.
   * Notifications that come while the watcher is busy fold into one.
   */
  async *watch(
    sessionId: string,
    signal: AbortSignal,
    bounds: () => Promise<LogBounds>,
  ): AsyncIterable<LogBounds> {
    if (this.#closed || signal.aborted) return;
    let changed = Promise.withResolvers<void>();
    let pending = true;
    const wake = () => {
      pending = true;
      changed.resolve();
    };
    let watchers = this.#watchers.get(sessionId);
    if (watchers === undefined) this.#watchers.set(sessionId, watchers = new Set());
    watchers.add(wake);
    signal.addEventListener("abort", wake, { once: true });
    try {
      // A LISTEN that failed is tried again by the next watcher, not kept as failed.
      this.#listening ??= this.#sql.listen(LOG_CHANNEL, (payload) => this.#dispatch(payload))
        .catch((error) => {
          this.#listening = undefined;
          throw error;
        });
      await this.#listening;
      while (!signal.aborted && !this.#closed) {
        if (!pending) {
          await changed.promise;
          changed = Promise.withResolvers();
          continue;
        }
        pending = false;
        yield await bounds();
      }
    } finally {
      signal.removeEventListener("abort", wake);
      watchers.delete(wake);
      if (watchers.size === 0 && this.#watchers.get(sessionId) === watchers) {
        this.#watchers.delete(sessionId);
      }
    }
  }

  /** Stops listening and ends every watch. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const watchers of this.#watchers.values()) for (const wake of watchers) wake();
    const listening = this.#listening;
    this.#listening = undefined;
    // A LISTEN that never started has nothing to undo; its watchers were told.
    if (listening !== undefined) await (await listening.catch(() => undefined))?.unlisten();
  }
}
