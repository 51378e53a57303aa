// The Deno Deploy example (`examples/deploy/main.ts`) served by a real
// `deno serve` process on 127.0.0.1, its state in a Deno KV file: a client
// runs a job, the job finishes while the client is away, the server process
// is restarted, and the client resumes on the new one for the rest.

import assert from "node:assert/strict";
import { connect, MemoryResumeStateStore } from "../client.ts";
import type { JobEvent } from "../protocol/events.ts";
import { webSocketTransport } from "../transports/websocket.ts";
import { eventually } from "./_helpers.ts";
import { startDenoServe } from "./_serve.ts";

const entrypoint = new URL("../examples/deploy/main.ts", import.meta.url).pathname;
const TOKEN = "deploy-token";

const PAGE_TITLE = "Isolates and one database";
const PARAGRAPHS = [
  "Deploy runs every application in isolates near its users. Isolates start and stop as traffic comes and goes.",
  "The database is shared by every isolate of the application. Sessions survive any isolate that served them.",
];

/** A web page served in two halves: the second waits for `release()`. */
function startSite() {
  const html = `<html><head><title>${PAGE_TITLE}</title><style>p{}</style></head><body>` +
    PARAGRAPHS.map((p) => `<p>${p}</p>`).join("") + "</body></html>";
  const bytes = new TextEncoder().encode(html);
  const half = bytes.byteLength >> 1;
  const gate = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(bytes.slice(0, half));
        await gate.promise;
        controller.enqueue(bytes.slice(half));
        controller.close();
      },
    });
    return new Response(body, {
      headers: { "content-type": "text/html; charset=utf-8", "content-length": `${bytes.length}` },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/article`,
    size: bytes.byteLength,
    release: () => gate.resolve(),
    async [Symbol.asyncDispose]() {
      gate.resolve();
      await server.shutdown();
    },
  };
}

function kindOf(event: JobEvent): string {
  return event.payload.kind;
}

Deno.test("the Deploy example resumes a session on a restarted server process for the rest of its job", async () => {
  const dir = await Deno.makeTempDir({ prefix: "arcp-deploy-" });
  const env = {
    ARCP_TOKENS: `${TOKEN}=alice`,
    ARCP_KV_PATH: `${dir}/runtime.kv`,
    ARCP_INSTANCE_TTL_MS: "1000",
    ARCP_STORE_POLL_MS: "100",
  };
  await using site = startSite();
  let server = await startDenoServe(entrypoint, env);
  try {
    // The client reconnects through this function: the test holds it back
    // while the server restarts, then points it at the new process.
    let target = server.url;
    let reconnecting: Promise<void> = Promise.resolve();
    let socket: WebSocket | undefined;
    const open = async () => {
      await reconnecting;
      socket = new WebSocket(target);
      return webSocketTransport(socket);
    };
    const client = await connect(open, {
      token: TOKEN,
      resumeStore: new MemoryResumeStateStore(),
      reconnect: { initialDelayMs: 10, maxDelayMs: 100 },
    });
    const job = await client.submit("summarize", { url: site.url, sentences: 2 }, {
      leaseRequest: { "net.fetch": [site.url] },
    });
    assert.equal(job.agent, "summarize@1.0.0");
    const events = job[Symbol.asyncIterator]();
    const seen: JobEvent[] = [];
    while (!seen.some((event) => kindOf(event) === "progress")) {
      const next = await events.next();
      assert.ok(!next.done, "the job ended before reporting progress");
      seen.push(next.value);
    }

    // The connection drops; the job finishes while the client is away.
    const away = Promise.withResolvers<void>();
    reconnecting = away.promise;
    socket!.close();
    site.release();
    {
      await using observer = await connect(server.url, { token: TOKEN, reconnect: false });
      await eventually(async () => {
        for await (const page of observer.listJobs()) {
          if (page.jobs.some((j) => j.job_id === job.jobId && j.status === "success")) return true;
        }
        return false;
      }, "the job to finish on the first server process");
    }

    // The server restarts; the client resumes on the new process.
    await server.stop();
    server = await startDenoServe(entrypoint, env);
    target = server.url;
    away.resolve();
    for (let next = await events.next(); !next.done; next = await events.next()) {
      seen.push(next.value);
    }
    const { result } = await job.result;
    assert.deepEqual(result, {
      url: site.url,
      title: PAGE_TITLE,
      content_type: "text/html; charset=utf-8",
      bytes: site.size,
      words: PARAGRAPHS.join(" ").split(/\s+/).length,
      summary: PARAGRAPHS[0]!.match(/[^.]+\./g)!.map((s) => s.trim()),
      keywords: ["application", "isolate", "isolates", "comes", "database"],
    });
    const statuses = seen.filter((e) => kindOf(e) === "status").map((e) => e.payload.body.phase);
    assert.deepEqual(statuses, ["fetching", "summarizing"]);
    const progress = seen.filter((e) => kindOf(e) === "progress").map((e) => e.payload.body);
    assert.deepEqual(progress.at(-1), { current: site.size, total: site.size, units: "bytes" });
    assert.deepEqual(
      seen.map((e) => e.event_seq),
      seen.map((_, i) => i + 1),
      "no gap, no duplicate",
    );
    await client.close();
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
