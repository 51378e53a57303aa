// This module is browser compatible.
// Which binding a URL target is opened with (docs/http-binding.md): a
// WebSocket, the HTTP binding, or WebSocket first with a fallback to HTTP
// when the upgrade fails or the socket dies before the welcome.

import { ConnectionClosedError } from "../protocol/errors.ts";
import type { Transport } from "../transports/types.ts";
import { httpTransport } from "../transports/http.ts";
import { openWebSocket } from "./_open_socket.ts";

/** The binding asked for in `ConnectOptions.transport`. */
export type BindingChoice = "auto" | "websocket" | "http";

/** Opens transports to one URL, and learns which binding works there. */
export interface BindingOpener {
  /** Opens a transport with the binding chosen so far. */
  open(signal?: AbortSignal): Promise<Transport>;
  /**
   * Called when a handshake over the last transport failed with `error`:
   * whether to try again over HTTP (only in `"auto"`, only for a WebSocket
   * that died before its welcome).
   */
  fallBack(error: unknown): boolean;
  /** The last transport was welcomed: its binding is kept from now on. */
  welcomed(): void;
}

/** The `http:`/`https:` form of a `ws:`/`wss:` URL, and the other way round. */
function withScheme(url: URL, secure: string, plain: string): URL {
  const copy = new URL(url);
  copy.protocol = url.protocol === "https:" || url.protocol === "wss:" ? secure : plain;
  return copy;
}

/**
 * The opener of `target`. `ws:`/`wss:` URLs are always WebSockets; others
 * follow `choice`, `"auto"` by default.
 */
export function bindingOpener(
  target: string | URL,
  choice: BindingChoice | undefined,
  socketOptions: { maxFrameBytes?: number },
  timeoutMs: number,
): BindingOpener {
  const url = new URL(target);
  const socketUrl = url.protocol === "ws:" || url.protocol === "wss:"
    ? url
    : withScheme(url, "wss:", "ws:");
  const httpUrl = withScheme(url, "https:", "http:");
  let mode: BindingChoice = url.protocol === "ws:" || url.protocol === "wss:"
    ? "websocket"
    : choice ?? "auto";
  let last: "websocket" | "http" | undefined;
  const openHttp = () => {
    last = "http";
    return Promise.resolve(httpTransport(httpUrl, socketOptions));
  };
  return {
    async open(signal) {
      signal?.throwIfAborted();
      if (mode === "http") return await openHttp();
      try {
        last = "websocket";
        return await openWebSocket(socketUrl, socketOptions, timeoutMs, signal);
      } catch (error) {
        if (mode !== "auto" || !(error instanceof ConnectionClosedError)) throw error;
        mode = "http";
        return await openHttp();
      }
    },
    fallBack(error) {
      if (mode !== "auto" || last !== "websocket" || !(error instanceof ConnectionClosedError)) {
        return false;
      }
      mode = "http";
      return true;
    },
    welcomed() {
      if (last !== undefined) mode = last;
    },
  };
}
