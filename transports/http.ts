// This module is browser compatible.
/**
 * The client side of the ARCP HTTP binding (docs/http-binding.md) as a
 * {@linkcode Transport}: the first frame written (`session.hello`) opens the
 * event stream with a `POST`, later frames are `POST`ed to that stream, one
 * request at a time and in order, those written meanwhile batched as NDJSON.
 * Frames from the runtime are read from the stream with a streaming `fetch`
 * reader (no `EventSource`, which cannot send an `Authorization` header).
 * Works in Deno, Bun, Node and browsers.
 *
 * @module
 */

import { ConnectionClosedError } from "../protocol/errors.ts";
import { frameText } from "./frame_text.ts";
import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_JSON_DEPTH,
  type Frame,
  type MalformedFrame,
  parseFrame,
  type Transport,
} from "./types.ts";
import {
  EVENT_STREAM,
  HEADER_LAST_EVENT_ID,
  HEADER_SEQ,
  HEADER_STREAM,
  NDJSON,
  SseParser,
} from "./_http_wire.ts";

export type { Frame, Transport } from "./types.ts";

/** Options of {@linkcode httpTransport}. */
export interface HttpTransportOptions {
  /**
   * The bearer credential sent as `Authorization` on every request; by
   * default the `auth.token` of the first frame (the hello).
   */
  token?: string;
  /**
   * Cap on one incoming frame in bytes of UTF-8 (a larger one arrives as a
   * {@linkcode MalformedFrame}), and on the envelopes batched into one
   * `POST`.
   * @default {1048576}
   */
  maxFrameBytes?: number;
  /**
   * Cap on how deeply objects and arrays nest in one incoming frame.
   * @default {64}
   */
  maxJsonDepth?: number;
  /**
   * Milliseconds one `POST` may take to be answered; past it the connection
   * is cut (a reconnecting client resumes).
   * @default {30000}
   */
  requestTimeoutMs?: number;
  /** The `fetch` to use; the global one by default. */
  fetch?: typeof fetch;
}

/** Envelopes batched into one `POST` at most. */
const MAX_BATCH = 256;
/** Frames read from the stream ahead of the consumer at most (and twice `maxFrameBytes` of text). */
const MAX_AHEAD_FRAMES = 1024;

async function refusal(response: Response, url: string): Promise<string> {
  let body = "";
  try {
    body = (await response.text()).split("\n").find((line) => line.trim() !== "")?.trim() ?? "";
  } catch {
    // The body is only a hint.
  }
  return `HTTP ${response.status} from ${url}${body === "" ? "" : `: ${body.slice(0, 200)}`}`;
}

/**
 * Opens a {@linkcode Transport} over the HTTP binding at `url` (the runtime's
 * path, e.g. `http://127.0.0.1:7777/arcp`). Nothing is sent until the first
 * frame is written: it opens the stream, and a resuming hello's
 * `last_event_seq` goes as `Last-Event-ID` too. A refused or failed request
 * closes both sides with a `ConnectionClosedError` naming the HTTP status
 * and the runtime's reason.
 *
 * @param url The runtime's ARCP URL (`http:` or `https:`).
 * @param options Credential, caps and deadlines.
 * @returns The transport.
 * @example
 * ```ts ignore
 * import { connect } from "@arcp/arcp/client";
 *
 * await using client = await connect("http://127.0.0.1:7777/arcp", {
 *   token: "s3cret",
 *   transport: "http",
 * });
 * ```
 */
export function httpTransport(url: string | URL, options: HttpTransportOptions = {}): Transport {
  const target = String(url);
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const stop = new AbortController();
  let token = options.token;
  let streamId: string | undefined;
  let seq = 0;
  let failure: Error | undefined;
  let writeController: WritableStreamDefaultController | undefined;
  /** The stream's reader, cancelled on failure: aborting a fetch whose response came is unreliable. */
  let streamReader: ReadableStreamDefaultReader<Uint8Array> | undefined;

  /** Frames written and not yet posted, and the writes waiting for room. */
  let batch: string[] = [];
  let batchBytes = 0;
  let posting: Promise<void> | undefined;
  let room: PromiseWithResolvers<void> | undefined;

  const fail = (error: Error): void => {
    if (failure !== undefined) return;
    failure = error;
    stop.abort(error);
    room?.reject(error);
    readRoom?.resolve();
    writeController?.error(error);
    streamReader?.cancel(error).catch(() => {});
    // Before the stream opened there is nothing to read: the readable ends here.
    end ??= { clean: false, error };
    arrived?.resolve();
  };

  const headers = (extra: Record<string, string>): Record<string, string> => ({
    ...extra,
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
  });

  const openStream = async (first: Frame, text: string): Promise<void> => {
    const payload = first.payload as Record<string, unknown> | undefined;
    const auth = payload?.auth as { token?: unknown } | undefined;
    if (token === undefined && typeof auth?.token === "string") token = auth.token;
    const resume = payload?.resume as { last_event_seq?: unknown } | undefined;
    const extra: Record<string, string> = {
      "content-type": "application/json",
      accept: EVENT_STREAM,
    };
    if (typeof resume?.last_event_seq === "number") {
      extra[HEADER_LAST_EVENT_ID] = String(resume.last_event_seq);
    }
    const response = await doFetch(target, {
      method: "POST",
      headers: headers(extra),
      body: text,
      signal: stop.signal,
    }).catch((error) => {
      if (stop.signal.aborted) throw stop.signal.reason;
      throw new ConnectionClosedError(
        `Cannot open an ARCP stream at ${target}: ${messagesOf(error)}`,
        { cause: error },
      );
    });
    const type = response.headers.get("content-type") ?? "";
    if (!response.ok || !type.startsWith(EVENT_STREAM) || response.body === null) {
      throw new ConnectionClosedError(
        `Cannot open an ARCP stream: ${await refusal(response, target)}`,
      );
    }
    streamId = response.headers.get(HEADER_STREAM) ?? undefined;
    if (streamId === undefined) {
      await response.body.cancel();
      throw new ConnectionClosedError(
        `Cannot open an ARCP stream: ${target} sent no ${HEADER_STREAM} header`,
      );
    }
    streamReader = response.body.getReader();
    void readAhead(streamReader);
  };

  const postBatch = async (): Promise<void> => {
    while (batch.length > 0 && failure === undefined) {
      const texts = batch;
      batch = [];
      batchBytes = 0;
      room?.resolve();
      // A controller of its own, not AbortSignal.any or .timeout: a signal
      // derived from others is held weakly and may be collected unfired.
      const abort = new AbortController();
      const onStop = () => abort.abort(stop.signal.reason);
      stop.signal.addEventListener("abort", onStop, { once: true });
      const timer = setTimeout(
        () =>
          abort.abort(
            new ConnectionClosedError(`No answer to a POST within ${requestTimeoutMs} ms`),
          ),
        requestTimeoutMs,
      );
      let response: Response;
      try {
        response = await doFetch(target, {
          method: "POST",
          headers: headers({
            "content-type": texts.length === 1 ? "application/json" : NDJSON,
            [HEADER_STREAM]: streamId!,
            [HEADER_SEQ]: String(++seq),
          }),
          body: texts.length === 1 ? texts[0]! : texts.join("\n"),
          signal: abort.signal,
        });
      } catch (error) {
        throw abort.signal.aborted ? abort.signal.reason : error;
      } finally {
        clearTimeout(timer);
        stop.signal.removeEventListener("abort", onStop);
      }
      if (!response.ok) throw new ConnectionClosedError(await refusal(response, target));
      await response.body?.cancel();
    }
  };

  // The stream is read ahead of the consumer, up to a bound, so a cut is
  // noticed (and the writable failed, as a WebSocket's close does) while the
  // session is busy elsewhere; past the bound reading waits, and the
  // runtime's writes wait in turn (back-pressure).
  let ahead: (Frame | MalformedFrame)[] = [];
  let aheadChars = 0;
  let end: { clean: boolean; error: Error } | undefined;
  let arrived: PromiseWithResolvers<void> | undefined;
  let readRoom: PromiseWithResolvers<void> | undefined;
  const wake = () => arrived?.resolve();
  const readAhead = async (reader: ReadableStreamDefaultReader<Uint8Array>) => {
    const decoder = new TextDecoder();
    const parser = new SseParser(2 * maxFrameBytes);
    let clean = false;
    try {
      for (;;) {
        while (ahead.length >= MAX_AHEAD_FRAMES || aheadChars >= 2 * maxFrameBytes) {
          readRoom = Promise.withResolvers<void>();
          await readRoom.promise;
        }
        if (failure !== undefined) throw failure;
        const { value, done } = await reader.read();
        if (failure !== undefined) throw failure;
        if (done) {
          clean = true;
          throw new ConnectionClosedError("The runtime ended the event stream");
        }
        for (const data of parser.feed(decoder.decode(value, { stream: true }))) {
          ahead.push(parseFrame(data, maxFrameBytes, maxJsonDepth));
          aheadChars += data.length;
        }
        wake();
      }
    } catch (error) {
      const cause = failure ?? asError(error);
      end = {
        clean,
        error: cause instanceof ConnectionClosedError
          ? cause
          : new ConnectionClosedError(`The event stream failed: ${cause.message}`, { cause }),
      };
      fail(end.error);
      reader.cancel().catch(() => {});
      wake();
    }
  };

  const pump = () => {
    posting ??= postBatch().catch((error) => fail(asError(error))).finally(() => {
      posting = undefined;
      if (batch.length > 0 && failure === undefined) pump();
    });
  };

  const writable = new WritableStream<Frame>({
    start(controller) {
      writeController = controller;
    },
    async write(frame) {
      if (failure !== undefined) throw failure;
      const text = frameText(frame);
      if (streamId === undefined) {
        try {
          await openStream(frame, text);
        } catch (error) {
          fail(asError(error));
          throw failure;
        }
        return;
      }
      // Room for this frame: the batch under its caps, or empty.
      while (
        batch.length > 0 && (batch.length >= MAX_BATCH || batchBytes + text.length > maxFrameBytes)
      ) {
        room = Promise.withResolvers<void>();
        await room.promise;
      }
      batch.push(text);
      batchBytes += text.length;
      pump();
    },
    async close() {
      while (posting !== undefined) await posting;
      if (failure !== undefined) throw failure;
      fail(new ConnectionClosedError("The client closed the connection"));
    },
    abort(reason) {
      fail(reason instanceof Error ? reason : new ConnectionClosedError(String(reason)));
    },
  }, new CountQueuingStrategy({ highWaterMark: 64 }));

  const readable = new ReadableStream<Frame | MalformedFrame>({
    async pull(controller) {
      for (;;) {
        if (ahead.length > 0) {
          for (const frame of ahead) controller.enqueue(frame);
          ahead = [];
          aheadChars = 0;
          readRoom?.resolve();
          return;
        }
        if (end !== undefined) {
          if (end.clean) controller.close();
          else controller.error(end.error);
          return;
        }
        arrived = Promise.withResolvers<void>();
        await arrived.promise;
      }
    },
    cancel(reason) {
      fail(reason instanceof Error ? reason : new ConnectionClosedError("Reader cancelled"));
    },
  }, { highWaterMark: 0 });

  return { readable, writable };
}

/** The messages of `error` and its causes (a failed fetch says why only in its cause). */
function messagesOf(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return parts.length === 0 ? String(error) : parts.join(": ");
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
