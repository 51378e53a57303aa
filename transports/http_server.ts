// This module is browser compatible.
/**
 * The server side of the ARCP HTTP binding (docs/http-binding.md): each
 * stream is one {@linkcode Transport} whose frames to the client go out as a
 * `text/event-stream` response and whose frames from the client arrive as
 * `POST`ed envelopes naming the stream. {@linkcode httpBinding} returns a plain
 * `(request: Request) => Promise<Response>` that any host can mount; the
 * runtime's `fetch` uses it for every request to its path that is not a
 * WebSocket upgrade.
 *
 * @module
 */

import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_JSON_DEPTH,
  type Frame,
  MalformedFrame,
  parseFrame,
  type Transport,
} from "./types.ts";
import {
  HEADER_LAST_EVENT_ID,
  HEADER_SEQ,
  HEADER_STREAM,
  NDJSON,
  readCapped,
} from "./_http_wire.ts";
import { eventStream } from "./_http_stream.ts";
import { PostOrder } from "./_http_order.ts";

export { HEADER_SEQ, HEADER_STREAM } from "./_http_wire.ts";

/** Options of {@linkcode httpBinding}. */
export interface HttpBindingOptions {
  /**
   * Serves one stream's transport; the promise settles when it has ended.
   * May throw (a closed runtime), which answers the opening request 503.
   */
  accept(transport: Transport): Promise<void>;
  /**
   * Called before a stream opens: a sentence saying why none may open now
   * (closed, at a connection cap), answered with HTTP 503, or `undefined`.
   */
  refuse?(): string | undefined;
  /**
   * Cap on one incoming envelope in bytes of UTF-8; a larger one is answered
   * in-band (`INVALID_REQUEST`), as on a WebSocket. A `POST` body may hold at
   * most twice this; a larger body is answered 413.
   * @default {1048576}
   */
  maxFrameBytes?: number;
  /**
   * Cap on how deeply objects and arrays nest in one incoming envelope.
   * @default {64}
   */
  maxJsonDepth?: number;
  /**
   * Envelopes posted to a stream that may wait unread; past it the stream's
   * transport errors (`INTERNAL_ERROR` naming the cap) as a WebSocket's does.
   * @default {1024}
   */
  maxQueuedFrames?: number;
  /**
   * Total size of the envelopes that may wait unread, in bytes (UTF-16 code
   * units of their text).
   * @default {8388608}
   */
  maxQueuedBytes?: number;
  /**
   * Bytes of event-stream text a response may hold unsent before writes
   * wait for the client to read (back-pressure, as `bufferedAmount` on a
   * WebSocket).
   * @default {1048576}
   */
  maxBufferedBytes?: number;
  /**
   * Milliseconds between SSE comment lines on an idle stream, so proxies and
   * load balancers do not time it out; 0 disables them.
   * @default {15000}
   */
  keepAliveMs?: number;
  /**
   * Milliseconds a request has to deliver its whole body; a slower one is
   * answered 408.
   * @default {30000}
   */
  bodyTimeoutMs?: number;
  /** Hands `POST`s over between instances; without it a stream's `POST`s must reach its instance. */
  relay?: HttpStreamRelay;
  /** Told of a relay that failed (the stream concerned ends, and its client resumes). */
  onRelayError?(error: unknown): void;
}

/**
 * Hands the `POST`s of a stream that reached another instance over to the
 * instance serving it, through storage every instance shares
 * (docs/http-binding.md, "Several instances"). The runtime supplies one when
 * its store is shared.
 */
export interface HttpStreamRelay {
  /**
   * Calls `poke` whenever POSTs for stream `id` (served here) may wait in
   * its inbox, until the returned function is called.
   */
  follow(id: string, poke: () => void): () => void;
  /** A stream opened here with `credential`: other instances can find it once this resolves. */
  opened(id: string, credential: string | undefined): Promise<void>;
  /** The stream ended here: other instances answer its `POST`s 404 from now on. */
  closed(id: string): Promise<void>;
  /** Keeps the envelopes of `POST` `seq` for stream `id`, which is not here. */
  forward(
    id: string,
    credential: string | undefined,
    seq: number,
    texts: string[],
  ): Promise<"accepted" | "duplicate" | "unknown" | "unauthorized">;
  /** The `POST`s kept for stream `id` numbered `from` or later, in order, removing them and older ones. */
  take(id: string, from: number): Promise<{ seq: number; texts: string[] }[]>;
}

/** One open event stream: the credential it was opened with and its ordered input. */
interface Stream {
  readonly credential: string | undefined;
  readonly order: PostOrder;
}

const encoder = new TextEncoder();
const JSON_TYPE = "application/json";

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(`${body}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/** The bearer credential of `Authorization`, `undefined` without one, `null` when malformed. */
function bearerOf(request: Request): string | undefined | null {
  const header = request.headers.get("authorization");
  if (header === null) return undefined;
  const match = /^Bearer +(\S+)\s*$/i.exec(header);
  return match === null ? null : match[1];
}

/** Compares two credentials in time independent of where they differ. */
function sameCredential(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ (y[i % y.length] ?? 0);
  return diff === 0;
}

/** 128 random bits, URL-safe: a stream's id, unguessable by another client. */
function newStreamId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unknownStream(id: string): Response {
  return text(
    404,
    `No open ARCP stream ${id.slice(0, 64)}: it ended; open a new stream and resume`,
  );
}

function unauthorized(): Response {
  return text(401, "The bearer credential differs from the one that opened the stream", {
    "www-authenticate": 'Bearer realm="arcp"',
  });
}

/** The envelopes of a body, as text each (one JSON object, or one per line of NDJSON). */
function envelopesOf(body: string, contentType: string): string[] {
  if (contentType.startsWith(NDJSON)) return body.split("\n").filter((line) => line.trim() !== "");
  return [body];
}

/**
 * Applies the opening request's `Last-Event-ID` and bearer credential to its
 * first envelope, a `session.hello` or `session.resume`: `Last-Event-ID` is
 * the resume's `last_event_seq` when the envelope names none, and the bearer
 * its token when it carries none. A disagreement is answered 400.
 */
function applyHeaders(
  first: Frame,
  lastEventId: number | undefined,
  bearer: string | undefined,
): string | undefined {
  const payload = first.payload;
  if (typeof payload !== "object" || payload === null) return undefined;
  const p = payload as Record<string, unknown>;
  if (first.type === "session.hello" && bearer !== undefined) {
    const auth = (p.auth ?? {}) as Record<string, unknown>;
    if (typeof auth !== "object" || auth === null) return undefined;
    if (auth.token === undefined) p.auth = { scheme: "bearer", ...auth, token: bearer };
    else if (auth.token !== bearer) {
      return "The Authorization bearer differs from the hello's auth.token";
    }
  }
  if (lastEventId === undefined) return undefined;
  const resume = first.type === "session.resume"
    ? p
    : typeof p.resume === "object" && p.resume !== null
    ? p.resume as Record<string, unknown>
    : undefined;
  if (resume === undefined) {
    return "Last-Event-ID resumes a session: the first envelope must be a resuming hello";
  }
  if (resume.last_event_seq === undefined) resume.last_event_seq = lastEventId;
  else if (resume.last_event_seq !== lastEventId) {
    return `Last-Event-ID ${lastEventId} differs from the hello's last_event_seq ${
      JSON.stringify(resume.last_event_seq)
    }`;
  }
  return undefined;
}

/**
 * Creates the handler of the HTTP binding: `POST` without `Arcp-Stream`
 * opens a stream (its body the first envelopes, normally `session.hello`),
 * `POST` with it delivers envelopes to that stream, in the order of their
 * `Arcp-Seq`. A `POST` for a stream another instance serves is handed over
 * through `options.relay`; without one it is answered 404 (see
 * docs/http-binding.md, "Several instances").
 *
 * @param options The acceptor and the limits.
 * @returns The request handler.
 * @example
 * ```ts
 * import { Runtime } from "@arcp/arcp/runtime";
 * import { httpBinding } from "@arcp/arcp/transports/http-server";
 * import assert from "node:assert/strict";
 *
 * await using runtime = new Runtime();
 * const handle = httpBinding({ accept: (transport) => runtime.accept(transport) });
 * const response = await handle(new Request("http://h/arcp", { method: "POST", body: "{}" }));
 * assert.equal(response.status, 415);
 * ```
 */
export function httpBinding(options: HttpBindingOptions): (request: Request) => Promise<Response> {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const maxBodyBytes = 2 * maxFrameBytes;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 30_000;
  const streams = new Map<string, Stream>();
  const relay = options.relay;

  const readBody = async (request: Request): Promise<string | Response> => {
    const type = request.headers.get("content-type")?.toLowerCase() ?? "";
    if (!type.startsWith(JSON_TYPE) && !type.startsWith(NDJSON)) {
      return text(415, `ARCP POSTs carry ${JSON_TYPE} or ${NDJSON}, not "${type}"`);
    }
    const body = await readCapped(request, maxBodyBytes, bodyTimeoutMs);
    if (body === "too large") {
      return text(413, `Request body exceeds the ${maxBodyBytes}-byte limit (2 × maxFrameBytes)`);
    }
    if (body === "timeout") return text(408, `No complete body within ${bodyTimeoutMs} ms`);
    return body;
  };

  const open = async (request: Request): Promise<Response> => {
    const refused = options.refuse?.();
    if (refused !== undefined) return text(503, refused);
    const bearer = bearerOf(request);
    if (bearer === null) return text(400, "Authorization must be `Bearer <token>`");
    const header = request.headers.get(HEADER_LAST_EVENT_ID);
    let lastEventId: number | undefined;
    if (header !== null) {
      lastEventId = Number(header);
      if (!/^\d{1,15}$/.test(header.trim())) {
        return text(
          400,
          `Last-Event-ID must be an event_seq (a non-negative integer), not "${header}"`,
        );
      }
    }
    const body = await readBody(request);
    if (body instanceof Response) return body;
    const texts = envelopesOf(body, request.headers.get("content-type")!.toLowerCase());
    let credential = bearer;
    const first = texts.length === 0
      ? undefined
      : parseFrame(texts[0]!, maxFrameBytes, maxJsonDepth);
    if (first !== undefined && !(first instanceof MalformedFrame)) {
      const problem = applyHeaders(first, lastEventId, bearer);
      if (problem !== undefined) return text(400, problem);
      texts[0] = JSON.stringify(first);
      const auth = (first.payload as { auth?: { token?: unknown } } | undefined)?.auth;
      if (credential === undefined && typeof auth?.token === "string") credential = auth.token;
    } else if (lastEventId !== undefined) {
      return text(
        400,
        "Last-Event-ID resumes a session: the first envelope must be a resuming hello",
      );
    }
    const id = newStreamId();
    const { transport, response, push, cut, ended } = eventStream({
      maxFrameBytes,
      maxJsonDepth,
      maxQueuedFrames: options.maxQueuedFrames ?? 1024,
      maxQueuedBytes: options.maxQueuedBytes ?? 8 << 20,
      maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_FRAME_BYTES,
      keepAliveMs: options.keepAliveMs ?? 15_000,
      headers: { [HEADER_STREAM]: id },
    });
    const inbox = relay === undefined
      ? undefined
      : { take: (from: number) => relay.take(id, from) };
    const order = new PostOrder(push, inbox, (error) => {
      options.onRelayError?.(error);
      cut();
    });
    try {
      await relay?.opened(id, credential);
      void options.accept(transport);
    } catch (error) {
      order.end();
      await response.body?.cancel();
      return text(503, `Cannot open a stream: ${(error as Error).message}`);
    }
    streams.set(id, { credential, order });
    const unfollow = relay?.follow(id, () => order.poke());
    void ended.then(() => {
      streams.delete(id);
      unfollow?.();
      order.end();
      relay?.closed(id).catch((error) => options.onRelayError?.(error));
    });
    for (const envelope of texts) push(envelope);
    return response;
  };

  const post = async (request: Request, id: string): Promise<Response> => {
    const bearer = bearerOf(request);
    if (bearer === null) return text(400, "Authorization must be `Bearer <token>`");
    const seqText = request.headers.get(HEADER_SEQ) ?? "";
    if (!/^\d{1,15}$/.test(seqText) || Number(seqText) < 1) {
      return text(400, `${HEADER_SEQ} must number the stream's POSTs from 1, not "${seqText}"`);
    }
    const seq = Number(seqText);
    const stream = streams.get(id);
    if (stream === undefined && relay === undefined) return unknownStream(id);
    if (stream !== undefined && !sameCredential(bearer, stream.credential)) return unauthorized();
    const body = await readBody(request);
    if (body instanceof Response) return body;
    const texts = envelopesOf(body, request.headers.get("content-type")!.toLowerCase());
    if (stream === undefined) {
      const outcome = await relay!.forward(id, bearer, seq, texts);
      if (outcome === "unknown") return unknownStream(id);
      if (outcome === "unauthorized") return unauthorized();
      return new Response(null, { status: outcome === "accepted" ? 202 : 204 });
    }
    const outcome = await stream.order.deliver(seq, texts);
    if (outcome === "ended") return unknownStream(id);
    if (outcome === "gap") {
      return text(
        409,
        `${HEADER_SEQ} ${seq} skips a POST that never came: send them one at a time`,
      );
    }
    // A POST sent again after its answer was lost was delivered already.
    return new Response(null, { status: outcome === "delivered" ? 202 : 204 });
  };

  return async (request) => {
    if (request.method !== "POST") {
      return text(405, "The ARCP HTTP binding takes POST", { allow: "POST" });
    }
    const id = request.headers.get(HEADER_STREAM);
    try {
      return id === null ? await open(request) : await post(request, id);
    } catch (error) {
      // The client went away while its body was read: no one reads this answer.
      return text(400, `Cannot read the request: ${(error as Error).message}`);
    }
  };
}
