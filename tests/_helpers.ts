// Fixtures shared by the test suites: a runtime with test agents served over
// a chosen transport (a "harness"), an observable event store and small async
// utilities. Raw-frame connections live in _raw.ts and are re-exported here.

import { type Client, connect, type ConnectOptions } from "../client.ts";
import { type AgentDefinition, Runtime, type RuntimeOptions, staticTokens } from "../runtime.ts";
import { MemoryStore } from "../store/memory.ts";
import type { StoredEvent } from "../store/types.ts";
import { serveBun } from "../transports/bun.ts";
import { memoryTransportPair } from "../transports/memory.ts";
import { type Frame, MalformedFrame, type Transport } from "../transports/types.ts";
import { webSocketTransport } from "../transports/websocket.ts";
import { RawConnection, rawOver, type Read, TOKEN, within } from "./_raw.ts";
import { httpHarness } from "./_http_harness.ts";

export {
  envelope,
  helloFrame,
  type HelloOptions,
  RawConnection,
  rawOver,
  TOKEN,
  within,
} from "./_raw.ts";

/** The transports every scenario runs over. */
export const TRANSPORT_KINDS = ["memory", "websocket", "http"] as const;
/** One of {@linkcode TRANSPORT_KINDS}. */
export type TransportKind = typeof TRANSPORT_KINDS[number];

/** Tokens the harness runtime accepts, and the principal each maps to. */
export const TOKENS: Readonly<Record<string, string>> = { "t-alice": "alice", "t-bob": "bob" };

/** ISO-8601 UTC timestamp, as every `ts` must be. */
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * Wraps a test body so that a broken implementation fails the test within
 * `ms` instead of hanging the whole suite.
 */
export function bounded(fn: () => Promise<void>, ms = 10_000): () => Promise<void> {
  return () => within(fn(), "the test to finish", ms);
}

/** Resolves once `signal` aborts, with its reason. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(signal.reason), { once: true })
  );
}

/**
 * A {@linkcode MemoryStore} that also lets tests wait until an event has been
 * stored, which is how the runtime's side of a job is observed once no client
 * is attached.
 */
export class RecordingStore extends MemoryStore {
  readonly #events: StoredEvent[] = [];
  readonly #ids = new Set<string>();
  #waiters: { predicate: (event: StoredEvent) => boolean; resolve(e: StoredEvent): void }[] = [];
  readonly #trimmed = new Map<string, number>();
  #trimWaiters: { sessionId: string; through: number; resolve(): void }[] = [];

  /** Every event stored so far, in append order. */
  get events(): readonly StoredEvent[] {
    return this.#events;
  }

  override async append(sessionId: string, events: readonly StoredEvent[]): Promise<void> {
    await super.append(sessionId, events);
    this.#record(events);
  }

  override async compareAndAppend(
    sessionId: string,
    events: readonly StoredEvent[],
  ): Promise<number> {
    const stored = await super.compareAndAppend(sessionId, events);
    this.#record(events.slice(0, stored));
    return stored;
  }

  #record(events: readonly StoredEvent[]): void {
    for (const event of events) {
      if (this.#ids.has(event.id)) continue;
      this.#ids.add(event.id);
      this.#events.push(event);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (!waiter.predicate(event)) return true;
        waiter.resolve(event);
        return false;
      });
    }
  }

  override async trim(sessionId: string, options: { through: number }): Promise<void> {
    await super.trim(sessionId, options);
    const through = Math.max(options.through, this.#trimmed.get(sessionId) ?? 0);
    this.#trimmed.set(sessionId, through);
    this.#trimWaiters = this.#trimWaiters.filter((waiter) => {
      if (waiter.sessionId !== sessionId || waiter.through > through) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves once the session's log has been trimmed through at least `through`. */
  trimmedThrough(sessionId: string, through: number): Promise<void> {
    if ((this.#trimmed.get(sessionId) ?? 0) >= through) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#trimWaiters.push({ sessionId, through, resolve });
    return within(promise, `the log of ${sessionId} to be trimmed through ${through}`);
  }

  /** Resolves with the first stored event matching `predicate` (already stored or future). */
  waitFor(
    predicate: (event: StoredEvent) => boolean,
    label = "a stored event",
  ): Promise<StoredEvent> {
    const found = this.#events.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    const { promise, resolve } = Promise.withResolvers<StoredEvent>();
    this.#waiters.push({ predicate, resolve });
    return within(promise, label);
  }

  /** Resolves with the job's terminal `job.result` or `job.error` once stored. */
  terminalOf(jobId: string): Promise<StoredEvent> {
    return this.waitFor(
      (e) => e.job_id === jobId && (e.type === "job.result" || e.type === "job.error"),
      `the terminal event of ${jobId}`,
    );
  }
}

/** {@linkcode ConnectOptions} whose token defaults to {@linkcode TOKEN}; `null` sends none. */
export type HarnessConnectOptions = Omit<ConnectOptions, "token"> & { token?: string | null };

export function connectOptions(options: HarnessConnectOptions): ConnectOptions {
  const { token = TOKEN, ...rest } = options;
  return token === null ? rest : { ...rest, token };
}

/** Options of {@linkcode startHarness}. */
export interface HarnessOptions {
  /** Agents besides the standard ones of {@linkcode standardAgents}. */
  agents?: AgentDefinition[];
  /** Runtime options to override. */
  runtime?: Omit<RuntimeOptions, "agents" | "store" | "upgradeWebSocket" | "authenticate">;
  /** Frame cap, for both the memory pairs and the runtime's WebSocket side. */
  maxFrameBytes?: number;
  /** The store, when a test needs to control it; a fresh {@linkcode RecordingStore} by default. */
  store?: RecordingStore;
}

/** A client-side transport attached to the harness runtime, which the test can drop. */
export interface AttachedTransport {
  transport: Transport;
  /** Drops the connection abruptly, without `session.close`/`session.bye`. */
  drop(): Promise<void>;
  /** Resolves once the runtime's side of this connection has ended. */
  runtimeEnded: Promise<void>;
}

/** Waits on the frames crossing a {@linkcode tap}ped transport in one direction. */
export class FrameLog {
  readonly frames: Frame[] = [];
  #waiters: { predicate: (frame: Frame) => boolean; resolve(frame: Frame): void }[] = [];

  /** Records a frame and wakes whoever waits for it. */
  record(frame: Frame): void {
    this.frames.push(frame);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.predicate(frame)) return true;
      waiter.resolve(frame);
      return false;
    });
  }

  /** Resolves with the first frame (already seen or future) matching `predicate`. */
  waitFor(predicate: (frame: Frame) => boolean, label: string): Promise<Frame> {
    const found = this.frames.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    const { promise, resolve } = Promise.withResolvers<Frame>();
    this.#waiters.push({ predicate, resolve });
    return within(promise, label);
  }
}

/** What {@linkcode tap} records; one can be shared by every connection of a reconnecting client. */
export class Taps {
  /** Frames the client sent, in order. */
  readonly sent: FrameLog = new FrameLog();
  /** Frames the runtime sent, in order, including any withheld from the client. */
  readonly received: FrameLog = new FrameLog();
  /** When set, runtime frames for which it returns `false` never reach the client. */
  deliver: ((frame: Frame) => boolean) | undefined;
}

/**
 * Splices observation between a client and the client-side transport
 * `inner`; returns the transport to give the client.
 */
export function tap(inner: Transport, taps: Taps): Transport {
  const up = new TransformStream<Frame, Frame>({
    transform(frame, controller) {
      taps.sent.record(frame);
      controller.enqueue(frame);
    },
  });
  up.readable.pipeTo(inner.writable).catch(() => {});
  const down = new TransformStream<Frame | MalformedFrame, Frame | MalformedFrame>({
    transform(frame, controller) {
      if (!(frame instanceof MalformedFrame)) {
        taps.received.record(frame);
        if (taps.deliver?.(frame) === false) return;
      }
      controller.enqueue(frame);
    },
  });
  inner.readable.pipeTo(down.writable).catch(() => {});
  return { readable: down.readable, writable: up.writable };
}

/**
 * Retries `attempt` until it returns `true`, pausing a few milliseconds
 * between tries: for states only the clock brings about, such as an expired
 * resume window. Fails after `ms`.
 */
export async function eventually(
  attempt: () => Promise<boolean>,
  label: string,
  ms = 5_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await attempt())) {
    if (Date.now() > deadline) throw new Error(`Gave up after ${ms} ms: ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Options of {@linkcode Harness.reconnecting}. */
export type ReconnectingOptions = Omit<HarnessConnectOptions, "reconnect"> & {
  /**
   * Called with each new connection (numbered from 1) before the client gets
   * it; returns the transport to give the client instead, e.g. a tapped one.
   */
  wrap?: (attached: AttachedTransport, connection: number) => Transport;
};

/** A client that reconnects through {@linkcode Harness.attach} whenever its connection drops. */
export interface ReconnectingClient {
  client: Client;
  /** Connections opened so far, the first one included. */
  readonly connections: number;
  /** The connection currently in use (the latest opened). */
  readonly current: AttachedTransport;
  /** Drops the current connection abruptly; the client reconnects and resumes. */
  drop(): Promise<void>;
}

/**
 * The standard test agents: `echo` at 1.0.0 and 2.0.0 (default 2.0.0) and
 * `plain`, an unversioned agent.
 */
export function standardAgents(): AgentDefinition[] {
  return [
    {
      name: "echo",
      version: "1.0.0",
      handler: (input: unknown, ctx) => Promise.resolve({ echoed: input, version: ctx.version }),
    },
    {
      name: "echo",
      version: "2.0.0",
      default: true,
      handler: (input: unknown, ctx) => Promise.resolve({ echoed: input, version: ctx.version }),
    },
    { name: "plain", handler: (input: unknown) => Promise.resolve(input) },
  ];
}

/**
 * A runtime with test agents served over one kind of transport, plus
 * everything connected to it, disposed together.
 */
export interface Harness extends AsyncDisposable {
  readonly kind: TransportKind;
  readonly runtime: Runtime;
  readonly store: RecordingStore;
  /** Connects a client with {@linkcode TOKEN}, another token, or none (`token: null`). */
  connect(options?: HarnessConnectOptions): Promise<Client>;
  /** A raw-frame connection; no hello sent yet. */
  raw(): Promise<RawConnection>;
  /** A fresh client-side transport attached to the runtime. */
  attach(): Promise<AttachedTransport>;
  /**
   * Connects a client whose target is a function opening a fresh
   * {@linkcode Harness.attach}ed transport, reconnecting after 1 ms.
   */
  reconnecting(options?: ReconnectingOptions): Promise<ReconnectingClient>;
  /** Closes every client and connection, the runtime and the server. */
  dispose(): Promise<void>;
}

/** Starts a runtime with the standard agents plus `options.agents`, served over `kind`. */
export async function startHarness(
  kind: TransportKind,
  options: HarnessOptions = {},
): Promise<Harness> {
  if (kind === "http") return await httpHarness(options);
  return kind === "memory" ? memoryHarness(options) : await webSocketHarness(options);
}

export function newRuntime(
  options: HarnessOptions,
  store: RecordingStore,
  extra: Partial<RuntimeOptions> = {},
): Runtime {
  return new Runtime({
    ...options.runtime,
    ...extra,
    ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
    authenticate: staticTokens({ ...TOKENS }),
    agents: [...standardAgents(), ...(options.agents ?? [])],
    store,
  });
}

export async function reconnectingClient(
  harness: Harness,
  owned: Disposables,
  options: ReconnectingOptions,
): Promise<ReconnectingClient> {
  const { wrap, ...rest } = options;
  let connections = 0;
  let current: AttachedTransport | undefined;
  const open = async (): Promise<Transport> => {
    const attached = await harness.attach();
    current = attached;
    const connection = ++connections;
    return wrap === undefined ? attached.transport : wrap(attached, connection);
  };
  const client = await connect(open, {
    ...connectOptions(rest),
    reconnect: { initialDelayMs: 1, maxDelayMs: 20 },
  });
  owned.clients.push(client);
  return {
    client,
    get connections() {
      return connections;
    },
    get current() {
      return current!;
    },
    drop: () => current!.drop(),
  };
}

export class Disposables {
  readonly clients: Client[] = [];
  readonly raws: RawConnection[] = [];

  async closeAll(): Promise<void> {
    // Bounded, so a runtime that never answers session.close fails the test
    // it broke instead of hanging the suite.
    const giveUp = new AbortController();
    const timer = setTimeout(() => giveUp.abort(), 2_000);
    try {
      await Promise.all(
        this.clients.map((client) => client.close({ signal: giveUp.signal }).catch(() => {})),
      );
    } finally {
      clearTimeout(timer);
    }
    await Promise.all(this.raws.map((raw) => raw.close().catch(() => {})));
  }
}

function memoryHarness(options: HarnessOptions): Harness {
  const store = options.store ?? new RecordingStore();
  const runtime = newRuntime(options, store);
  const owned = new Disposables();
  const accepted: Promise<void>[] = [];
  const pairOptions = options.maxFrameBytes === undefined
    ? {}
    : { maxFrameBytes: options.maxFrameBytes };
  const pair = (): [Transport, Promise<void>] => {
    const [clientSide, runtimeSide] = memoryTransportPair(pairOptions);
    const ended = runtime.accept(runtimeSide);
    accepted.push(ended);
    return [clientSide, ended];
  };
  const harness: Harness = {
    kind: "memory",
    runtime,
    store,
    async connect(options = {}) {
      const client = await connect(pair()[0], connectOptions(options));
      owned.clients.push(client);
      return client;
    },
    raw() {
      const raw = rawOver(pair()[0]);
      owned.raws.push(raw);
      return Promise.resolve(raw);
    },
    attach() {
      // The client locks its transport's streams, so the drop is made by
      // cutting two pipes spliced between the client and the memory pair:
      // aborting them errors both directions on both sides.
      const [pairSide, runtimeEnded] = pair();
      const cut = new AbortController();
      const up = new TransformStream<Frame, Frame>();
      const down = new TransformStream<Frame | MalformedFrame, Frame | MalformedFrame>();
      up.readable.pipeTo(pairSide.writable, { signal: cut.signal }).catch(() => {});
      pairSide.readable.pipeTo(down.writable, { signal: cut.signal }).catch(() => {});
      return Promise.resolve({
        transport: { readable: down.readable, writable: up.writable },
        runtimeEnded,
        drop() {
          cut.abort(new Error("dropped by test"));
          return Promise.resolve();
        },
      });
    },
    reconnecting(options = {}) {
      return reconnectingClient(harness, owned, options);
    },
    async dispose() {
      await owned.closeAll();
      await runtime.close();
      await within(Promise.all(accepted), "every memory connection to end");
    },
    [Symbol.asyncDispose]() {
      return this.dispose();
    },
  };
  return harness;
}

/** Resolves on the socket's `close` event (at once if it is already closed). */
export function socketClosed(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) =>
    socket.addEventListener("close", () => resolve(), { once: true })
  );
}

/** Resolves when the socket opens; rejects if it closes first. */
export function socketOpened(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.OPEN) return Promise.resolve();
  return new Promise((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("close", () => reject(new Error("WebSocket closed before open")), {
      once: true,
    });
  });
}

/** Reads a WebSocket's text frames as parsed JSON, in order. */
function frameQueue(socket: WebSocket): Read {
  const frames: (Frame | undefined)[] = [];
  let waiting: ((frame: Frame | undefined) => void) | undefined;
  const push = (frame: Frame | undefined) => {
    if (waiting !== undefined) {
      const resolve = waiting;
      waiting = undefined;
      resolve(frame);
    } else frames.push(frame);
  };
  socket.addEventListener("message", (event) => push(JSON.parse(event.data as string)));
  socket.addEventListener("close", () => push(undefined));
  let ended = false;
  return () => {
    if (ended) return Promise.resolve(undefined);
    if (frames.length > 0) {
      const frame = frames.shift();
      if (frame === undefined) ended = true;
      return Promise.resolve(frame);
    }
    return new Promise((resolve) => {
      waiting = (frame) => {
        if (frame === undefined) ended = true;
        resolve(frame);
      };
    });
  };
}

/** The subset of `Bun.serve` that {@linkcode serveHttp} uses. */
interface BunHttpServe {
  serve(options: {
    hostname: string;
    port: number;
    fetch(request: Request): Response | Promise<Response>;
  }): {
    port: number;
    stop(closeActiveConnections?: boolean): Promise<void>;
  };
}

/**
 * Serves the harness's runtimes where neither `Deno.serve` nor `Bun.serve`
 * exists (tests/node/ sets one that serves through Hono on Node.js):
 * `fetch` on every request to 127.0.0.1 and a free port, WebSocket upgrades
 * of `/arcp` to `accept` when given.
 */
export interface TestHost {
  serve(handler: {
    fetch(request: Request): Response | Promise<Response>;
    accept?(transport: Transport): Promise<void>;
    maxFrameBytes?: number;
  }): Promise<{ port: number } & AsyncDisposable>;
}

let testHost: TestHost | undefined;

/** Serves every harness runtime of this process with `host` from now on. */
export function useTestHost(host: TestHost): void {
  testHost = host;
}

/**
 * An HTTP server on 127.0.0.1 and a free port, served by `Deno.serve` or
 * `Bun.serve`, whichever runs the tests (or the {@linkcode TestHost}).
 */
export async function serveHttp(
  handler: (request: Request) => Response | Promise<Response>,
): Promise<{ port: number } & AsyncDisposable> {
  if (testHost !== undefined) return await testHost.serve({ fetch: handler });
  const bun = (globalThis as { Bun?: BunHttpServe }).Bun;
  if (bun !== undefined) {
    const server = bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handler });
    return { port: server.port, [Symbol.asyncDispose]: () => server.stop(true) };
  }
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: listening.resolve },
    handler,
  );
  const { port } = await listening.promise;
  return { port, [Symbol.asyncDispose]: () => server.shutdown() };
}

/** A harness runtime listening for WebSockets on 127.0.0.1. */
interface ServedRuntime {
  runtime: Runtime;
  url: string;
  shutdown(): Promise<void>;
}

/**
 * Serves a harness runtime with the server of the JS runtime running the
 * tests: `Deno.serve` with `runtime.fetch`, or `Bun.serve` through
 * transports/bun.ts. `connected` is told of each connection, in order, with
 * a promise of its server side's end.
 */
async function serveRuntime(
  options: HarnessOptions,
  store: RecordingStore,
  connected: (ended: Promise<void>) => void,
): Promise<ServedRuntime> {
  if (testHost !== undefined) {
    const runtime = newRuntime(options, store);
    const server = await testHost.serve({
      fetch: runtime.fetch,
      accept(transport) {
        const ended = runtime.accept(transport);
        connected(ended);
        return ended;
      },
      ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
    });
    return {
      runtime,
      url: `ws://127.0.0.1:${server.port}/arcp`,
      shutdown: async () => await server[Symbol.asyncDispose](),
    };
  }
  if ("Bun" in globalThis) {
    const runtime = newRuntime(options, store);
    const server = serveBun({
      accept(transport) {
        const ended = runtime.accept(transport);
        connected(ended);
        return ended;
      },
    }, options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes });
    return { runtime, url: server.url, shutdown: () => server.stop() };
  }
  const runtime = newRuntime(options, store, {
    upgradeWebSocket(request) {
      const upgraded = Deno.upgradeWebSocket(request);
      connected(socketClosed(upgraded.socket));
      return upgraded;
    },
  });
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: listening.resolve },
    runtime.fetch,
  );
  const { port } = await listening.promise;
  return { runtime, url: `ws://127.0.0.1:${port}/arcp`, shutdown: () => server.shutdown() };
}

async function webSocketHarness(options: HarnessOptions): Promise<Harness> {
  const store = options.store ?? new RecordingStore();
  const serverSockets: Promise<void>[] = [];
  let onUpgrade: ((closed: Promise<void>) => void)[] = [];
  const { runtime, url, shutdown } = await serveRuntime(options, store, (closed) => {
    serverSockets.push(closed);
    onUpgrade.shift()?.(closed);
  });
  const owned = new Disposables();
  const clientSockets: WebSocket[] = [];
  const open = async (): Promise<[WebSocket, Promise<void>]> => {
    const upgraded = Promise.withResolvers<{ closed: Promise<void> }>();
    const onUpgraded = (closed: Promise<void>) => upgraded.resolve({ closed });
    onUpgrade.push(onUpgraded);
    const socket = new WebSocket(url);
    clientSockets.push(socket);
    try {
      await within(socketOpened(socket), "the WebSocket to open");
    } catch (error) {
      onUpgrade = onUpgrade.filter((f) => f !== onUpgraded);
      throw error;
    }
    return [socket, (await upgraded.promise).closed];
  };
  const harness: Harness & { url: string } = {
    kind: "websocket",
    url,
    runtime,
    store,
    async connect(options = {}) {
      const client = await connect(url, connectOptions(options));
      owned.clients.push(client);
      return client;
    },
    async raw() {
      const [socket] = await open();
      const raw = new RawConnection({
        send: (frame) => {
          socket.send(JSON.stringify(frame));
          return Promise.resolve();
        },
        sendText: (text) => {
          socket.send(text);
          return Promise.resolve();
        },
        read: frameQueue(socket),
        close: () => {
          socket.close();
          return socketClosed(socket);
        },
      });
      owned.raws.push(raw);
      return raw;
    },
    async attach() {
      const [socket, runtimeEnded] = await open();
      return {
        transport: webSocketTransport(socket),
        runtimeEnded,
        drop() {
          socket.close(4000, "dropped by test");
          return socketClosed(socket);
        },
      };
    },
    reconnecting(options = {}) {
      return reconnectingClient(harness, owned, options);
    },
    async dispose() {
      await owned.closeAll();
      await runtime.close();
      for (const socket of clientSockets) socket.close();
      await within(Promise.all(clientSockets.map(socketClosed)), "client sockets to close");
      await within(Promise.all(serverSockets), "server sockets to close");
      await shutdown();
    },
    [Symbol.asyncDispose]() {
      return this.dispose();
    },
  };
  return harness;
}
