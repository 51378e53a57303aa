// This module is browser compatible.
// Opening the WebSocket of `connect(url)` and, when it does not open, saying
// why: Deno's error event names the failure (refused, DNS, HTTP status, TLS);
// browsers hide it, so then an HTTP request to the same URL tells what it can.

import { ConnectionClosedError } from "../protocol/errors.ts";
import type { Transport } from "../transports/types.ts";
import type { WebSocketTransportOptions } from "../transports/types.ts";
import { webSocketTransport } from "../transports/websocket.ts";

/** How long the HTTP request that diagnoses a failed upgrade may take. */
const PROBE_TIMEOUT_MS = 5_000;
/** How long the body of a refusal may take to yield its first line, once its status came. */
const BODY_TIMEOUT_MS = 1_000;
/** How much of a refusal's body is read for its first line. */
const BODY_MAX_BYTES = 4_096;
/** How much of that line a message quotes. */
const BODY_LINE_MAX_CHARS = 200;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

function where(url: URL): string {
  return url.port === "" ? url.hostname : `${url.hostname}:${url.port}`;
}

/** The sentence for an HTTP answer where a WebSocket upgrade was expected. */
function httpStatus(status: number, url: URL): string {
  const text = STATUS_TEXT[status] === undefined ? "" : ` ${STATUS_TEXT[status]}`;
  if (status === 404) {
    const hint = url.pathname === "/arcp"
      ? "not an ARCP runtime, or one serving another path?"
      : "wrong path? an ARCP runtime usually serves /arcp";
    return `HTTP 404 Not Found: ${where(url)} serves nothing at ${url.pathname} (${hint})`;
  }
  const from = `${where(url)} at ${url.pathname}`;
  return `HTTP ${status}${text} from ${from} instead of a WebSocket upgrade`;
}

/** The HTTP status a platform's message says the upgrade was answered with, if it says one. */
function statusIn(text: string): number | undefined {
  const status = /(?:invalid status code|unexpected response code|status code)\D{0,3}(\d{3})/i
    .exec(text)?.[1];
  return status === undefined ? undefined : Number(status);
}

/**
 * The first line of a refusal's text body, cleaned and shortened, or
 * `undefined` when there is none to show: a server refusing an upgrade (503
 * at a connection limit, 401, 429) often says why there, which the
 * WebSocket API drops. Reads at most {@linkcode BODY_MAX_BYTES} for at most
 * {@linkcode BODY_TIMEOUT_MS}, keeping what came by then.
 */
async function firstLine(response: Response): Promise<string | undefined> {
  const type = response.headers.get("content-type") ?? "text/plain";
  const reader = response.body?.getReader();
  if (reader === undefined || !/^(text\/plain|application\/(problem\+)?json)\b/i.test(type)) {
    await reader?.cancel();
    return undefined;
  }
  const decoder = new TextDecoder();
  // Cancelling ends the read below; a failure to cancel has nothing to add to it.
  const timer = setTimeout(() => reader.cancel().catch(() => {}), BODY_TIMEOUT_MS);
  let text = "";
  try {
    for (let read = 0; read < BODY_MAX_BYTES && !/\S[^\n]*\n/.test(text);) {
      const { value, done } = await reader.read();
      if (done) break;
      read += value.length;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // Cut short (the time ran out, the connection dropped): what came is enough.
  } finally {
    clearTimeout(timer);
    // Only a hint was read: a body that cannot be cancelled is not worth a word.
    reader.cancel().catch(() => {});
  }
  // Control characters (a terminal's escapes among them) never reach the message.
  const line = text.split("\n").find((l) => l.trim() !== "")?.replace(/[\p{Cc}\s]+/gu, " ").trim();
  if (line === undefined || line === "") return undefined;
  return line.length > BODY_LINE_MAX_CHARS ? `${line.slice(0, BODY_LINE_MAX_CHARS)}…` : line;
}

/**
 * The sentence for a connection failure described by `text` (the message of a
 * WebSocket error event or of a failed `fetch` and its causes), or
 * `undefined` when the text names no cause it knows.
 *
 * @param url The `ws:`/`wss:` URL that was being opened.
 * @param text What the platform said.
 */
export function explainConnectFailure(url: URL, text: string): string | undefined {
  if (/connection refused|ECONNREFUSED/i.test(text)) {
    return `connection refused: nothing listens on ${where(url)}`;
  }
  if (
    /dns error|failed to lookup|name or service not known|nodename nor servname|no address associated|name resolution|ENOTFOUND|getaddrinfo/i
      .test(text)
  ) {
    return `unknown host "${url.hostname}": the name does not resolve`;
  }
  const status = statusIn(text);
  if (status !== undefined) return httpStatus(status, url);
  if (/tls|ssl|certificate|InvalidContentType|corrupt message/i.test(text)) {
    const hint = url.protocol === "wss:" ? " (is it a TLS server? ws:// is for plain ones)" : "";
    return `TLS failure with ${where(url)}: ${
      text.replace(/^.*(?:failed to connect to WebSocket|client error \(Connect\)): /, "")
    }${hint}`;
  }
  if (/timed out|timeout/i.test(text)) return `no answer from ${where(url)}: timed out`;
  if (/connection reset|broken pipe|unexpected eof|connection closed/i.test(text)) {
    return `${where(url)} closed the connection during the WebSocket handshake`;
  }
  return undefined;
}

/** The messages of `error` and of its chain of causes, joined. */
function messages(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e instanceof Error && parts.length < 5; e = e.cause) parts.push(e.message);
  return parts.length === 0 ? String(error) : parts.join(": ");
}

/**
 * Why a WebSocket to `url` did not open: from `detail`, the error event's
 * message, when it names the cause; otherwise from an HTTP request to the
 * same URL (browsers give no detail, Deno none for every TCP failure).
 *
 * @param url The `ws:`/`wss:` URL.
 * @param detail The error event's message, if it had one.
 * @param signal Stops the HTTP request.
 */
export async function whyNotOpened(
  url: URL,
  detail: string | undefined,
  signal?: AbortSignal,
): Promise<string> {
  const known = detail === undefined ? undefined : explainConnectFailure(url, detail);
  const status = detail === undefined ? undefined : statusIn(detail);
  // A 404 is said in full without its body; a refusal's body may say why.
  if (known !== undefined && (status === undefined || status === 404)) return known;
  const http = new URL(url);
  http.protocol = url.protocol === "wss:" ? "https:" : "http:";
  const timeout = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  try {
    // no-cors: a cross-origin runtime sends no CORS headers; browsers allow it only with
    // redirects followed.
    const response = await fetch(http, {
      mode: "no-cors",
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    });
    // A browser's no-cors answer hides its status: the server is there, the upgrade failed.
    if (response.type === "opaque" || response.status === 0) {
      await response.body?.cancel();
      return known ??
        `${where(url)} answers HTTP but refused the WebSocket upgrade at ${url.pathname}`;
    }
    // Answered otherwise than the upgrade was (a limit freed meanwhile): its body is not the reason.
    if (status !== undefined && response.status !== status) {
      await response.body?.cancel();
      return known!;
    }
    let line: string | undefined;
    if (response.status === 404) await response.body?.cancel();
    else line = await firstLine(response); // which ends the body itself
    return `${httpStatus(response.status, url)}${line === undefined ? "" : `; it said: ${line}`}`;
  } catch (error) {
    if (known !== undefined) return known;
    const text = messages(error);
    const explained = explainConnectFailure(url, text);
    if (explained !== undefined) return explained;
    if (/tcp connect/i.test(`${detail} ${text}`)) {
      return `cannot open a TCP connection to ${
        where(url)
      } (connection refused or host unreachable)`;
    }
    return `cannot reach ${where(url)} (connection refused, unknown host or TLS failure; ` +
      `the platform does not say which: ${detail ?? text})`;
  }
}

/**
 * Opens a WebSocket to `url` and resolves with its transport once it is
 * open.
 *
 * @throws {ConnectionClosedError} `Cannot connect to URL: <why>` when it
 *   closes before opening, or when `timeoutMs` passes first.
 * @throws `signal.reason` when `signal` aborts first.
 */
export async function openWebSocket(
  url: string | URL,
  options: WebSocketTransportOptions,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Transport> {
  signal?.throwIfAborted();
  const socket = new WebSocket(url);
  const transport = webSocketTransport(socket, options);
  const opened = Promise.withResolvers<void>();
  let detail: string | undefined;
  socket.addEventListener("error", (event) => {
    detail = (event as ErrorEvent).message || undefined;
  });
  socket.addEventListener("open", () => opened.resolve());
  socket.addEventListener("close", () => opened.reject(undefined));
  const giveUp = (reason: unknown) => {
    opened.reject(reason);
    socket.close();
  };
  const onAbort = () => giveUp(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(
    () =>
      giveUp(new ConnectionClosedError(`No WebSocket connection to ${url} within ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    await opened.promise;
    return transport;
  } catch (reason) {
    if (reason !== undefined) throw reason;
    const why = await whyNotOpened(new URL(url), detail, signal);
    throw new ConnectionClosedError(`Cannot connect to ${url}: ${why}`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}
