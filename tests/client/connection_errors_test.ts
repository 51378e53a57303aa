// What the client tells its user when a connection fails or the runtime
// closes it: over real WebSockets on 127.0.0.1, against a real runtime or a
// real HTTP server answering something else.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { explainConnectFailure, whyNotOpened } from "../../client/_open_socket.ts";
import { ConnectionClosedError } from "../../protocol/errors.ts";
import type { AgentContext } from "../../runtime/context.ts";
import type { Transport } from "../../transports/types.ts";
import { bounded, serveHttp, startHarness, TOKENS } from "../_helpers.ts";
import { envelope } from "../_raw.ts";

const TOKEN = Object.keys(TOKENS)[0]!;

/** A port on 127.0.0.1 nothing listens on (it was free a moment ago). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** An agent that runs until cancelled. */
function waiting(_input: unknown, ctx: AgentContext): Promise<never> {
  return new Promise((_resolve, reject) => {
    ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
  });
}

/** `transport` whose writes are dropped while `muted.on`: a client gone silent. */
function mutable(transport: Transport, muted: { on: boolean }): Transport {
  const writer = transport.writable.getWriter();
  return {
    readable: transport.readable,
    writable: new WritableStream({
      write: (frame) => muted.on ? undefined : writer.write(frame),
      close: () => writer.close(),
      abort: (reason) => writer.abort(reason),
    }),
  };
}

async function rejection(promise: Promise<unknown>): Promise<ConnectionClosedError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConnectionClosedError, String(error));
    return error;
  }
  assert.fail("expected a rejection");
}

Deno.test(
  "a runtime that closes the connection with HEARTBEAT_LOST: open jobs reject with that code and message",
  bounded(async () => {
    await using harness = await startHarness("websocket", {
      runtime: { heartbeatIntervalSec: 0.2 },
      agents: [{ name: "wait", handler: waiting }],
    });
    const muted = { on: false };
    const attached = await harness.attach();
    const client = await connect(mutable(attached.transport, muted), { token: TOKEN });
    const job = await client.submit("wait");
    muted.on = true;
    const error = await rejection(job.result);
    assert.equal(error.code, "HEARTBEAT_LOST");
    assert.match(
      error.message,
      /^The runtime closed the connection: HEARTBEAT_LOST: No message from the client/,
    );
    assert.equal((error.cause as { code?: string }).code, "HEARTBEAT_LOST");
    await assert.rejects(client.submit("wait"), { code: "HEARTBEAT_LOST" });
    await client.close();
  }),
);

Deno.test(
  "a resume refused with RESUME_WINDOW_EXPIRED ends the session with a ConnectionClosedError of that code",
  bounded(async () => {
    await using harness = await startHarness("websocket", {
      runtime: { resumeWindowSec: 0.2 },
      agents: [{ name: "wait", handler: waiting }],
    });
    const connections: Awaited<ReturnType<typeof harness.attach>>[] = [];
    const client = await connect(async () => {
      // Every reconnect comes after the resume window has passed.
      if (connections.length > 0) await new Promise((resolve) => setTimeout(resolve, 600));
      const attached = await harness.attach();
      connections.push(attached);
      return attached.transport;
    }, { token: TOKEN, reconnect: { initialDelayMs: 1, maxDelayMs: 1 } });
    // Followed, not submitted: a session with running jobs of its own never expires.
    const submitter = await harness.connect();
    const job = await client.subscribe((await submitter.submit("wait")).jobId);
    await connections[0]!.drop();
    const error = await rejection(job.result);
    assert.equal(error.code, "RESUME_WINDOW_EXPIRED");
    assert.match(
      error.message,
      new RegExp(`^Cannot resume session ${client.sessionId}: RESUME_WINDOW_EXPIRED: `),
    );
    await client.close();
  }),
);

Deno.test(
  "connect() with a wrong token rejects with the runtime's UNAUTHENTICATED code and message",
  bounded(async () => {
    await using harness = await startHarness("websocket");
    const url = (harness as unknown as { url: string }).url;
    await assert.rejects(connect(url, { token: "wrong", reconnect: false }), {
      name: "ArcpError",
      code: "UNAUTHENTICATED",
      message: "Invalid bearer token",
    });
  }),
);

Deno.test(
  "connect() to a runtime that refuses at once (session.error, then close) rejects with its code and message",
  bounded(async () => {
    const refusal = envelope("session.error", {
      code: "INVALID_REQUEST",
      message: "Too many connections: maxConnections is 1",
      retryable: true,
    });
    // Refused at once, and refused a moment after the hello.
    for (const delayMs of [0, 50]) {
      await using server = await serveHttp((request) => {
        const { socket, response } = Deno.upgradeWebSocket(request);
        socket.onopen = () =>
          setTimeout(() => {
            socket.send(JSON.stringify(refusal));
            socket.close(1008, "refused");
          }, delayMs);
        return response;
      });
      const url = `ws://127.0.0.1:${server.port}/arcp`;
      await assert.rejects(connect(url, { token: TOKEN, reconnect: false }), {
        name: "ArcpError",
        code: "INVALID_REQUEST",
        message: "Too many connections: maxConnections is 1",
      });
    }
  }),
);

Deno.test(
  "connect() to a port nothing listens on says the connection was refused",
  bounded(async () => {
    const url = `ws://127.0.0.1:${freePort()}/arcp`;
    const error = await rejection(connect(url, { token: TOKEN }));
    assert.equal(
      error.message,
      `Cannot connect to ${url}: connection refused: nothing listens on ${url.slice(5, -5)}`,
    );
  }),
);

Deno.test(
  "connect() to an HTTP server answering 404 names the status and the path",
  bounded(async () => {
    await using server = await serveHttp(() => new Response("Not found\n", { status: 404 }));
    {
      const url = `ws://127.0.0.1:${server.port}/wrong`;
      const error = await rejection(connect(url, { token: TOKEN }));
      assert.equal(
        error.message,
        `Cannot connect to ${url}: HTTP 404 Not Found: 127.0.0.1:${server.port} serves nothing ` +
          `at /wrong (wrong path? an ARCP runtime usually serves /arcp)`,
      );
    }
  }),
);

Deno.test(
  "connect() refused with an HTTP status quotes the first line of the text body, read within bounds",
  bounded(async () => {
    // Headers and a first piece, then nothing: what came within the bound is quoted.
    const stalled = () =>
      new ReadableStream<Uint8Array>({
        start: (controller) => controller.enqueue(new TextEncoder().encode("Busy, \x1b[31mtry")),
      });
    // The body (made anew for each request: the upgrade's, then the probe's), its type, the status.
    const answers: [() => BodyInit, string | undefined, number][] = [
      [() => "\n  Too many connections: maxConnections is 1\nsecond line\n", undefined, 503],
      [() => "x".repeat(100_000), undefined, 503],
      [stalled, undefined, 503],
      [() => "<html><body>Service Unavailable</body></html>", "text/html", 503],
      [() => '{"error":"rate limited"}', "application/json", 429],
    ];
    const said: (string | undefined)[] = [];
    for (const [body, type, status] of answers) {
      const headers: HeadersInit = type === undefined ? {} : { "content-type": type };
      await using server = await serveHttp(() => new Response(body(), { status, headers }));
      const url = `ws://127.0.0.1:${server.port}/arcp`;
      const error = await rejection(connect(url, { token: TOKEN, reconnect: false }));
      const prefix = `Cannot connect to ${url}: HTTP ${status} `;
      assert.ok(error.message.startsWith(prefix), error.message);
      assert.match(error.message, /at \/arcp instead of a WebSocket upgrade/);
      said.push(/; it said: (.*)$/.exec(error.message)?.[1]);
      // The same without the platform's detail (as in browsers): from the HTTP request alone.
      const why = await whyNotOpened(new URL(url), undefined);
      assert.equal(`Cannot connect to ${url}: ${why}`, error.message);
    }
    assert.deepEqual(said, [
      "Too many connections: maxConnections is 1",
      `${"x".repeat(200)}…`,
      "Busy, [31mtry",
      undefined,
      '{"error":"rate limited"}',
    ]);
  }),
);

Deno.test(
  "a refusal's body is quoted only when the HTTP request gets the status the upgrade got",
  bounded(async () => {
    // Full for WebSockets; a plain request is answered otherwise.
    await using server = await serveHttp((request) =>
      request.headers.get("upgrade") === "websocket"
        ? new Response("full\n", { status: 503 })
        : new Response("use a WebSocket\n", { status: 426 })
    );
    const url = `ws://127.0.0.1:${server.port}/arcp`;
    const error = await rejection(connect(url, { token: TOKEN, reconnect: false }));
    assert.equal(
      error.message,
      `Cannot connect to ${url}: HTTP 503 Service Unavailable from 127.0.0.1:${server.port} ` +
        `at /arcp instead of a WebSocket upgrade`,
    );
  }),
);

Deno.test(
  "connect() over wss:// to a plain HTTP server reports a TLS failure",
  bounded(async () => {
    await using server = await serveHttp(() => new Response("plain\n"));
    {
      const url = `wss://127.0.0.1:${server.port}/arcp`;
      const error = await rejection(connect(url, { token: TOKEN }));
      assert.match(
        error.message,
        new RegExp(
          `^Cannot connect to ${url}: TLS failure with 127\\.0\\.0\\.1:${server.port}: .+ ` +
            `\\(is it a TLS server\\? ws:// is for plain ones\\)$`,
        ),
      );
    }
  }),
);

Deno.test("an unknown host is named as such, from what Deno's WebSocket and fetch say", () => {
  // Fed as text: tests resolve no names.
  const url = new URL("ws://arcp.unknown.test:7777/arcp");
  const expected = `unknown host "arcp.unknown.test": the name does not resolve`;
  assert.equal(
    explainConnectFailure(url, "NetworkError: failed to connect to WebSocket: dns error"),
    expected,
  );
  assert.equal(
    explainConnectFailure(
      url,
      "fetch failed: error sending request for url (http://arcp.unknown.test:7777/arcp): " +
        "client error (Connect): dns error: failed to lookup address information: " +
        "Name or service not known",
    ),
    expected,
  );
  assert.equal(explainConnectFailure(url, "something else entirely"), undefined);
  // The other causes platforms name, as they name them.
  const cases: [string, string][] = [
    [
      "fetch failed: tcp connect error: Connection refused (os error 111)",
      "connection refused: nothing listens on arcp.unknown.test:7777",
    ],
    [
      "Unexpected response code: 429",
      "HTTP 429 Too Many Requests from arcp.unknown.test:7777 at /arcp instead of a WebSocket upgrade",
    ],
    ["tcp connect error: Connection timed out", "no answer from arcp.unknown.test:7777: timed out"],
    [
      "Connection reset by peer (os error 104)",
      "arcp.unknown.test:7777 closed the connection during the WebSocket handshake",
    ],
    [
      "client error (Connect): invalid peer certificate: UnknownIssuer",
      "TLS failure with arcp.unknown.test:7777: invalid peer certificate: UnknownIssuer",
    ],
  ];
  for (const [text, expected] of cases) assert.equal(explainConnectFailure(url, text), expected);
});

Deno.test(
  "without a detail (as in browsers), an HTTP request to the URL tells the status or the refusal",
  bounded(async () => {
    {
      await using server = await serveHttp(() => new Response("busy\n", { status: 503 }));
      const busy = new URL(`ws://127.0.0.1:${server.port}/arcp`);
      assert.equal(
        await whyNotOpened(busy, undefined),
        `HTTP 503 Service Unavailable from 127.0.0.1:${server.port} at /arcp instead of a WebSocket upgrade; it said: busy`,
      );
    }
    const port = freePort();
    assert.equal(
      await whyNotOpened(new URL(`ws://127.0.0.1:${port}/arcp`), "tcp connect error"),
      `connection refused: nothing listens on 127.0.0.1:${port}`,
    );
  }),
);

Deno.test(
  "connect() to a server that never answers the upgrade gives up after handshakeTimeoutMs",
  bounded(async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of listener) held.push(conn);
    })();
    try {
      const url = `ws://127.0.0.1:${listener.addr.port}/arcp`;
      const error = await rejection(connect(url, { token: TOKEN, handshakeTimeoutMs: 300 }));
      assert.equal(error.message, `No WebSocket connection to ${url} within 300 ms`);
    } finally {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of held) conn.close();
    }
  }),
);
