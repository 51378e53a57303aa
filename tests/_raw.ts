// Raw-frame connections: a test speaks envelopes (or anything else) to the
// runtime directly, for handshake details, bad input and exact wire checks.

import assert from "node:assert/strict";
import { type Frame, MalformedFrame, type Transport } from "../transports/types.ts";

/** The token {@linkcode RawConnection.hello} (and the harness's clients) use by default. */
export const TOKEN = "t-alice";

/**
 * Rejects with a descriptive error if `promise` has not settled within
 * `ms`. A failure bound so a broken implementation fails instead of hanging
 * the suite; never used to wait for something to happen.
 */
export async function within<T>(promise: Promise<T>, label: string, ms = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${label}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let rawIds = 0;

/** Builds an envelope as a client would, with a unique `id`. */
export function envelope(
  type: string,
  payload: unknown,
  fields: Record<string, unknown> = {},
): Frame {
  return { arcp: "1.1", id: `raw_${++rawIds}`, type, ...fields, payload } as Frame;
}

/** Options of {@linkcode helloFrame}. */
export interface HelloOptions {
  /** Features to ask for; `["agent_versions"]` by default. */
  features?: string[];
  /** The envelope's protocol version. */
  arcp?: string;
  /** More payload fields, e.g. a `resume` block or flat `resume_token`/`last_event_seq`. */
  extra?: Record<string, unknown>;
}

/** A `session.hello` envelope. */
export function helloFrame(token: string | null = TOKEN, options: HelloOptions = {}): Frame {
  const frame = envelope("session.hello", {
    client: { name: "raw-test", version: "0.0.0" },
    auth: token === null ? { scheme: "bearer" } : { scheme: "bearer", token },
    capabilities: { encodings: ["json"], features: options.features ?? ["agent_versions"] },
    ...options.extra,
  });
  if (options.arcp !== undefined) frame.arcp = options.arcp;
  return frame;
}

/** What a raw connection reads: one parsed frame, or `undefined` once the runtime closed it. */
export type Read = () => Promise<Frame | MalformedFrame | undefined>;

/**
 * A connection that speaks frames, not the client API: for handshake details,
 * bad input and exact wire checks.
 */
export class RawConnection {
  /** The session id from the welcome, once {@linkcode RawConnection.hello} succeeded. */
  sessionId: string | undefined;
  /** The resume token of the latest welcome. */
  resumeToken: string | undefined;
  /** The highest `event_seq` read so far (0 before any). */
  lastEventSeq = 0;
  readonly #send: (frame: unknown) => Promise<void>;
  readonly #sendText: ((text: string) => Promise<void>) | undefined;
  readonly #read: Read;
  readonly #close: () => Promise<void>;

  constructor(parts: {
    send: (frame: unknown) => Promise<void>;
    sendText?: (text: string) => Promise<void>;
    read: Read;
    close: () => Promise<void>;
  }) {
    this.#send = parts.send;
    this.#sendText = parts.sendText;
    this.#read = parts.read;
    this.#close = parts.close;
  }

  /** Whether arbitrary text can be sent (WebSocket), not only JSON values (memory). */
  get sendsText(): boolean {
    return this.#sendText !== undefined;
  }

  /** Sends any value as one frame: the memory transport JSON-encodes it, WebSocket stringifies it. */
  send(frame: unknown): Promise<void> {
    return this.#send(frame);
  }

  /** Sends a text frame as is; only over WebSocket. */
  sendText(text: string): Promise<void> {
    if (this.#sendText === undefined) {
      throw new TypeError("This transport carries values, not text");
    }
    return this.#sendText(text);
  }

  /** Sends an envelope in this session and returns its `id`. */
  async request(
    type: string,
    payload: unknown,
    fields: Record<string, unknown> = {},
  ): Promise<string> {
    const frame = envelope(type, payload, { session_id: this.sessionId, ...fields });
    await this.send(frame);
    return frame.id as string;
  }

  /** Sends `job.submit` and returns the envelope `id`. */
  submit(agent: unknown, input?: unknown, extra: Record<string, unknown> = {}): Promise<string> {
    return this.request("job.submit", { agent, input, ...extra });
  }

  /** The next frame, or `undefined` once the runtime has closed the connection. */
  async next(): Promise<Frame | undefined> {
    const frame = await within(this.#read(), "the next frame");
    assert.ok(!(frame instanceof MalformedFrame), "the runtime sent a malformed frame");
    if (typeof frame?.event_seq === "number" && frame.event_seq > this.lastEventSeq) {
      this.lastEventSeq = frame.event_seq;
    }
    return frame;
  }

  /** The next frame, which must be of `type`. */
  async expect(type: string): Promise<Frame> {
    const frame = await this.next();
    assert.ok(frame !== undefined, `expected ${type}, but the connection closed`);
    assert.equal(frame.type, type, `expected ${type}, got ${JSON.stringify(frame)}`);
    return frame;
  }

  /** The next frame, which must be a `session.error` with `code`; returns its payload. */
  async expectError(code: string): Promise<Record<string, unknown>> {
    const frame = await this.expect("session.error");
    const payload = frame.payload as Record<string, unknown>;
    assert.equal(payload.code, code, `expected ${code}, got ${JSON.stringify(frame)}`);
    return payload;
  }

  /** Reads frames up to and including the first one matching `predicate`. */
  async until(predicate: (frame: Frame) => boolean): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (;;) {
      const frame = await this.next();
      // The message is built only on failure: reading many frames stays linear.
      if (frame === undefined) {
        assert.fail(`connection closed while waiting; read ${JSON.stringify(frames)}`);
      }
      frames.push(frame);
      if (predicate(frame)) return frames;
    }
  }

  /** Reads until the runtime closes the connection; returns what arrived first. */
  async ended(): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (;;) {
      const frame = await this.next();
      if (frame === undefined) return frames;
      frames.push(frame);
    }
  }

  /** Sends `session.hello` and expects `session.welcome`; returns the welcome. */
  hello(token: string | null = TOKEN, options: HelloOptions = {}): Promise<Frame> {
    return this.handshake(helloFrame(token, options));
  }

  /**
   * Sends a handshake frame (a hello, resuming or not, or a `session.resume`)
   * and expects `session.welcome`; returns the welcome.
   */
  async handshake(frame: Frame): Promise<Frame> {
    await this.send(frame);
    const welcome = await this.expect("session.welcome");
    this.sessionId = welcome.session_id as string;
    this.resumeToken = (welcome.payload as { resume_token: string }).resume_token;
    return welcome;
  }

  /** Submits `agent` and reads until its terminal frame; returns the frames of that job. */
  async run(agent: string, input?: unknown): Promise<Frame[]> {
    const id = await this.submit(agent, input);
    const accepted = await this.until((f) =>
      f.type === "job.accepted" && (f.payload as { request_id?: string }).request_id === id
    );
    const jobId = accepted.at(-1)!.job_id;
    const rest = await this.until((f) =>
      f.job_id === jobId && (f.type === "job.result" || f.type === "job.error")
    );
    return [...accepted, ...rest].filter((f) => f.job_id === jobId);
  }

  /** Closes the connection from this side. */
  close(): Promise<void> {
    return this.#close();
  }
}

/** A raw connection over the client side of a transport. */
export function rawOver(transport: Transport): RawConnection {
  const writer = transport.writable.getWriter();
  const reader = transport.readable.getReader();
  return new RawConnection({
    send: (frame) => writer.write(frame as Frame),
    read: async () => {
      const { value, done } = await reader.read();
      return done ? undefined : value;
    },
    close: async () => {
      await writer.close().catch(() => {});
      await reader.cancel().catch(() => {});
    },
  });
}
