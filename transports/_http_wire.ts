// This module is browser compatible.
// What both ends of the HTTP binding (docs/http-binding.md) agree on: header
// names, the body types, one frame as a server-sent event and back, and a
// body read with a cap and a deadline.

import type { Frame } from "./types.ts";

/** Names the stream a `POST` is for; set by the runtime on the stream's response. */
export const HEADER_STREAM = "arcp-stream";
/** Numbers a stream's `POST`s from 1, so a resent one is recognised and an out-of-order one refused. */
export const HEADER_SEQ = "arcp-seq";
/** The resume cursor of an opening request (the SSE reconnection header). */
export const HEADER_LAST_EVENT_ID = "last-event-id";
/** The body type of a `POST` holding several envelopes, one per line. */
export const NDJSON = "application/x-ndjson";
/** The response type of a stream. */
export const EVENT_STREAM = "text/event-stream";

/**
 * One frame as a server-sent event: its `event_seq` as the event id when it
 * has one (what a reconnecting client sends back as `Last-Event-ID`), the
 * envelope as one `data` line (JSON text has no raw line breaks).
 */
export function sseEvent(frame: Frame, json: string): string {
  return typeof frame.event_seq === "number"
    ? `id: ${frame.event_seq}\ndata: ${json}\n\n`
    : `data: ${json}\n\n`;
}

/**
 * Reads `request`'s body as text: `"too large"` past `maxBytes` (reading
 * stops there), `"timeout"` when it has not all come within `timeoutMs`.
 */
export async function readCapped(
  request: Request,
  maxBytes: number,
  timeoutMs: number,
): Promise<string | "too large" | "timeout"> {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await request.body?.cancel().catch(() => {});
    return "too large";
  }
  const reader = request.body?.getReader();
  if (reader === undefined) return "";
  let timedOut = false;
  // Cancelling ends the pending read; a failure to cancel has nothing to add.
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, timeoutMs);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        reader.cancel().catch(() => {});
        return "too large";
      }
      chunks.push(value);
    }
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) return "timeout";
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * Splits an event stream's text into the `data` of its events (spec: HTML
 * "Server-sent events", the parts this binding uses): comments, `id` and
 * `event` lines are skipped, an event's `data` lines are joined with `\n`.
 * `maxEventChars` bounds what one event may hold before it is complete.
 */
export class SseParser {
  #buffer = "";
  #data: string[] = [];
  #size = 0;
  readonly #maxEventChars: number;

  constructor(maxEventChars: number) {
    this.#maxEventChars = maxEventChars;
  }

  /**
   * Feeds decoded text; returns the data of each event it completed.
   *
   * @throws {RangeError} when one event grows past the cap.
   */
  feed(text: string): string[] {
    this.#buffer += text;
    const events: string[] = [];
    let start = 0;
    for (;;) {
      const end = this.#buffer.indexOf("\n", start);
      if (end === -1) break;
      let line = this.#buffer.slice(start, end);
      start = end + 1;
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line === "") {
        if (this.#data.length > 0) events.push(this.#data.join("\n"));
        this.#data = [];
        this.#size = 0;
      } else if (line.startsWith("data:")) {
        const value = line.slice(line.startsWith("data: ") ? 6 : 5);
        this.#data.push(value);
        this.#size += value.length;
      }
    }
    this.#buffer = this.#buffer.slice(start);
    if (this.#size + this.#buffer.length > this.#maxEventChars) {
      throw new RangeError(`An event of the stream exceeds ${this.#maxEventChars} characters`);
    }
    return events;
  }
}
