// This module is browser compatible.
// The order of a stream's POSTs (docs/http-binding.md, `Arcp-Seq`): their
// envelopes reach the session in the order the client numbered them, each
// once, whether a POST came to this instance or was handed over by another
// through the store (its inbox, read when the relay sees POSTs in it, and at
// once when a POST arrives ahead of one).

/** How a POST's envelopes fared. */
export type Delivery = "delivered" | "duplicate" | "gap" | "ended";

/** POSTs other instances accepted for this stream. */
export interface Inbox {
  /** The POSTs numbered `from` or later, in order; what it returns (and older ones) is removed. */
  take(from: number): Promise<{ seq: number; texts: string[] }[]>;
}

/** POSTs ahead of a missing one held at most. */
const MAX_HELD = 64;

/** Puts numbered POSTs on a stream in order. */
export class PostOrder {
  #next = 1;
  readonly #held = new Map<number, string[]>();
  #ended = false;
  #reading = false;
  #again = false;
  readonly #push: (text: string) => void;
  readonly #inbox: Inbox | undefined;
  readonly #onError: (error: unknown) => void;

  /**
   * @param push Hands one envelope's text to the stream.
   * @param inbox The POSTs handed over by other instances, if there can be any.
   * @param onError Told of an inbox that cannot be read or holds too much;
   *   the stream should end, so the client resumes and resends.
   */
  constructor(
    push: (text: string) => void,
    inbox: Inbox | undefined,
    onError: (error: unknown) => void,
  ) {
    this.#push = push;
    this.#inbox = inbox;
    this.#onError = onError;
  }

  /**
   * Delivers POST `seq`. One ahead of the next expected looks in the inbox
   * first: a client sends a POST only once the one before it was answered,
   * and an instance answers only once it stored it, so what the inbox does
   * not hold then never came.
   */
  async deliver(seq: number, texts: string[]): Promise<Delivery> {
    if (this.#ended) return "ended";
    if (seq < this.#next || this.#held.has(seq)) return "duplicate";
    if (seq === this.#next) {
      this.#take(texts);
      this.#drain();
      return "delivered";
    }
    if (this.#inbox === undefined || this.#held.size >= MAX_HELD) return "gap";
    this.#held.set(seq, texts);
    try {
      this.#absorb(await this.#inbox.take(this.#next));
    } catch (error) {
      this.#onError(error);
    }
    if (this.#next > seq) return "delivered";
    this.#held.delete(seq);
    return this.#ended ? "ended" : "gap";
  }

  /** Reads the inbox (it may hold POSTs): one read at a time, one asked for meanwhile right after. */
  poke(): void {
    if (this.#inbox === undefined || this.#ended) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    const inbox = this.#inbox;
    (async () => {
      do {
        this.#again = false;
        this.#absorb(await inbox.take(this.#next));
      } while (this.#again && !this.#ended);
    })().catch(this.#onError).finally(() => this.#reading = false);
  }

  /** The stream ended: nothing more is delivered. */
  end(): void {
    this.#ended = true;
    this.#held.clear();
  }

  /** Holds what an inbox read found, then delivers what is in order. */
  #absorb(found: { seq: number; texts: string[] }[]): void {
    for (const { seq, texts } of found) {
      if (this.#ended || seq < this.#next || this.#held.has(seq)) continue;
      // Taken from the store, it exists nowhere else now: never dropped.
      if (this.#held.size >= MAX_HELD) {
        throw new RangeError(`More than ${MAX_HELD} POSTs wait ahead of a missing one`);
      }
      this.#held.set(seq, texts);
    }
    this.#drain();
  }

  #take(texts: string[]): void {
    this.#next++;
    for (const text of texts) this.#push(text);
  }

  /** Delivers what was held once the POSTs before it came. */
  #drain(): void {
    if (this.#ended) return;
    for (let texts = this.#held.get(this.#next); texts !== undefined;) {
      this.#held.delete(this.#next);
      this.#take(texts);
      texts = this.#held.get(this.#next);
    }
  }
}
