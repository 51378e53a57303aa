// What one connection may send, over a real WebSocket on 127.0.0.1: frames
// waiting to be read are bounded, frames left waiting by a closed connection
// are dropped unanswered, and deeply nested JSON is refused without harm.

import assert from "node:assert/strict";
import { Runtime, staticTokens } from "../../runtime.ts";
import { ndjsonTransport } from "../../transports/stdio.ts";
import {
  bounded,
  envelope,
  eventually,
  helloFrame,
  RecordingStore,
  standardAgents,
  startHarness,
  TOKENS,
  within,
} from "../_helpers.ts";
import { rawSession } from "../_serve.ts";
import { assertSessionWorks, payloadOf } from "../scenarios/_shared.ts";
import type { JobRecord } from "../../store/types.ts";

/** A job id whose lookup in the store waits for the test: the runtime stops reading meanwhile. */
const GATED_JOB = "job_01JGATED000000000000000000";

/** A store whose lookup of {@linkcode GATED_JOB} blocks until released. */
class GatedStore extends RecordingStore {
  readonly reached = Promise.withResolvers<void>();
  readonly release = Promise.withResolvers<void>();

  override async getJob(jobId: string): Promise<JobRecord | undefined> {
    if (jobId === GATED_JOB) {
      this.reached.resolve();
      await this.release.promise;
    }
    return super.getJob(jobId);
  }
}

/** How many jobs alice (the harness's default principal) ever submitted. */
async function jobsOfAlice(store: RecordingStore): Promise<number> {
  return (await store.listJobs({ principal: "alice", limit: 1000 })).jobs.length;
}

Deno.test(
  "frames piling up past maxQueuedFrames get a session.error naming the cap, then the connection closes",
  bounded(async () => {
    const store = new GatedStore();
    await using h = await startHarness("websocket", { store, runtime: { maxQueuedFrames: 8 } });
    const raw = await h.raw();
    await raw.hello();
    await raw.request("job.cancel", { job_id: GATED_JOB });
    await store.reached.promise;
    for (let n = 0; n < 50; n++) await raw.submit("echo", { n });
    const error = await raw.expectError("INTERNAL_ERROR");
    assert.match(String(error.message), /maxQueuedFrames is 8/);
    await raw.ended();
    store.release.resolve();
    // The runtime carries on; the frames dropped with the queue started nothing.
    const healthy = await h.raw();
    await healthy.hello();
    await assertSessionWorks(healthy);
    assert.equal(await jobsOfAlice(store), 1);
  }),
);

Deno.test(
  "past maxQueuedBytes the connection is closed the same way, naming that cap",
  bounded(async () => {
    const store = new GatedStore();
    await using h = await startHarness("websocket", {
      store,
      runtime: { maxQueuedBytes: 64 << 10 },
    });
    const raw = await h.raw();
    await raw.hello();
    await raw.request("job.cancel", { job_id: GATED_JOB });
    await store.reached.promise;
    for (let n = 0; n < 20; n++) await raw.submit("echo", "x".repeat(8 << 10));
    const error = await raw.expectError("INTERNAL_ERROR");
    assert.match(String(error.message), /maxQueuedBytes is 65536/);
    await raw.ended();
    store.release.resolve();
  }),
);

Deno.test(
  "frames still queued when the client goes away are dropped: no job starts, nothing is written",
  bounded(async () => {
    const store = new GatedStore();
    await using h = await startHarness("websocket", { store });
    const raw = await h.raw();
    const welcome = await raw.hello();
    await raw.request("job.cancel", { job_id: GATED_JOB });
    await store.reached.promise;
    for (let n = 0; n < 20; n++) await raw.submit("echo", { n });
    await raw.close();
    // Detached as soon as the runtime notices, though it is still answering a frame.
    await eventually(
      async () => (await store.getSession(welcome.session_id as string))?.detached_at != null,
      "the session to be detached",
    );
    store.release.resolve();
    const healthy = await h.raw();
    await healthy.hello();
    await assertSessionWorks(healthy);
    assert.equal(await jobsOfAlice(store), 1, "only the healthy session's job was accepted");
  }),
);

/** A `job.submit` frame whose echo input nests arrays so that the whole frame is `depth` levels deep. */
function nestedSubmit(depth: number): string {
  // The frame is level 1, its payload 2, the input's outermost array 3.
  const arrays = depth - 2;
  return `{"arcp":"1.1","id":"deep_${depth}","type":"job.submit","payload":{"agent":"echo",` +
    `"input":${"[".repeat(arrays)}"[[\\"[["${"]".repeat(arrays)}}}`;
}

Deno.test(
  "a frame nested deeper than maxJsonDepth is refused with INVALID_REQUEST and the session carries on",
  bounded(async () => {
    await using h = await startHarness("websocket");
    const raw = await h.raw();
    await raw.hello();
    await raw.sendText(nestedSubmit(10_000));
    const error = await raw.expectError("INVALID_REQUEST");
    assert.match(String(error.message), /maxJsonDepth is 64/);
    await raw.sendText(nestedSubmit(65));
    assert.match(String((await raw.expectError("INVALID_REQUEST")).message), /maxJsonDepth is 64/);
    // Exactly at the cap is accepted; its echo would nest one level deeper
    // than any frame the runtime sends, so that job ends with INTERNAL_ERROR.
    await raw.sendText(nestedSubmit(64));
    const atCap = await raw.until((frame) => frame.type === "job.error");
    assert.equal(payloadOf(atCap.at(-1)!).code, "INTERNAL_ERROR");
    // One level less round-trips; brackets inside strings do not count.
    await raw.sendText(nestedSubmit(63));
    const frames = await raw.until((frame) => frame.type === "job.result");
    const result = payloadOf(frames.at(-1)!).result as { echoed: unknown };
    let depth = 0;
    for (let value = result.echoed; Array.isArray(value); value = value[0]) depth++;
    assert.equal(depth, 61);
    await assertSessionWorks(raw);
  }),
);

Deno.test(
  "maxJsonDepth is an option",
  bounded(async () => {
    await using h = await startHarness("websocket", { runtime: { maxJsonDepth: 8 } });
    const raw = await h.raw();
    await raw.hello();
    await raw.sendText(nestedSubmit(9));
    assert.match(String((await raw.expectError("INVALID_REQUEST")).message), /maxJsonDepth is 8/);
    await assertSessionWorks(raw);
  }),
);

const CLOSE_OPCODE = 0x8;

/** The length of the server frame at the start of `bytes`, once all of it is there. */
function frameLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < 2) return undefined;
  let length = bytes[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (bytes.length < 4) return undefined;
    length = (bytes[2]! << 8) | bytes[3]!;
    offset = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return undefined;
    length = Number(new DataView(bytes.buffer, bytes.byteOffset + 2, 8).getBigUint64(0));
    offset = 10;
  }
  return bytes.length >= offset + length ? offset + length : undefined;
}

/** A WebSocket client over plain TCP that can stop reading, as a hostile client does. */
class TcpWebSocket {
  readonly #connection: Deno.Conn;
  #pending = new Uint8Array(0);

  private constructor(connection: Deno.Conn) {
    this.#connection = connection;
  }

  /** Connects and upgrades; resolves once the 101 response has been read. */
  static async open(url: string): Promise<TcpWebSocket> {
    const { hostname, port, pathname } = new URL(url);
    const connection = await Deno.connect({ hostname, port: Number(port) });
    const request =
      `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      "Sec-WebSocket-Version: 13\r\n\r\n";
    await connection.write(new TextEncoder().encode(request));
    const socket = new TcpWebSocket(connection);
    const head = await socket.#readUntil((bytes) => {
      const end = new TextDecoder().decode(bytes).indexOf("\r\n\r\n");
      return end === -1 ? undefined : end + 4;
    });
    assert.match(new TextDecoder().decode(head), /^HTTP\/1\.1 101/);
    return socket;
  }

  /** Sends one masked text frame (payloads under 64 KiB). */
  async send(text: string): Promise<void> {
    const payload = new TextEncoder().encode(text);
    const header = payload.length < 126
      ? [0x81, 0x80 | payload.length]
      : [0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
    const frame = new Uint8Array(header.length + 4 + payload.length);
    frame.set(header);
    // A zero mask: masking is required, its value is not.
    frame.set(payload, header.length + 4);
    await this.#connection.write(frame);
  }

  /**
   * Reads server frames until the server ends the connection: returns the
   * close frame's code, or `undefined` when the connection ended without one
   * (a reset loses what was not read yet).
   */
  async closeCode(): Promise<number | undefined> {
    for (;;) {
      const frame = await this.#readUntil(frameLength).catch(() => undefined);
      if (frame === undefined) return undefined;
      if ((frame[0]! & 0x0f) !== CLOSE_OPCODE) continue;
      const body = frame.subarray((frame[1]! & 0x7f) === 126 ? 4 : 2);
      return (body[0]! << 8) | body[1]!;
    }
  }

  close(): void {
    this.#connection.close();
  }

  /** Reads until `complete` says how many buffered bytes make a whole unit; returns them. */
  async #readUntil(complete: (bytes: Uint8Array) => number | undefined): Promise<Uint8Array> {
    for (;;) {
      const size = complete(this.#pending);
      if (size !== undefined) {
        const unit = this.#pending.slice(0, size);
        this.#pending = this.#pending.slice(size);
        return unit;
      }
      const buffer = new Uint8Array(1 << 16);
      const read = await this.#connection.read(buffer);
      if (read === null) throw new Error("The connection ended");
      const joined = new Uint8Array(this.#pending.length + read);
      joined.set(this.#pending);
      joined.set(buffer.subarray(0, read), this.#pending.length);
      this.#pending = joined;
    }
  }
}

Deno.test(
  "a client that floods without reading is disconnected by the runtime, and its slot is freed",
  bounded(async () => {
    await using h = await startHarness("websocket", { runtime: { maxConnections: 1 } });
    const url = (h as unknown as { url: string }).url;
    const flooder = await TcpWebSocket.open(url);
    try {
      await flooder.send(JSON.stringify(helloFrame()));
      // Invalid submits, each answered with an error the client never reads.
      const invalid = JSON.stringify({ arcp: "1.1", id: "bad", type: "job.submit", payload: {} });
      for (let n = 0; n < 200_000; n++) {
        // Until the server stops reading (a send that cannot complete) or resets.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const sent = flooder.send(invalid).then(() => true, () => false);
        const stuck = new Promise<boolean>((resolve) => timer = setTimeout(resolve, 2_000, false));
        const going = await Promise.race([sent, stuck]);
        clearTimeout(timer);
        if (!going) break;
      }
      // Only now does the client read: the runtime must already have ended it.
      const code = await within(
        flooder.closeCode(),
        "the runtime to end the flooder's connection",
        30_000,
      );
      assert.ok(code === undefined || code === 1000 || code === 1008, String(code));
      await eventually(() => slotFree(url), "the flooder's slot to be freed");
    } finally {
      flooder.close();
    }
  }, 60_000),
);

/** Whether a new connection is served: a session.hello gets a welcome. */
async function slotFree(url: string): Promise<boolean> {
  const frames = await rawSession(url, helloFrame(), (frames) => frames.length > 0);
  return frames[0]?.type === "session.welcome";
}

Deno.test(
  "over NDJSON byte streams a runtime that is busy stops reading: the peer is held back, nothing piles up",
  bounded(async () => {
    const store = new GatedStore();
    await using runtime = new Runtime({
      authenticate: staticTokens({ ...TOKENS }),
      agents: standardAgents(),
      store,
    });
    const encoder = new TextEncoder();
    const lines = [
      helloFrame(),
      envelope("job.cancel", { job_id: GATED_JOB }),
      ...Array.from({ length: 10_000 }, (_, n) => envelope("session.ping", { nonce: `p${n}` })),
    ];
    // One line per pull: what the runtime's side asked for so far.
    let pulled = 0;
    const readable = new ReadableStream<Uint8Array>({
      pull(controller) {
        const line = lines[pulled++];
        if (line === undefined) controller.close();
        else controller.enqueue(encoder.encode(`${JSON.stringify(line)}\n`));
      },
    }, { highWaterMark: 0 });
    const served = runtime.accept(ndjsonTransport({ readable, writable: new WritableStream() }));
    await store.reached.promise;
    // Give the streams every chance to read ahead while the runtime is stuck.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(pulled < 10, `read ${pulled} lines ahead of a runtime that is not reading`);
    store.release.resolve();
    await served;
    assert.equal(pulled, lines.length + 1, "every line is read once the runtime goes on");
  }),
);
