// The client against a scripted peer over the memory transport: what it
// sends, and how leniently it reads the runtimes of DIALECTS.md.

import assert from "node:assert/strict";
import { type Client, connect } from "../client.ts";
import { ArcpError, ConnectionClosedError } from "../protocol/errors.ts";
import { memoryTransportPair } from "../transports/memory.ts";
import { type Frame, MalformedFrame, type Transport } from "../transports/types.ts";
import { bounded, within } from "./_helpers.ts";

/** The runtime's end of a memory pair, driven frame by frame by the test. */
class ScriptedPeer {
  readonly #writer: WritableStreamDefaultWriter<Frame>;
  readonly #reader: ReadableStreamDefaultReader<Frame | MalformedFrame>;
  #ids = 0;

  constructor(transport: Transport) {
    this.#writer = transport.writable.getWriter();
    this.#reader = transport.readable.getReader();
  }

  /** The next frame from the client. */
  async read(): Promise<Frame> {
    const { value, done } = await within(this.#reader.read(), "a frame from the client");
    assert.ok(!done, "the client closed the transport");
    assert.ok(!(value instanceof MalformedFrame));
    return value;
  }

  /** The next frame from the client, which must be of `type`. */
  async expect(type: string): Promise<Frame> {
    const frame = await this.read();
    assert.equal(frame.type, type, JSON.stringify(frame));
    return frame;
  }

  /** Resolves once the client has closed its side. */
  async ended(): Promise<void> {
    const { done } = await within(this.#reader.read(), "the client to close");
    assert.ok(done);
  }

  send(type: string, payload: unknown, fields: Record<string, unknown> = {}): Promise<void> {
    return this.#writer.write({
      arcp: "1.1",
      id: `peer_${++this.#ids}`,
      type,
      session_id: "sess_peer",
      ...fields,
      payload,
    });
  }

  sendRaw(frame: unknown): Promise<void> {
    return this.#writer.write(frame as Frame);
  }

  /** Answers a session.hello with a welcome listing `agents`. */
  async welcome(agents: unknown[] = [], features: string[] = ["progress"]): Promise<Frame> {
    const hello = await this.expect("session.hello");
    await this.send("session.welcome", {
      runtime: { name: "scripted", version: "0.0.1" },
      resume_token: "rt_scripted",
      resume_window_sec: 60,
      capabilities: { encodings: ["json"], features, agents },
    });
    return hello;
  }

  /** Accepts the next job.submit as `jobId`, echoing its id unless told not to. */
  async accept(jobId: string, options: { echoRequestId?: boolean } = {}): Promise<Frame> {
    const submit = await this.expect("job.submit");
    const payload: Record<string, unknown> = { job_id: jobId, lease: {} };
    if (options.echoRequestId !== false) payload.request_id = submit.id;
    await this.send("job.accepted", payload, { job_id: jobId });
    return submit;
  }

  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await this.#reader.cancel().catch(() => {});
  }
}

/** A client connected to a scripted peer that has answered its hello. */
async function connected(
  agents: unknown[] = [],
): Promise<{ client: Client; peer: ScriptedPeer; hello: Frame } & AsyncDisposable> {
  const [clientSide, peerSide] = memoryTransportPair();
  const peer = new ScriptedPeer(peerSide);
  const [client, hello] = await Promise.all([
    connect(clientSide, { token: "t-alice" }),
    peer.welcome(agents),
  ]);
  return {
    client,
    peer,
    hello,
    async [Symbol.asyncDispose]() {
      const closing = client.close();
      await peer.close();
      await closing;
    },
  };
}

Deno.test(
  "connect() sends session.hello with the bearer token, client identity and features",
  bounded(async () => {
    await using session = await connected();
    const { hello, client } = session;
    assert.equal(hello.arcp, "1.1");
    assert.match(hello.id as string, /^msg_/);
    assert.equal(hello.session_id, undefined);
    const payload = hello.payload as Record<string, { [key: string]: unknown }>;
    assert.deepEqual(payload.auth, { scheme: "bearer", token: "t-alice" });
    assert.deepEqual(payload.client, { name: "@arcp/arcp", version: "0.1.0" });
    assert.deepEqual(payload.capabilities!.encodings, ["json"]);
    assert.deepEqual([...payload.capabilities!.features as string[]].sort(), [
      "ack",
      "agent_versions",
      "cost.budget",
      "heartbeat",
      "lease_expires_at",
      "list_jobs",
      "model.use",
      "progress",
      "provisioned_credentials",
      "result_chunk",
      "subscribe",
    ]);
    assert.equal(client.sessionId, "sess_peer");
    assert.deepEqual([...client.features], ["progress"]);
  }),
);

Deno.test(
  "connect() without a token sends auth with the scheme only",
  bounded(async () => {
    const [clientSide, peerSide] = memoryTransportPair();
    const peer = new ScriptedPeer(peerSide);
    const connecting = connect(clientSide);
    const hello = await peer.expect("session.hello");
    assert.deepEqual((hello.payload as { auth: unknown }).auth, { scheme: "bearer" });
    await peer.send("session.error", {
      code: "UNAUTHENTICATED",
      message: "Missing bearer token",
      retryable: false,
    });
    await assert.rejects(connecting, (error: unknown) => {
      assert.ok(error instanceof ArcpError);
      assert.equal(error.code, "UNAUTHENTICATED");
      assert.equal(error.message, "Missing bearer token");
      return true;
    });
    await peer.close();
  }),
);

Deno.test(
  "connect() rejects with ConnectionClosedError when the transport closes before welcome",
  bounded(async () => {
    const [clientSide, peerSide] = memoryTransportPair();
    const peer = new ScriptedPeer(peerSide);
    const connecting = connect(clientSide, { token: "t" });
    await peer.expect("session.hello");
    await peer.close();
    await assert.rejects(connecting, ConnectionClosedError);
  }),
);

Deno.test(
  "connect() rejects with ConnectionClosedError when no welcome comes within handshakeTimeoutMs",
  bounded(async () => {
    const [clientSide, peerSide] = memoryTransportPair();
    const peer = new ScriptedPeer(peerSide);
    const connecting = connect(clientSide, { token: "t", handshakeTimeoutMs: 20 });
    await peer.expect("session.hello");
    await assert.rejects(connecting, (error: unknown) => {
      assert.ok(error instanceof ConnectionClosedError);
      assert.match(error.message, /20 ms/);
      return true;
    });
    await peer.close();
  }),
);

Deno.test(
  "connect() rejects with the signal's reason when aborted during the handshake",
  bounded(async () => {
    const [clientSide, peerSide] = memoryTransportPair();
    const peer = new ScriptedPeer(peerSide);
    const controller = new AbortController();
    const connecting = connect(clientSide, { token: "t", signal: controller.signal });
    await peer.expect("session.hello");
    const reason = new Error("user gave up");
    controller.abort(reason);
    await assert.rejects(connecting, (error) => error === reason);
    await peer.close();
  }),
);

Deno.test(
  "connect() skips malformed frames and vendor messages before the welcome",
  bounded(async () => {
    const [clientSide, peerSide] = memoryTransportPair();
    const peer = new ScriptedPeer(peerSide);
    const connecting = connect(clientSide, { token: "t" });
    await peer.expect("session.hello");
    await peer.sendRaw([1, 2]);
    await peer.send("x-acme.banner", { text: "hi" });
    await peer.send("session.welcome", {
      runtime: { name: "r", version: "1" },
      resume_token: "rt_1",
      resume_window_sec: 60,
      capabilities: {},
    });
    const client = await connecting;
    assert.equal(client.sessionId, "sess_peer");
    const closing = client.close();
    await peer.close();
    await closing;
  }),
);

Deno.test(
  "client.agents normalises a 1.0 string inventory to the rich form",
  bounded(async () => {
    await using session = await connected([
      "legacy",
      { name: "echo", versions: ["1.0.0", "2.0.0"], default: "2.0.0" },
    ]);
    assert.deepEqual(session.client.agents, [
      { name: "legacy", versions: [] },
      { name: "echo", versions: ["1.0.0", "2.0.0"], default: "2.0.0" },
    ]);
  }),
);

Deno.test(
  "submit() sends job.submit with the session id and every option",
  bounded(async () => {
    await using session = await connected();
    const { client, peer } = session;
    const submitting = client.submit("echo@1.0.0", { a: 1 }, {
      leaseRequest: { "fs.read": ["/tmp/**"] },
      leaseConstraints: { expires_at: "2030-01-01T00:00:00Z" },
      idempotencyKey: "key-1",
      maxRuntimeSec: 30,
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    });
    const submit = await peer.accept("job_1");
    await submitting;
    assert.equal(submit.session_id, "sess_peer");
    assert.equal(submit.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert.deepEqual(submit.payload, {
      agent: "echo@1.0.0",
      input: { a: 1 },
      lease_request: { "fs.read": ["/tmp/**"] },
      lease_constraints: { expires_at: "2030-01-01T00:00:00Z" },
      idempotency_key: "key-1",
      max_runtime_sec: 30,
    });
  }),
);

Deno.test(
  "submit() matches job.accepted to its request by request_id, whatever the order",
  bounded(async () => {
    await using session = await connected();
    const { client, peer } = session;
    const first = client.submit("a");
    const second = client.submit("b");
    const submitA = await peer.expect("job.submit");
    const submitB = await peer.expect("job.submit");
    await peer.send("job.accepted", { job_id: "job_b", lease: {}, request_id: submitB.id });
    await peer.send("job.accepted", { job_id: "job_a", lease: {}, request_id: submitA.id });
    assert.equal((await first).jobId, "job_a");
    assert.equal((await second).jobId, "job_b");
  }),
);

Deno.test(
  "submit() falls back to request order for peers that echo no request_id",
  bounded(async () => {
    await using session = await connected();
    const { client, peer } = session;
    const first = client.submit("a");
    const second = client.submit("b");
    await peer.accept("job_1", { echoRequestId: false });
    await peer.expect("job.submit");
    await peer.send("session.error", { code: "AGENT_NOT_AVAILABLE", message: "No b" });
    assert.equal((await first).jobId, "job_1");
    await assert.rejects(second, (error: unknown) => {
      assert.ok(error instanceof ArcpError);
      assert.equal(error.code, "AGENT_NOT_AVAILABLE");
      return true;
    });
  }),
);

Deno.test(
  "a job's events go to its handle, and job.result settles it, output accepted as result",
  bounded(async () => {
    await using session = await connected();
    const { client, peer } = session;
    const submitting = client.submit("go");
    await peer.accept("job_1");
    const job = await submitting;
    const event = (seq: number, jobId = "job_1") =>
      peer.send(
        "job.event",
        { kind: "log", ts: "2026-01-01T00:00:00Z", body: { level: "info", message: `m${seq}` } },
        { job_id: jobId, event_seq: seq },
      );
    await event(1);
    await event(2, "job_unknown");
    await event(3);
    await peer.send("job.result", { final_status: "success", output: { go: "style" } }, {
      job_id: "job_1",
      event_seq: 4,
    });
    await event(5); // after the terminal event: dropped
    const messages: unknown[] = [];
    for await (const e of job) messages.push(e.payload.body.message);
    assert.deepEqual(messages, ["m1", "m3"]);
    assert.deepEqual((await job.result).result, { go: "style" });
    assert.equal(job.done, true);
  }),
);

Deno.test(
  "job.error rejects the handle's result with an ArcpError and closes its events",
  bounded(async () => {
    await using session = await connected();
    const { client, peer } = session;
    const submitting = client.submit("go");
    await peer.accept("job_1");
    const job = await submitting;
    await peer.send("job.error", {
      final_status: "error",
      code: "BUDGET_EXHAUSTED",
      message: "USD budget spent",
      retryable: true,
      details: { currency: "USD" },
    }, { job_id: "job_1", event_seq: 1 });
    await assert.rejects(job.result, (error: unknown) => {
      assert.ok(error instanceof ArcpError);
      assert.equal(error.code, "BUDGET_EXHAUSTED");
      assert.equal(error.retryable, false, "§12 overrides what the peer sent");
      assert.deepEqual(error.details, { currency: "USD" });
      return true;
    });
    assert.equal((await job.events.getReader().read()).done, true);
  }),
);

Deno.test(
  "cancel() sends job.cancel for the job and resolves on job.cancelled",
  bounded(async () => {
    await using session = await connected();
    const { client, peer } = session;
    const submitting = client.submit("go");
    await peer.accept("job_1");
    const job = await submitting;
    const cancelling = job.cancel({ reason: "no longer needed" });
    const cancel = await peer.expect("job.cancel");
    assert.equal(cancel.job_id, "job_1");
    assert.equal(cancel.session_id, "sess_peer");
    assert.deepEqual(cancel.payload, { reason: "no longer needed" });
    await peer.send("job.cancelled", { reason: "no longer needed" }, { job_id: "job_1" });
    await cancelling;
    await peer.send("job.error", {
      final_status: "cancelled",
      code: "CANCELLED",
      message: "no longer needed",
      retryable: false,
    }, { job_id: "job_1", event_seq: 1 });
    await assert.rejects(job.result, (error: unknown) => (error as ArcpError).code === "CANCELLED");
  }),
);

Deno.test(
  "the client answers session.ping with session.pong echoing the nonce",
  bounded(async () => {
    await using session = await connected();
    const { client, peer } = session;
    await peer.send("session.ping", { nonce: "p-42", sent_at: "2026-01-01T00:00:00Z" });
    const pong = await peer.expect("session.pong");
    assert.equal(pong.session_id, client.sessionId);
    assert.equal((pong.payload as { ping_nonce: string }).ping_nonce, "p-42");
  }),
);

Deno.test(
  "close() ends with session.close even when a 1.0 peer answers it with session.error",
  bounded(async () => {
    const { client, peer } = await connected();
    const closing = client.close();
    const close = await peer.expect("session.close");
    assert.equal(close.session_id, "sess_peer");
    await peer.send("session.error", {
      code: "INVALID_REQUEST",
      message: "Unknown message type",
      request_id: close.id,
    });
    await peer.ended();
    await closing;
    await peer.close();
  }),
);

Deno.test(
  "a lost connection rejects pending submits and open jobs with ConnectionClosedError",
  bounded(async () => {
    const { client, peer } = await connected();
    const submitting = client.submit("go");
    await peer.accept("job_1");
    const job = await submitting;
    const pending = client.submit("never-answered");
    await peer.expect("job.submit");
    await peer.close();
    await assert.rejects(pending, ConnectionClosedError);
    await assert.rejects(job.result, ConnectionClosedError);
    await assert.rejects(job.events.getReader().read(), ConnectionClosedError);
    await assert.rejects(client.submit("late"), ConnectionClosedError);
    await client.close();
  }),
);
