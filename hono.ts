/**
 * Mounts an ARCP `Runtime` on a [Hono](https://hono.dev) app, serving both
 * bindings at one path: a WebSocket upgrade is the WebSocket binding (spec
 * §4.1), through the `upgradeWebSocket` helper of Hono's adapter for the
 * host (`hono/deno`, `hono/bun`, `@hono/node-ws` on Node.js); a `POST` is
 * the HTTP binding (docs/http-binding.md), answered by `runtime.fetch`.
 * Hono's middleware (authentication, CORS, logging) runs before both.
 *
 * @example Mount a runtime on a Hono app on Deno
 * ```ts ignore
 * import { Hono } from "hono";
 * import { upgradeWebSocket } from "hono/deno";
 * import { Runtime, staticTokens } from "@arcp/arcp/runtime";
 * import { arcp } from "@arcp/arcp/hono";
 *
 * const runtime = new Runtime({
 *   authenticate: staticTokens({ s3cret: "alice" }),
 *   agents: [{ name: "echo", handler: async (input) => ({ echoed: input }) }],
 * });
 * const app = new Hono();
 * app.get("/", (c) => c.text("hello"));
 * app.all("/arcp", arcp(runtime, { upgradeWebSocket }));
 * Deno.serve({ port: 7777 }, app.fetch);
 * ```
 *
 * @module
 */

import { ConnectionClosedError } from "./protocol/errors.ts";
import { DEFAULT_MAX_QUEUED_BYTES, DEFAULT_MAX_QUEUED_FRAMES } from "./internal/inbound.ts";
import { webSocketTransport } from "./transports/websocket.ts";
import type { Transport, WebSocketLike } from "./transports/types.ts";

export type { Frame, MalformedFrame, Transport } from "./transports/types.ts";

/** What {@linkcode arcp} serves: a `Runtime`, or anything with the same `accept` and `fetch`. */
export interface ArcpHost {
  /** Serves one connection; the promise settles when it has ended. May throw when closed. */
  accept(transport: Transport): Promise<void>;
  /** Answers a request that is not a WebSocket upgrade: the HTTP binding. */
  fetch(request: Request): Response | Promise<Response>;
}

/** The part of a Hono `Context` the handler reads. */
export interface HonoContextLike {
  /** The request: Hono's `HonoRequest`. */
  readonly req: {
    /** The standard `Request`. */
    readonly raw: Request;
    /** A request header, case-insensitively. */
    header(name: string): string | undefined;
  };
}

/** The part of a Hono `WSContext` (one WebSocket) the handler uses. */
export interface HonoWebSocketContext {
  /** Connection state: 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** The host's own socket (Deno's `WebSocket`, Bun's `ServerWebSocket`, `ws`'s on Node.js). */
  readonly raw?: unknown;
  /** Sends one text frame. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
}

/** The WebSocket event handlers the handler gives Hono's `upgradeWebSocket` (Hono's `WSEvents`). */
export interface HonoWebSocketEvents {
  /** The socket opened: it is served from now on. */
  onOpen(event: Event, socket: HonoWebSocketContext): void;
  /** A message arrived. */
  onMessage(event: { readonly data: unknown }, socket: HonoWebSocketContext): void;
  /** The socket closed. */
  onClose(
    event: { readonly code?: number; readonly reason?: string },
    socket: HonoWebSocketContext,
  ): void;
}

/**
 * Hono's `upgradeWebSocket` helper for the host: `hono/deno`'s,
 * `hono/bun`'s, or the one `createNodeWebSocket` of `@hono/node-ws` returns.
 * Given the event handlers, it returns a middleware that upgrades a request.
 */
export type HonoUpgradeWebSocket = (
  createEvents: (c: unknown) => HonoWebSocketEvents,
) => (c: never, next: () => Promise<void>) => Promise<Response | void>;

/** Options of {@linkcode arcp}. */
export interface ArcpHonoOptions {
  /**
   * The `upgradeWebSocket` helper of Hono's adapter for the host:
   * `hono/deno`'s, `hono/bun`'s (serve with its `websocket` too), or the one
   * `createNodeWebSocket` of `@hono/node-ws` returns. Without it upgrades
   * are answered 501 and only the HTTP binding is served.
   */
  upgradeWebSocket?: HonoUpgradeWebSocket;
  /**
   * Cap on one incoming WebSocket frame in bytes of UTF-8; larger frames are
   * answered with `INVALID_REQUEST`. Set it as the runtime's `maxFrameBytes`.
   * @default {1048576}
   */
  maxFrameBytes?: number;
  /**
   * Cap on how deeply objects and arrays nest in one incoming WebSocket frame.
   * @default {64}
   */
  maxJsonDepth?: number;
  /**
   * Incoming frames that may wait for the runtime to read them, per
   * WebSocket; past it the connection is closed with `INTERNAL_ERROR` naming
   * the cap. Set it as the runtime's `maxQueuedFrames`.
   * @default {1024}
   */
  maxQueuedFrames?: number;
  /**
   * Total size in bytes (UTF-16 code units of text) of the incoming frames
   * that may wait, per WebSocket; past it, as for `maxQueuedFrames`.
   * @default {8388608}
   */
  maxQueuedBytes?: number;
}

/** What the raw socket behind a Hono `WSContext` may tell: Deno's and `ws`'s, or Bun's. */
interface RawSocket {
  readonly readyState?: number;
  readonly bufferedAmount?: number;
  getBufferedAmount?(): number;
  /** Bun's returns -1 (queued behind back-pressure), 0 (dropped) or the bytes sent. */
  send?(data: string): unknown;
}

/**
 * A {@linkcode WebSocketLike} over a Hono `WSContext`, so that the runtime's
 * WebSocket transport (back-pressure included) serves it. State and buffered
 * bytes come from the raw socket when it has them: Bun hands each event a
 * fresh context whose `readyState` never changes, and none has `bufferedAmount`.
 */
class HonoSocket extends EventTarget implements WebSocketLike {
  readonly #context: HonoWebSocketContext;
  readonly #raw: RawSocket | undefined;

  constructor(context: HonoWebSocketContext) {
    super();
    this.#context = context;
    this.#raw = typeof context.raw === "object" && context.raw !== null
      ? context.raw as RawSocket
      : undefined;
  }

  get readyState(): number {
    return this.#raw?.readyState ?? this.#context.readyState;
  }

  get bufferedAmount(): number {
    return this.#raw?.bufferedAmount ?? this.#raw?.getBufferedAmount?.() ?? 0;
  }

  send(data: string): void {
    const raw = this.#raw;
    // Bun says when it dropped a frame; Hono's own send does not pass that
    // on. A dropped frame is a gap: the write fails, the connection is
    // dropped and the client resumes, as with `serveBun`.
    if (raw?.getBufferedAmount !== undefined && raw.send !== undefined) {
      if (raw.send(data) === 0) {
        throw new ConnectionClosedError("WebSocket dropped a frame: the connection is closed");
      }
      return;
    }
    this.#context.send(data);
  }

  close(code?: number, reason?: string): void {
    this.#context.close(code, reason);
  }
}

const GOING_AWAY = 1001;

/**
 * A Hono handler serving `runtime`: mount it with
 * `app.all(path, arcp(runtime, options))` where `path` is the runtime's
 * `path` option (`/arcp` by default), which `runtime.fetch` checks. A
 * WebSocket upgrade goes through `options.upgradeWebSocket` and each socket
 * to `runtime.accept()` (a closed runtime closes it with 1001); any other
 * request goes to `runtime.fetch` (a `POST` is the HTTP binding, other
 * methods are answered 426).
 *
 * @param runtime The runtime (or other {@linkcode ArcpHost}) to serve.
 * @param options Hono's WebSocket helper for the host, and the frame caps.
 * @returns A Hono handler, for `app.all(path, handler)`.
 * @example Serve the HTTP binding from a Hono app, run a job
 * ```ts
 * import { Hono } from "hono";
 * import { Runtime, staticTokens } from "@arcp/arcp/runtime";
 * import { connect } from "@arcp/arcp/client";
 * import { arcp } from "@arcp/arcp/hono";
 * import assert from "node:assert/strict";
 *
 * await using runtime = new Runtime({
 *   authenticate: staticTokens({ t: "alice" }),
 *   agents: [{ name: "echo", handler: async (input) => ({ echoed: input }) }],
 * });
 * const app = new Hono().all("/arcp", arcp(runtime));
 * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
 * const url = `http://127.0.0.1:${server.addr.port}/arcp`;
 * await using client = await connect(url, { token: "t", transport: "http" });
 * const job = await client.submit("echo", { hi: 1 });
 * assert.deepEqual((await job.result).result, { echoed: { hi: 1 } });
 * ```
 */
export function arcp(
  runtime: ArcpHost,
  options: ArcpHonoOptions = {},
): (c: HonoContextLike) => Promise<Response> {
  const limits = {
    maxQueuedFrames: options.maxQueuedFrames ?? DEFAULT_MAX_QUEUED_FRAMES,
    maxQueuedBytes: options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
    ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
    ...(options.maxJsonDepth === undefined ? {} : { maxJsonDepth: options.maxJsonDepth }),
  };
  const events = (): HonoWebSocketEvents => {
    let socket: HonoSocket | undefined;
    return {
      onOpen(_event, context) {
        socket = new HonoSocket(context);
        try {
          // The runtime logs how a connection failed; nothing waits for its end here.
          runtime.accept(webSocketTransport(socket, limits)).catch(() => {});
        } catch (error) {
          // A closed runtime refuses new connections.
          context.close(GOING_AWAY, (error as Error).message.slice(0, 120));
        }
      },
      onMessage(event) {
        socket?.dispatchEvent(new MessageEvent("message", { data: event.data }));
      },
      onClose(event) {
        // Not a CloseEvent: Node.js 22 has none.
        const { code, reason } = event;
        socket?.dispatchEvent(Object.assign(new Event("close"), { code, reason }));
      },
    };
  };
  const upgrade = options.upgradeWebSocket?.(events);
  return async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return runtime.fetch(c.req.raw);
    if (upgrade === undefined) {
      return new Response("WebSocket upgrade is not configured: pass upgradeWebSocket\n", {
        status: 501,
      });
    }
    // The helper answers nothing when it declines the upgrade (hono/deno's
    // header check is case-sensitive): no later handler would either.
    return await upgrade(c as never, async () => {}) ??
      new Response("WebSocket upgrade failed\n", { status: 400 });
  };
}
