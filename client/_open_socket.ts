// This module is browser compatible.
// Opening the WebSocket of `connect(url)` and, when it does not open, saying
// why: Deno's error event names the failure (refused, DNS, HTTP status, TLS);
// browsers hide it, so then an HTTP request to the same URL tells what it can.

import { ConnectionClosedError } from "../protocol/errors.ts";
import type { Transport } from "../transports/types.ts";
import { webSocketTransport, type WebSocketTransportOptions } from "../transports/websocket.ts";

/** How long the HTTP request that diagnoses a failed upgrade may take. */
const PROBE_TIMEOUT_MS = 5_000;

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
  const status = /(?:invalid status code|unexpected response code|status code)\D{0,3}(\d{3})/i
    .exec(text)?.[1];
  if (status !== undefined) return httpStatus(Number(status), url);
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
  if (known !== undefined) return known;
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
    await response.body?.cancel();
    // A browser's no-cors answer hides its status: the server is there, the upgrade failed.
    if (response.type === "opaque" || response.status === 0) {
      return `${where(url)} answers HTTP but refused the WebSocket upgrade at ${url.pathname}`;
    }
    return httpStatus(response.status, url);
  } catch (error) {
    const text = messages(error);
    const known = explainConnectFailure(url, text);
    if (known !== undefined) return known;
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
