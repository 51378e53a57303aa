// One fuzzer connection (tests/_fuzz.ts): a WebSocket that keeps every frame
// the runtime sent and whether the runtime closed it, and waits for either
// with a deadline, so that no wait of the fuzzer can hang.

/** A frame the runtime sent, parsed. */
export type Received = Record<string, unknown> & {
  type?: unknown;
  payload?: Record<string, unknown>;
};

/** A WebSocket's received frames and close, with deadline-bound waits. */
export class Socket {
  readonly frames: Received[] = [];
  readonly problems: string[] = [];
  closedByRuntime = false;
  readonly #socket: WebSocket;
  readonly #closed = Promise.withResolvers<void>();
  /** Set once this side closes: whether the runtime completed the close. */
  #closing: Promise<boolean> | undefined;
  #wake: () => void = () => {};

  constructor(url: string) {
    this.#socket = new WebSocket(url);
    this.#socket.binaryType = "arraybuffer";
    this.#socket.onmessage = (event) => {
      if (typeof event.data !== "string") this.problems.push("the runtime sent a binary frame");
      else {
        try {
          this.frames.push(JSON.parse(event.data));
        } catch {
          this.problems.push(`the runtime sent non-JSON: ${event.data.slice(0, 100)}`);
        }
      }
      this.#wake();
    };
    this.#socket.onclose = () => {
      if (this.#closing === undefined) this.closedByRuntime = true;
      this.#closed.resolve();
      this.#wake();
    };
    this.#socket.onerror = () => {};
  }

  get closed(): boolean {
    return this.#socket.readyState >= WebSocket.CLOSING;
  }

  /** Resolves `true` once open, `false` if it closed or `ms` passed first. */
  opened(ms: number): Promise<boolean> {
    if (this.#socket.readyState === WebSocket.OPEN) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#socket.addEventListener("open", () => {
        clearTimeout(timer);
        resolve(true);
      }, { once: true });
      this.#closed.promise.then(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  send(data: string | Uint8Array): boolean {
    if (this.closed) return false;
    this.#socket.send(data);
    return true;
  }

  /**
   * Resolves with the first frame from index `from` on matching `predicate`,
   * `"closed"` if the connection closes first, or `"timeout"` after `ms`.
   */
  async waitFor(
    predicate: (frame: Received) => boolean,
    ms: number,
    from = 0,
  ): Promise<Received | "closed" | "timeout"> {
    const deadline = Date.now() + ms;
    let checked = from;
    for (;;) {
      for (; checked < this.frames.length; checked++) {
        if (predicate(this.frames[checked]!)) return this.frames[checked]!;
      }
      if (this.closed) return "closed";
      const left = deadline - Date.now();
      if (left <= 0) return "timeout";
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /**
   * Closes from this side; `false` if the runtime never completed the close
   * within `ms`. Closing again gives the first answer.
   */
  close(ms: number): Promise<boolean> {
    this.#closing ??= this.#close(ms);
    return this.#closing;
  }

  async #close(ms: number): Promise<boolean> {
    if (this.#socket.readyState === WebSocket.CLOSED) return true;
    this.#socket.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
    const done = await Promise.race([this.#closed.promise.then(() => true), timeout]);
    clearTimeout(timer);
    return done;
  }
}
