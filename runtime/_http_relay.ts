// This module is browser compatible.
// The HTTP binding across instances (docs/http-binding.md, "Several
// instances"): a POST that reaches another instance than its stream's is
// kept in the shared record store, and the stream's instance takes it from
// there in order. Keys: `["http_stream", id]` (the serving instance and the
// credential's digest) and `["http_inbox", id, seq]` (seq zero-padded, so
// keys list in POST order). Used only when the store is shared.

import type { RecordStore } from "../store/types.ts";
import type { HttpStreamRelay } from "../transports/http_server.ts";
import type { Clock, ClockTimer } from "../protocol/clock.ts";
import { digestsEqual, sha256Hex } from "./_digest.ts";

interface StreamRecord {
  instance_id: string;
  /** SHA-256 of the bearer credential that opened the stream; "" for none. */
  credential: string;
}

/** Digits of a padded `Arcp-Seq`: as many as the binding accepts. */
const SEQ_DIGITS = 15;

const streamKey = (id: string) => ["http_stream", id] as const;
const inboxPrefix = (id: string) => ["http_inbox", id] as const;
const inboxKey = (id: string, seq: number) =>
  ["http_inbox", id, String(seq).padStart(SEQ_DIGITS, "0")] as const;

function digestOf(credential: string | undefined): string {
  return credential === undefined ? "" : sha256Hex(credential);
}

/** The relay of one instance over `store`. */
export class HttpRelay implements HttpStreamRelay {
  readonly #store: RecordStore;
  readonly #instanceId: string;
  readonly #clock: Clock;
  readonly #pollMs: number;
  /** The streams served here, by id, with how to tell each of POSTs in its inbox. */
  readonly #followed = new Map<string, () => void>();
  #timer: ClockTimer | undefined;
  #scanning = false;
  readonly #onError: (error: unknown) => void;

  /**
   * @param pollMs Milliseconds between looks at the inboxes while streams
   *   are served here: one listing for all of them.
   */
  constructor(
    store: RecordStore,
    instanceId: string,
    options: { clock: Clock; pollMs: number; onError: (error: unknown) => void },
  ) {
    this.#store = store;
    this.#instanceId = instanceId;
    this.#clock = options.clock;
    this.#pollMs = options.pollMs;
    this.#onError = options.onError;
  }

  follow(id: string, poke: () => void): () => void {
    this.#followed.set(id, poke);
    this.#schedule();
    return () => this.#followed.delete(id);
  }

  /** The next look at the inboxes, while streams are served here. */
  #schedule(): void {
    if (this.#timer !== undefined || this.#followed.size === 0) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#scan().catch(this.#onError).finally(() => this.#schedule());
    }, this.#pollMs);
  }

  /** One listing of every inbox: the streams served here that have POSTs waiting are poked. */
  async #scan(): Promise<void> {
    if (this.#scanning) return;
    this.#scanning = true;
    try {
      let last: string | undefined;
      for await (const entry of this.#store.list(["http_inbox"])) {
        const id = entry.key[1]!;
        if (id === last) continue;
        last = id;
        this.#followed.get(id)?.();
      }
    } finally {
      this.#scanning = false;
    }
  }

  /** Stops looking at the inboxes. */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#followed.clear();
  }

  async opened(id: string, credential: string | undefined): Promise<void> {
    const record: StreamRecord = {
      instance_id: this.#instanceId,
      credential: digestOf(credential),
    };
    await this.#store.set(streamKey(id), record, { ifVersion: null });
  }

  async closed(id: string): Promise<void> {
    await this.#store.delete(streamKey(id));
    await this.#clearInbox(id);
  }

  async forward(
    id: string,
    credential: string | undefined,
    seq: number,
    texts: string[],
  ): Promise<"accepted" | "duplicate" | "unknown" | "unauthorized"> {
    const stream = (await this.#store.get(streamKey(id)))?.value as StreamRecord | undefined;
    if (stream === undefined) return "unknown";
    if (!digestsEqual(stream.credential, digestOf(credential))) return "unauthorized";
    if (!await this.#store.set(inboxKey(id, seq), texts, { ifVersion: null })) return "duplicate";
    // The stream may have ended while this was written: then its inbox was
    // (or is being) cleared, and this POST is answered as for an ended one.
    if (await this.#store.get(streamKey(id)) === undefined) {
      await this.#store.delete(inboxKey(id, seq));
      return "unknown";
    }
    return "accepted";
  }

  async take(id: string, from: number): Promise<{ seq: number; texts: string[] }[]> {
    const taken: { seq: number; texts: string[] }[] = [];
    for await (const entry of this.#store.list(inboxPrefix(id))) {
      const seq = Number(entry.key[2]);
      if (seq >= from) taken.push({ seq, texts: entry.value as string[] });
      await this.#store.delete(entry.key, { ifVersion: entry.version });
    }
    return taken;
  }

  /** Removes the streams of instances not in `live`, and their inboxes: they ended with them. */
  async sweep(live: ReadonlySet<string>): Promise<void> {
    for await (const entry of this.#store.list(["http_stream"])) {
      const owner = (entry.value as StreamRecord).instance_id;
      if (owner === this.#instanceId || live.has(owner)) continue;
      await this.#store.delete(entry.key, { ifVersion: entry.version });
      await this.#clearInbox(entry.key[1]!);
    }
  }

  async #clearInbox(id: string): Promise<void> {
    for await (const entry of this.#store.list(inboxPrefix(id))) {
      await this.#store.delete(entry.key);
    }
  }
}
