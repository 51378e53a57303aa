import assert from "node:assert/strict";
import { ArcpError, ConnectionClosedError } from "../../protocol/errors.ts";
import type { Frame, Transport } from "../../transports/types.ts";
import {
  MalformedFrame,
  type WebSocketLike,
  webSocketTransport,
  type WebSocketTransportOptions,
} from "../../transports/websocket.ts";
import { bounded, socketClosed, socketOpened, within } from "../_helpers.ts";
import { eventFrame, largeBody, UNICODE } from "../_wire_text.ts";

/** A server on 127.0.0.1 whose upgraded sockets the test gets, wrapped or raw. */
interface Server extends AsyncDisposable {
  url: string;
  /** The next server-side socket, as upgraded. */
  nextSocket(): Promise<WebSocket>;
}

async function startServer(): Promise<Server> {
  const sockets: WebSocket[] = [];
  const waiting: ((socket: WebSocket) => void)[] = [];
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: listening.resolve },
    (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      const waiter = waiting.shift();
      if (waiter === undefined) sockets.push(socket);
      else waiter(socket);
      all.push(socket);
      return response;
    },
  );
  const all: WebSocket[] = [];
  const { port } = await listening.promise;
  return {
    url: `ws://127.0.0.1:${port}/`,
    nextSocket() {
      const socket = sockets.shift();
      if (socket !== undefined) return Promise.resolve(socket);
      return new Promise((resolve) => waiting.push(resolve));
    },
    async [Symbol.asyncDispose]() {
      for (const socket of all) if (socket.readyState !== WebSocket.CLOSED) socket.close();
      await within(Promise.all(all.map(socketClosed)), "server sockets to close");
      await server.shutdown();
    },
  };
}

/** A connected pair: a client transport and the server's transport for it. */
async function pair(
  server: Server,
  options: WebSocketTransportOptions = {},
): Promise<
  { client: Transport; serverSide: Transport; clientSocket: WebSocket; serverSocket: WebSocket }
> {
  const clientSocket = new WebSocket(server.url);
  const serverSocket = await server.nextSocket();
  await socketOpened(clientSocket);
  return {
    client: webSocketTransport(clientSocket),
    serverSide: webSocketTransport(serverSocket, options),
    clientSocket,
    serverSocket,
  };
}

Deno.test(
  "webSocketTransport() carries JSON frames both ways, in order",
  bounded(async () => {
    await using server = await startServer();
    const { client, serverSide, clientSocket } = await pair(server);
    const clientWriter = client.writable.getWriter();
    const serverReader = serverSide.readable.getReader();
    const serverWriter = serverSide.writable.getWriter();
    const clientReader = client.readable.getReader();
    for (let i = 0; i < 20; i++) await clientWriter.write({ n: i, text: "é" });
    for (let i = 0; i < 20; i++) {
      assert.deepEqual((await serverReader.read()).value, { n: i, text: "é" });
    }
    await serverWriter.write({ reply: [1, 2] });
    assert.deepEqual((await clientReader.read()).value, { reply: [1, 2] });
    await clientWriter.close();
    await socketClosed(clientSocket);
  }),
);

Deno.test(
  "webSocketTransport() holds writes made while connecting until the socket opens",
  bounded(async () => {
    await using server = await startServer();
    const socket = new WebSocket(server.url);
    assert.equal(socket.readyState, WebSocket.CONNECTING);
    const client = webSocketTransport(socket);
    const writer = client.writable.getWriter();
    const written = writer.write({ early: true });
    const serverSide = webSocketTransport(await server.nextSocket());
    await written;
    assert.deepEqual((await serverSide.readable.getReader().read()).value, { early: true });
    await writer.close();
    await socketClosed(socket);
  }),
);

Deno.test(
  "webSocketTransport() delivers bad text, binary and oversized frames as MalformedFrame",
  bounded(async () => {
    await using server = await startServer();
    const { serverSide, clientSocket } = await pair(server, { maxFrameBytes: 64 });
    const reader = serverSide.readable.getReader();
    const cases: [string | Uint8Array, RegExp][] = [
      ["{not json", /not valid JSON/],
      ["[1,2]", /not a JSON object/],
      ["42", /not a JSON object/],
      [new Uint8Array([123, 125]), /Binary frames/],
      [JSON.stringify({ data: "x".repeat(100) }), /64-byte limit/],
    ];
    for (const [data, reason] of cases) {
      clientSocket.send(data);
      const { value } = await reader.read();
      assert.ok(value instanceof MalformedFrame, String(data));
      assert.match(value.reason, reason);
    }
    clientSocket.send('{"ok":true}');
    assert.deepEqual((await reader.read()).value, { ok: true }, "the transport carries on");
    clientSocket.close();
    await socketClosed(clientSocket);
  }),
);

Deno.test(
  "webSocketTransport() closing the writable closes the socket and ends the peer's readable",
  bounded(async () => {
    await using server = await startServer();
    const { client, serverSide, clientSocket, serverSocket } = await pair(server);
    const closeCode = new Promise<number>((resolve) =>
      serverSocket.addEventListener("close", (event) => resolve(event.code), { once: true })
    );
    await client.writable.getWriter().close();
    assert.equal((await serverSide.readable.getReader().read()).done, true);
    assert.equal(await closeCode, 1000);
    await socketClosed(clientSocket);
  }),
);

Deno.test(
  "webSocketTransport() cancelling the readable closes the socket",
  bounded(async () => {
    await using server = await startServer();
    const { client, serverSide, clientSocket } = await pair(server);
    await client.readable.cancel();
    assert.equal((await serverSide.readable.getReader().read()).done, true);
    await socketClosed(clientSocket);
  }),
);

Deno.test(
  "webSocketTransport() ends the readable and fails writes once the peer closes",
  bounded(async () => {
    await using server = await startServer();
    const { client, serverSocket, clientSocket } = await pair(server);
    const reader = client.readable.getReader();
    const writer = client.writable.getWriter();
    serverSocket.close(4001, "bye");
    assert.equal((await reader.read()).done, true);
    await socketClosed(clientSocket);
    await assert.rejects(writer.write({ late: true }), ConnectionClosedError);
  }),
);

Deno.test(
  "webSocketTransport() refuses writes with ConnectionClosedError once the socket is closing",
  bounded(async () => {
    await using server = await startServer();
    const { client, clientSocket } = await pair(server);
    const writer = client.writable.getWriter();
    await writer.write({ n: 1 });
    clientSocket.close();
    assert.equal(clientSocket.readyState, WebSocket.CLOSING);
    await assert.rejects(writer.write({ n: 2 } as Frame), ConnectionClosedError);
    await socketClosed(clientSocket);
  }),
);

Deno.test("webSocketTransport() abort ends a write stuck on an unread socket and closes with 1008 naming an ArcpError", async () => {
  const closes: [number | undefined, string | undefined][] = [];
  const socket: WebSocketLike = {
    readyState: 1,
    // A peer that never reads: the buffer never drains.
    bufferedAmount: 1 << 30,
    send() {},
    close(code, reason) {
      closes.push([code, reason]);
    },
    addEventListener() {},
  };
  const writer = webSocketTransport(socket).writable.getWriter();
  const stuck = writer.write({ n: 1 });
  await writer.abort(new ArcpError("INTERNAL_ERROR", "maxQueuedFrames is 8"));
  await assert.rejects(stuck);
  assert.deepEqual(closes, [[1008, "INTERNAL_ERROR: maxQueuedFrames is 8"]]);
});

Deno.test(
  "webSocketTransport() sends frames with pre-encoded payloads as exactly JSON.stringify of the frame",
  bounded(async () => {
    await using server = await startServer();
    const { serverSide, clientSocket } = await pair(server);
    const texts: string[] = [];
    const all = Promise.withResolvers<void>();
    const frames = [{ text: UNICODE }, largeBody(600), largeBody(256 * 1024)].map(eventFrame);
    clientSocket.addEventListener("message", (event) => {
      texts.push(event.data as string);
      if (texts.length === frames.length) all.resolve();
    });
    const writer = serverSide.writable.getWriter();
    for (const frame of frames) await writer.write(frame);
    await within(all.promise, "every frame");
    assert.deepEqual(texts, frames.map((frame) => JSON.stringify(frame)));
    clientSocket.close();
    await socketClosed(clientSocket);
  }),
);

/** A socket whose peer does not read: `bufferedAmount` stays high and each look at it is counted. */
function stalledSocket(): WebSocketLike & { looks: number; buffered: number; fireClose(): void } {
  const listeners: ((event: Event) => void)[] = [];
  return {
    readyState: 1,
    looks: 0,
    buffered: 1 << 30,
    get bufferedAmount() {
      this.looks++;
      return this.buffered;
    },
    send() {},
    close() {},
    addEventListener(type, listener) {
      if (type === "close") listeners.push(listener);
    },
    fireClose() {
      for (const listener of listeners) listener(new CloseEvent("close", { code: 1006 }));
    },
  };
}

Deno.test(
  "webSocketTransport() waits for a stalled peer's buffer with backed-off looks, not one per millisecond",
  bounded(async () => {
    const socket = stalledSocket();
    const writer = webSocketTransport(socket).writable.getWriter();
    const stuck = writer.write({ n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Backing off to 32 ms takes about 20 looks in 500 ms; polling every millisecond, hundreds.
    assert.ok(socket.looks < 60, `looked ${socket.looks} times in 500 ms`);
    socket.buffered = 0;
    await within(stuck, "the write once the buffer drained");
  }),
);

Deno.test(
  "webSocketTransport() a socket closing while a write waits for its buffer fails the write at once",
  bounded(async () => {
    const socket = stalledSocket();
    const writer = webSocketTransport(socket).writable.getWriter();
    const stuck = writer.write({ n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.fireClose();
    await within(assert.rejects(stuck, ConnectionClosedError), "the stuck write to fail", 1_000);
  }),
);
