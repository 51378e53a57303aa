// The HTTP binding on two runtime instances over one Deno KV file, behind a
// round-robin balancer on 127.0.0.1 with no affinity: every other request
// reaches the instance that does not serve the stream, and its POSTs are
// handed over through the store, in order, without a reconnect.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { Runtime, staticTokens } from "../../runtime.ts";
import { openDenoKvStore } from "../../store/deno_kv.ts";
import { HEADER_STREAM } from "../../transports/http_server.ts";
import { bounded } from "../_helpers.ts";

const TOKEN = "t-instances";

async function instance(path: string) {
  const store = await openDenoKvStore(path);
  const runtime = new Runtime({
    authenticate: staticTokens({ [TOKEN]: "alice" }),
    store,
    storePollMs: 50,
    agents: [{
      name: "count",
      async handler(input: { n: number }, ctx) {
        for (let i = 1; i <= input.n; i++) await ctx.log("info", "count", { i });
        return { n: input.n };
      },
    }, {
      name: "wait",
      async handler(_input, ctx) {
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        throw ctx.signal.reason;
      },
    }],
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, runtime.fetch);
  return {
    port: server.addr.port,
    async close() {
      await runtime.close();
      await server.shutdown();
      store.close();
    },
  };
}

/** Sends each request to the next backend in turn, streaming both ways. */
function roundRobin(ports: number[]) {
  let next = 0;
  const seen: { port: number; opening: boolean }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const port = ports[next++ % ports.length]!;
    seen.push({ port, opening: !request.headers.has(HEADER_STREAM) });
    const url = new URL(request.url);
    url.port = String(port);
    const response = await fetch(url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
    });
    return new Response(response.body, response);
  });
  return { port: server.addr.port, seen, close: () => server.shutdown() };
}

Deno.test(
  "over two instances behind a balancer without affinity, POSTs reaching the other instance " +
    "are handed over in order: jobs stream every event once, cancel works, no reconnect",
  bounded(async () => {
    const dir = await Deno.makeTempDir({ prefix: "arcp-http-instances-" });
    const path = `${dir}/runtime.kv`;
    const one = await instance(path);
    const other = await instance(path);
    const balancer = roundRobin([one.port, other.port]);
    try {
      const client = await connect(`http://127.0.0.1:${balancer.port}/arcp`, {
        token: TOKEN,
        transport: "http",
      });
      const waiting = await client.submit("wait");
      const jobs = await Promise.all([1, 2, 3].map(() => client.submit("count", { n: 50 })));
      for (const job of jobs) {
        const counts: number[] = [];
        for await (const event of job) {
          counts.push((event.payload.body as { attributes: { i: number } }).attributes.i);
        }
        assert.deepEqual(counts, Array.from({ length: 50 }, (_, i) => i + 1));
      }
      await waiting.cancel();
      await assert.rejects(waiting.result, /CANCELLED|cancel/i);
      await client.close();
      const opening = balancer.seen.filter((request) => request.opening);
      assert.equal(opening.length, 1, "one stream, never reopened");
      const posts = balancer.seen.filter((request) => !request.opening);
      assert.ok(
        posts.some((request) => request.port !== opening[0]!.port),
        "some POSTs reached the instance without the stream",
      );
    } finally {
      await balancer.close();
      await one.close();
      await other.close();
      await Deno.remove(dir, { recursive: true });
    }
  }, 30_000),
);
