// This module is browser compatible.
// The session log of a store with one writer per log: a batch is appended
// as it is, and nothing else ever appears in the log.

import type { EventStore, StoredEvent } from "../store/types.ts";
import type { Envelope } from "../protocol/messages.ts";
import type { LogSink, SessionLog } from "./_session_log.ts";
import { retried } from "./_retry.ts";

const RESOLVED: Promise<void> = Promise.resolve();

export class SingleWriterLog implements SessionLog {
  readonly #log: EventStore;
  readonly #sessionId: string;
  readonly #sink: LogSink;

  constructor(log: EventStore, sessionId: string, sink: LogSink) {
    this.#log = log;
    this.#sessionId = sessionId;
    this.#sink = sink;
  }

  async append(batch: Envelope[], events: StoredEvent[]): Promise<void> {
    await retried(() => this.#log.append(this.#sessionId, events));
    this.#sink.stored(events.at(-1)?.event_seq ?? this.#sink.storedSeq, batch);
  }

  catchUp(): Promise<void> {
    return RESOLVED;
  }

  follow(_jobIds: readonly string[]): void {}

  attached(_attached: boolean): void {}

  read(after: number): AsyncIterable<StoredEvent> {
    return this.#log.read(this.#sessionId, { after });
  }

  trim(through: number): Promise<void> {
    return this.#log.trim(this.#sessionId, { through });
  }
}
