// Hosts the harness's runtimes on Node.js through Hono: `@hono/node-server`
// serves HTTP, `@hono/node-ws` the WebSocket upgrades, and the Hono adapter
// (hono.ts) mounts the runtime at /arcp. Used by tests/node/scenarios.ts.

import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { createNodeWebSocket } from "@hono/node-ws";
import { Hono } from "hono";
import { arcp } from "../../hono.ts";
import type { TestHost } from "../_helpers.ts";

/** Stops listening and ends every open connection, event streams included. */
function stop(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}

/** A {@linkcode TestHost} serving on Node.js through Hono. */
export const honoNodeHost: TestHost = {
  serve({ fetch, accept, maxFrameBytes }) {
    const app = new Hono();
    const { injectWebSocket, upgradeWebSocket } = createNodeWebSocket({ app });
    if (accept !== undefined) {
      app.all(
        "/arcp",
        arcp({ accept, fetch }, {
          upgradeWebSocket,
          ...(maxFrameBytes === undefined ? {} : { maxFrameBytes }),
        }),
      );
    }
    app.all("*", (c) => fetch(c.req.raw));
    return new Promise((resolve) => {
      const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => {
        resolve({ port: info.port, [Symbol.asyncDispose]: () => stop(server as Server) });
      });
      injectWebSocket(server);
    });
  },
};
