// The scenario harness over the HTTP binding (docs/http-binding.md): the
// runtime's `fetch` served by `Deno.serve` or `Bun.serve` on 127.0.0.1
// without WebSocket support, clients on `transport: "http"`.

import { connect } from "../client.ts";
import { httpTransport } from "../transports/http.ts";
import { HEADER_STREAM } from "../transports/http_server.ts";
import type { Transport } from "../transports/types.ts";
import {
  type AttachedTransport,
  connectOptions,
  Disposables,
  type Harness,
  type HarnessOptions,
  newRuntime,
  reconnectingClient,
  RecordingStore,
  serveHttp,
} from "./_helpers.ts";
import { rawOver, within } from "./_raw.ts";

/**
 * Wraps a stream's response body so that `ended` resolves when the runtime
 * closes it or the client goes away (its cancel).
 */
function watchedBody(
  body: ReadableStream<Uint8Array>,
  ended: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) {
          controller.close();
          ended();
        } else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
        ended();
      }
    },
    async cancel(reason) {
      await reader.cancel(reason);
      ended();
    },
  }, { highWaterMark: 0 });
}

/** `body`, failing as soon as `signal` aborts (its source cancelled). */
function cuttable(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const cut = Promise.withResolvers<never>();
  const onCut = () => {
    cut.reject(signal.reason);
    reader.cancel(signal.reason).catch(() => {});
  };
  signal.addEventListener("abort", onCut, { once: true });
  cut.promise.catch(() => {});
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await Promise.race([reader.read(), cut.promise]);
      if (done) {
        signal.removeEventListener("abort", onCut);
        controller.close();
      } else controller.enqueue(value);
    },
    cancel(reason) {
      signal.removeEventListener("abort", onCut);
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** A runtime served over HTTP on 127.0.0.1, and the end of each of its streams by id. */
export async function serveHttpRuntime(options: HarnessOptions, store: RecordingStore) {
  const runtime = newRuntime(options, store);
  const streams = new Map<string, PromiseWithResolvers<void>>();
  const streamEnd = (id: string) => {
    let entry = streams.get(id);
    if (entry === undefined) streams.set(id, entry = Promise.withResolvers<void>());
    return entry;
  };
  // Deno.serve or Bun.serve, whichever runs the tests.
  const server = await serveHttp(async (request) => {
    const response = await runtime.fetch(request);
    const id = response.headers.get(HEADER_STREAM);
    if (id === null || response.body === null) return response;
    const end = streamEnd(id);
    return new Response(watchedBody(response.body, () => end.resolve()), response);
  });
  const port = server.port;
  return {
    runtime,
    url: `http://127.0.0.1:${port}/arcp`,
    streamEnd: (id: string) => streamEnd(id).promise,
    all: () => Promise.all([...streams.values()].map((entry) => entry.promise)),
    shutdown: () => server[Symbol.asyncDispose](),
  };
}

/** The HTTP harness of tests/_helpers.ts `startHarness("http")`. */
export async function httpHarness(options: HarnessOptions): Promise<Harness> {
  const store = options.store ?? new RecordingStore();
  const served = await serveHttpRuntime(options, store);
  const { runtime, url } = served;
  const owned = new Disposables();
  const cuts: AbortController[] = [];
  const frameOptions = options.maxFrameBytes === undefined
    ? {}
    : { maxFrameBytes: options.maxFrameBytes };
  /** A transport whose requests a test can cut, and the end of its stream on the runtime. */
  const open = (): { transport: Transport; cut: AbortController; runtimeEnded: Promise<void> } => {
    const cut = new AbortController();
    cuts.push(cut);
    const runtimeEnded = Promise.withResolvers<void>();
    const transport = httpTransport(url, {
      ...frameOptions,
      async fetch(input, init) {
        // Not AbortSignal.any: the signal it makes is held weakly and may be
        // collected before it fires, leaving the request uncut.
        const both = new AbortController();
        const abort = (signal: AbortSignal) => () => both.abort(signal.reason);
        if (init?.signal) init.signal.addEventListener("abort", abort(init.signal));
        cut.signal.addEventListener("abort", abort(cut.signal));
        const response = await fetch(input, { ...init, signal: both.signal });
        const id = response.headers.get(HEADER_STREAM);
        if (id === null || response.body === null) return response;
        served.streamEnd(id).then(runtimeEnded.resolve);
        // Nor is aborting a fetch whose response came: the body is cut here.
        return new Response(cuttable(response.body, cut.signal), response);
      },
    });
    return { transport, cut, runtimeEnded: runtimeEnded.promise };
  };
  const harness: Harness = {
    kind: "http",
    runtime,
    store,
    async connect(options = {}) {
      const client = await connect(url, { ...connectOptions(options), transport: "http" });
      owned.clients.push(client);
      return client;
    },
    raw() {
      const raw = rawOver(open().transport);
      owned.raws.push(raw);
      return Promise.resolve(raw);
    },
    attach(): Promise<AttachedTransport> {
      const { transport, cut, runtimeEnded } = open();
      return Promise.resolve({
        transport,
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
      for (const cut of cuts) cut.abort();
      await within(served.all(), "every event stream to end");
      await served.shutdown();
    },
    [Symbol.asyncDispose]() {
      return this.dispose();
    },
  };
  return harness;
}
