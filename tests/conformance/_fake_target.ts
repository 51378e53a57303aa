// A fake ARCP target for the conformance kit's own tests: a WebSocket
// server on 127.0.0.1 that answers each frame as a test says, so the kit
// can be shown failing a target that is broken on purpose.

import { serveHttp } from "../_helpers.ts";

/**
 * A fake target: each text frame it receives is parsed and handed to
 * `answer`, whose frames it sends back; `undefined` answers nothing.
 */
export async function serveFake(
  answer: (frame: Record<string, unknown>) => Record<string, unknown>[] | undefined,
): Promise<{ url: string } & AsyncDisposable> {
  const sockets: WebSocket[] = [];
  const server = await serveHttp(
    (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      sockets.push(socket);
      socket.onmessage = (event) => {
        let frame: Record<string, unknown>;
        try {
          frame = JSON.parse(event.data);
        } catch {
          return;
        }
        for (const reply of answer(frame) ?? []) socket.send(JSON.stringify(reply));
      };
      return response;
    },
  );
  return {
    url: `ws://127.0.0.1:${server.port}/arcp`,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.close();
      await server[Symbol.asyncDispose]();
    },
  };
}

/** A welcome as a runtime advertising `features` and the kit's agents would send it. */
export function fakeWelcome(features: string[], fields: Record<string, unknown> = {}) {
  return {
    arcp: "1.1",
    id: "w1",
    type: "session.welcome",
    session_id: "sess_fake",
    payload: {
      runtime: { name: "fake", version: "0" },
      resume_token: "rt_fake",
      resume_window_sec: 600,
      heartbeat_interval_sec: 30,
      capabilities: {
        encodings: ["json"],
        features,
        agents: ["echo", "count", "sleep", "fail"].map((name) => ({ name, versions: [] })),
      },
      ...fields,
    },
  };
}

/**
 * A WebSocket proxy on 127.0.0.1 in front of `upstream` that forwards every
 * frame both ways except the `job.event` frames `drop` picks, by their
 * 1-based count on that connection.
 */
export async function serveDroppingProxy(
  upstream: string,
  drop: (eventCount: number) => boolean,
): Promise<{ url: string } & AsyncDisposable> {
  const sockets: WebSocket[] = [];
  const server = await serveHttp(
    (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      const inner = new WebSocket(upstream);
      sockets.push(socket, inner);
      const opened = new Promise((resolve) => inner.onopen = resolve);
      let events = 0;
      socket.onmessage = async (event) => {
        await opened;
        if (inner.readyState === WebSocket.OPEN) inner.send(event.data);
      };
      inner.onmessage = (event) => {
        if (JSON.parse(event.data).type === "job.event" && drop(++events)) return;
        if (socket.readyState === WebSocket.OPEN) socket.send(event.data);
      };
      socket.onclose = () => inner.close();
      inner.onclose = () => socket.close();
      return response;
    },
  );
  return {
    url: `ws://127.0.0.1:${server.port}/arcp`,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.close();
      await server[Symbol.asyncDispose]();
    },
  };
}
