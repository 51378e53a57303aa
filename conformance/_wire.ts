// This module is browser compatible.
// The kit's own raw connection: envelopes as JSON text over a standard
// WebSocket, nothing of the library's client in between, so every check sees
// exactly what the target puts on the wire.

/** One parsed frame, as the target sent it. */
export type Frame = Record<string, unknown> & { type?: unknown; payload?: unknown };

/** A check's expectation that did not hold; its message says what was expected. */
export class CheckFailure extends Error {
  override name = "CheckFailure";
}

/** A check that cannot run against this target (e.g. an agent it does not host). */
export class CheckSkipped extends Error {
  override name = "CheckSkipped";
}

/** Throws a {@linkcode CheckFailure} with `message` unless `condition` holds. */
export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailure(message);
}

/** What a failed check reports of the wire: the last frame sent and what followed it. */
interface Exchange {
  sent: string | undefined;
  received: string[];
}

const SHOWN_CHARS = 400;
const SHOWN_FRAMES = 6;

/** Shortens `text` for a report line. */
function shorten(text: string): string {
  return text.length <= SHOWN_CHARS
    ? text
    : `${text.slice(0, SHOWN_CHARS)}… (${text.length} chars)`;
}

let nextId = 0;
let sends = 0;

/** A message id unique within this run. */
export function messageId(): string {
  return `conf_${Date.now().toString(36)}_${++nextId}`;
}

/** A lowercase hex string of `bytes` random bytes. */
export function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * One WebSocket to the target. Reads are bounded by the check's signal: a
 * target that never answers fails the check instead of hanging the kit.
 * Pings from the target are answered here, so no check mistakes one for the
 * answer it waits for.
 */
export class Wire {
  /** The session id of the latest welcome read on this connection. */
  sessionId: string | undefined;
  /** The highest `event_seq` read on this connection (0 before any). */
  lastSeq = 0;
  /** Orders connections by their latest send: a failure reports the latest one. */
  sentAt = 0;
  readonly #socket: WebSocket;
  readonly #signal: AbortSignal;
  readonly #frames: (Frame | Error)[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #last: Exchange = { sent: undefined, received: [] };

  private constructor(socket: WebSocket, signal: AbortSignal) {
    this.#socket = socket;
    this.#signal = signal;
    socket.onmessage = (event) => {
      const text = typeof event.data === "string" ? event.data : "(a binary frame)";
      this.#note(text);
      let frame: Frame | Error;
      try {
        const value = JSON.parse(text);
        frame = value !== null && typeof value === "object" && !Array.isArray(value)
          ? value
          : new Error(`the target sent a frame that is not a JSON object: ${shorten(text)}`);
      } catch {
        frame = new Error(`the target sent a frame that is not JSON: ${shorten(text)}`);
      }
      if (!(frame instanceof Error) && frame.type === "session.ping") {
        this.#pong(frame);
        return;
      }
      this.#frames.push(frame);
      this.#wake?.();
    };
    socket.onclose = () => {
      this.#closed = true;
      this.#wake?.();
    };
    socket.onerror = () => {};
  }

  /** Opens a WebSocket to `url`; rejects when it cannot be opened before `signal` aborts. */
  static async open(url: string, signal: AbortSignal): Promise<Wire> {
    const socket = new WebSocket(url);
    const wire = new Wire(socket, signal);
    const { onclose } = socket;
    const opened = Promise.withResolvers<void>();
    const refused = () => opened.reject(new CheckFailure(`cannot open a WebSocket to ${url}`));
    socket.onopen = () => opened.resolve();
    socket.onerror = refused;
    socket.onclose = refused;
    const onAbort = () => opened.reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await opened.promise;
    } catch (error) {
      socket.close();
      throw error;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    socket.onerror = () => {};
    socket.onclose = onclose;
    return wire;
  }

  /** The last frame sent and the frames read after it, for a failure report. */
  get exchange(): Exchange {
    return { sent: this.#last.sent, received: [...this.#last.received] };
  }

  /** Whether the target has closed the connection and every frame before that was read. */
  get ended(): boolean {
    return this.#closed && this.#frames.length === 0;
  }

  /** Sends `text` as one text frame, as is. */
  sendText(text: string): void {
    this.#last = { sent: shorten(text), received: [] };
    this.sentAt = ++sends;
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(text);
  }

  /** Sends an envelope (`arcp`, a fresh `id` and `session_id` added) and returns its `id`. */
  send(type: string, payload: unknown, fields: Record<string, unknown> = {}): string {
    const id = messageId();
    const envelope: Record<string, unknown> = { arcp: "1.1", id, type };
    if (this.sessionId !== undefined) envelope.session_id = this.sessionId;
    this.sendText(JSON.stringify({ ...envelope, ...fields, payload }));
    return (fields.id as string | undefined) ?? id;
  }

  /** The next frame, or `undefined` once the target closed the connection. */
  async next(): Promise<Frame | undefined> {
    for (;;) {
      const frame = this.#frames.shift();
      if (frame instanceof Error) throw new CheckFailure(frame.message);
      if (frame !== undefined) {
        if (typeof frame.event_seq === "number" && frame.event_seq > this.lastSeq) {
          this.lastSeq = frame.event_seq;
        }
        return frame;
      }
      if (this.#closed) return undefined;
      this.#signal.throwIfAborted();
      const woken = Promise.withResolvers<void>();
      this.#wake = woken.resolve;
      const onAbort = () => woken.resolve();
      this.#signal.addEventListener("abort", onAbort, { once: true });
      await woken.promise;
      this.#signal.removeEventListener("abort", onAbort);
      this.#wake = undefined;
    }
  }

  /** Reads frames up to the first one matching `predicate`; returns them all. */
  async until(predicate: (frame: Frame) => boolean, what: string): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (;;) {
      const frame = await this.next();
      expect(frame !== undefined, `the target closed the connection before ${what}`);
      frames.push(frame);
      if (predicate(frame)) return frames;
    }
  }

  /** Reads up to the first frame of `type`; returns it. */
  async expect(type: string, what = type): Promise<Frame> {
    return (await this.until((f) => f.type === type, what)).at(-1)!;
  }

  /** Reads up to the `session.error` or the close that answers a refused request. */
  async refusal(what: string): Promise<Frame | undefined> {
    for (;;) {
      const frame = await this.next();
      if (frame === undefined || frame.type === "session.error") return frame;
      expect(
        frame.type !== "job.accepted" && frame.type !== "session.welcome",
        `expected ${what} to be refused, got ${frame.type}`,
      );
    }
  }

  /** Closes the connection (an abrupt drop, as far as the session is concerned). */
  close(): void {
    this.#closed = true;
    try {
      this.#socket.close();
    } catch {
      // Already closed: nothing to release.
    }
  }

  #note(text: string): void {
    if (this.#last.received.length < SHOWN_FRAMES) this.#last.received.push(shorten(text));
  }

  #pong(ping: Frame): void {
    const nonce = (ping.payload as { nonce?: unknown } | undefined)?.nonce;
    const pong = {
      arcp: "1.1",
      id: messageId(),
      type: "session.pong",
      ...(this.sessionId === undefined ? {} : { session_id: this.sessionId }),
      payload: { ping_nonce: nonce, received_at: new Date().toISOString() },
    };
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(pong));
  }
}
