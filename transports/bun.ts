// This module needs Bun: it serves through `Bun.serve`. Portable code never
// imports it.
/**
 * Serves an ARCP `Runtime` over WebSockets with `Bun.serve` (spec §4.1:
 * text frames, one JSON envelope each). On Deno, pass `runtime.fetch` to
 * `Deno.serve` instead.
 *
 * @example Serve agents over WebSocket with Bun
 * ```ts ignore
 * import { Runtime, staticTokens } from "@arcp/arcp/runtime";
 * import { serveBun } from "@arcp/arcp/transports/bun";
 *
 * const runtime = new Runtime({
 *   authenticate: staticTokens({ s3cret: "alice" }),
 *   agents: [{ name: "echo", handler: async (input) => ({ echoed: input }) }],
 * });
 * const server = serveBun(runtime, { port: 7777 });
 * console.log(`listening on ${server.url}`);
 * ```
 *
 * @module
 */

import {
  type ServerSocketLike,
  serverSocketTransport,
  type SocketTransport,
} from "./_bun_socket.ts";
import { DEFAULT_MAX_QUEUED_BYTES, DEFAULT_MAX_QUEUED_FRAMES } from "../internal/inbound.ts";
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_JSON_DEPTH, type Transport } from "./types.ts";

export type { Frame, MalformedFrame, Transport } from "./types.ts";

/**
 * What {@linkcode serveBun} hands each connection to: a `Runtime`, or
 * anything with the same `accept`.
 */
export interface TransportAcceptor {
  /** Serves one connection; the promise settles when it has ended. */
  accept(transport: Transport): Promise<void>;
  /**
   * Answers a request to the path that is not a WebSocket upgrade: a
   * `Runtime`'s `fetch`, which serves the HTTP binding
   * (docs/http-binding.md). Without it such requests are answered 426.
   */
  fetch?(request: Request): Response | Promise<Response>;
}

/** Options of {@linkcode serveBun}. */
export interface ServeBunOptions {
  /**
   * Interface to listen on.
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * TCP port; 0 picks a free one (read it back from `port`).
   * @default {0}
   */
  port?: number;
  /**
   * URL path at which WebSockets are accepted (spec §4.1); other paths get 404.
   * @default {"/arcp"}
   */
  path?: string;
  /**
   * Cap on one incoming frame in bytes of UTF-8; larger frames arrive as a
   * `MalformedFrame`, which the runtime answers with `INVALID_REQUEST`.
   * @default {1048576}
   */
  maxFrameBytes?: number;
  /**
   * Cap on how deeply objects and arrays nest in one incoming frame (the
   * frame's own object is level 1); deeper frames arrive as a
   * `MalformedFrame`, which the runtime answers with `INVALID_REQUEST`.
   * @default {64}
   */
  maxJsonDepth?: number;
  /**
   * Incoming frames that may wait for the runtime to read them, per
   * connection. A socket cannot be paused: past this the runtime gets an
   * `INTERNAL_ERROR` naming the cap, sends it as `session.error` and closes
   * the connection; the queued frames are dropped.
   * @default {1024}
   */
  maxQueuedFrames?: number;
  /**
   * Total size in bytes (UTF-16 code units of text) of the incoming frames
   * that may wait, per connection; past it, as for `maxQueuedFrames`.
   * @default {8388608}
   */
  maxQueuedBytes?: number;
}

/** A listening Bun server, from {@linkcode serveBun}. */
export interface BunArcpServer extends AsyncDisposable {
  /** The interface listened on. */
  readonly hostname: string;
  /** The TCP port listened on. */
  readonly port: number;
  /** The URL clients connect to, e.g. `ws://127.0.0.1:7777/arcp`. */
  readonly url: string;
  /**
   * Stops listening, closes every connection with 1001 (going away) and
   * resolves once each has ended. Sessions and jobs live on in the runtime
   * (spec §6.7): close the runtime first to end them.
   */
  stop(): Promise<void>;
}

/** The subset of Bun's `Server` this adapter uses. */
interface BunServer {
  readonly port: number;
  upgrade(request: Request, options: { data: Connection }): boolean;
  stop(closeActiveConnections?: boolean): Promise<void>;
}

interface BunSocket extends ServerSocketLike {
  readonly data: Connection;
}

/** The subset of `Bun.serve`'s options this adapter passes. */
interface BunServeOptions {
  hostname: string;
  port: number;
  fetch(request: Request, server: BunServer): Response | Promise<Response> | undefined;
  websocket: {
    maxPayloadLength: number;
    open(socket: BunSocket): void;
    message(socket: BunSocket, message: string | Uint8Array): void;
    drain(socket: BunSocket): void;
    close(socket: BunSocket, code: number, reason: string): void;
  };
}

/** Per-socket state, kept in Bun's `socket.data`. */
interface Connection {
  socket?: SocketTransport;
  ended?: Promise<void>;
}

/**
 * Bun's default cap on an incoming frame: it closes the connection beyond it.
 * Raised to twice `maxFrameBytes` when that is larger, so that frames over
 * our cap reach the runtime, which answers them with `INVALID_REQUEST`.
 */
const BUN_MAX_PAYLOAD = 16 << 20;
const GOING_AWAY = 1001;

/**
 * Serves `runtime` over WebSockets with `Bun.serve`: upgrades requests to
 * `path`, hands a `POST` there to `runtime.fetch` (the HTTP binding, when
 * the acceptor has one), answers others with 404 (or 426 without an
 * upgrade header), and
 * hands each socket to `runtime.accept()` as a {@linkcode Transport}. Sends
 * follow Bun's backpressure: after a send returns -1 nothing more is sent
 * until the socket drains, and a send that returns 0 (a dropped frame) closes
 * the connection, so the client resumes instead of missing a frame.
 *
 * @param runtime The runtime (or other {@linkcode TransportAcceptor}) to serve.
 * @param options Where to listen, the path and the frame cap.
 * @returns The listening server.
 * @throws {TypeError} when not running on Bun.
 * @example Serve on a free port, run a job, stop (on Bun; elsewhere it throws)
 * ```ts
 * import { Runtime, staticTokens } from "@arcp/arcp/runtime";
 * import { connect } from "@arcp/arcp/client";
 * import { serveBun } from "@arcp/arcp/transports/bun";
 * import assert from "node:assert/strict";
 *
 * await using runtime = new Runtime({
 *   authenticate: staticTokens({ t: "alice" }),
 *   agents: [{ name: "echo", handler: async (input) => ({ echoed: input }) }],
 * });
 * if ("Bun" in globalThis) {
 *   await using server = serveBun(runtime, { port: 0 });
 *   await using client = await connect(server.url, { token: "t" });
 *   const job = await client.submit("echo", { hi: 1 });
 *   assert.deepEqual((await job.result).result, { echoed: { hi: 1 } });
 * } else {
 *   assert.throws(() => serveBun(runtime), TypeError);
 * }
 * ```
 */
export function serveBun(runtime: TransportAcceptor, options: ServeBunOptions = {}): BunArcpServer {
  const bun = (globalThis as { Bun?: { serve(options: BunServeOptions): BunServer } }).Bun;
  if (bun === undefined) throw new TypeError("Cannot serve with Bun.serve: this is not Bun");
  const hostname = options.hostname ?? "127.0.0.1";
  const path = options.path ?? "/arcp";
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const limits = {
    maxFrameBytes,
    maxJsonDepth: options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH,
    maxQueuedFrames: options.maxQueuedFrames ?? DEFAULT_MAX_QUEUED_FRAMES,
    maxQueuedBytes: options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
  };
  const open = new Set<BunSocket>();

  const server = bun.serve({
    hostname,
    port: options.port ?? 0,
    fetch(request, server) {
      if (new URL(request.url).pathname !== path) {
        return new Response("Not found\n", { status: 404 });
      }
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        if (request.method === "POST" && runtime.fetch !== undefined) return runtime.fetch(request);
        return new Response("ARCP expects a WebSocket upgrade\n", { status: 426 });
      }
      if (server.upgrade(request, { data: {} })) return undefined;
      return new Response("WebSocket upgrade failed\n", { status: 400 });
    },
    websocket: {
      maxPayloadLength: Math.max(BUN_MAX_PAYLOAD, 2 * maxFrameBytes),
      open(socket) {
        open.add(socket);
        const connection = serverSocketTransport(socket, limits);
        socket.data.socket = connection;
        try {
          // The runtime logs how a connection failed; this only waits for its end.
          socket.data.ended = runtime.accept(connection.transport).catch(() => {});
        } catch (error) {
          // A closed runtime refuses new connections.
          socket.close(GOING_AWAY, (error as Error).message.slice(0, 120));
        }
      },
      message(socket, message) {
        socket.data.socket?.received(message);
      },
      drain(socket) {
        socket.data.socket?.drained();
      },
      close(socket, code, reason) {
        open.delete(socket);
        socket.data.socket?.closed(code, reason);
      },
    },
  });

  const url = `ws://${hostname.includes(":") ? `[${hostname}]` : hostname}:${server.port}${path}`;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    stopped ??= (async () => {
      const sockets = [...open];
      for (const socket of sockets) socket.close(GOING_AWAY, "Server is stopping");
      await server.stop();
      await Promise.all(sockets.map((socket) => socket.data.ended));
    })();
  return { hostname, port: server.port, url, stop, [Symbol.asyncDispose]: stop };
}
