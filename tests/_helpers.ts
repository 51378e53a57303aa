// Fixtures shared by the test suites: a runtime with test agents served over
// a chosen transport (a "harness"), an observable event store and small async
// utilities. Raw-frame connections live in _raw.ts and are re-exported here.

import { type Client, connect, type ConnectOptions } from "../client.ts";
import { type AgentDefinition, Runtime, type RuntimeOptions, staticTokens } from "../runtime.ts";
import { MemoryStore } from "../store/memory.ts";
import type { StoredEvent } from "../store/types.ts";
import { memoryTransportPair } from "../transports/memory.ts";
import type { Frame, MalformedFrame, Transport } from "../transports/types.ts";
import { webSocketTransport } from "../transports/websocket.ts";
import { RawConnection, type Read, TOKEN, within } from "./_raw.ts";

export { envelope, helloFrame, RawConnection, TOKEN, within } from "./_raw.ts";

/** The transports every scenario runs over. */
export const TRANSPORT_KINDS = ["memory", "websocket"] as const;
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

  /** Every event stored so far, in append order. */
  get events(): readonly StoredEvent[] {
    return this.#events;
  }

  override async append(sessionId: string, events: readonly StoredEvent[]): Promise<void> {
    await super.append(sessionId, events);
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

function connectOptions(options: HarnessConnectOptions): ConnectOptions {
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
}

/** A client-side transport attached to the harness runtime, which the test can drop. */
export interface AttachedTransport {
  transport: Transport;
  /** Drops the connection abruptly, without `session.close`/`session.bye`. */
  drop(): Promise<void>;
  /** Resolves once the runtime's side of this connection has ended. */
  runtimeEnded: Promise<void>;
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
  /** Closes every client and connection, the runtime and the server. */
  dispose(): Promise<void>;
}

/** Starts a runtime with the standard agents plus `options.agents`, served over `kind`. */
export async function startHarness(
  kind: TransportKind,
  options: HarnessOptions = {},
): Promise<Harness> {
  return kind === "memory" ? memoryHarness(options) : await webSocketHarness(options);
}

function newRuntime(
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

class Disposables {
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
  const store = new RecordingStore();
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
      const [transport] = pair();
      const writer = transport.writable.getWriter();
      const reader = transport.readable.getReader();
      const raw = new RawConnection({
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

async function webSocketHarness(options: HarnessOptions): Promise<Harness> {
  const store = new RecordingStore();
  const serverSockets: Promise<void>[] = [];
  let onUpgrade: ((closed: Promise<void>) => void)[] = [];
  const runtime = newRuntime(options, store, {
    upgradeWebSocket(request) {
      const upgraded = Deno.upgradeWebSocket(request);
      const closed = socketClosed(upgraded.socket);
      serverSockets.push(closed);
      onUpgrade.shift()?.(closed);
      return upgraded;
    },
  });
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: listening.resolve },
    runtime.fetch,
  );
  const { port } = await listening.promise;
  const url = `ws://127.0.0.1:${port}/arcp`;
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
    async dispose() {
      await owned.closeAll();
      await runtime.close();
      for (const socket of clientSockets) socket.close();
      await within(Promise.all(clientSockets.map(socketClosed)), "client sockets to close");
      await within(Promise.all(serverSockets), "server sockets to close");
      await server.shutdown();
    },
    [Symbol.asyncDispose]() {
      return this.dispose();
    },
  };
  return harness;
}
