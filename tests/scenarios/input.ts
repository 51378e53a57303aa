// Scenarios about what the runtime receives: bad frames, limits, versions, tracing.

import assert from "node:assert/strict";
import {
  envelope,
  helloFrame,
  ISO_UTC,
  type RawConnection,
  startHarness,
  TOKEN,
  type TransportKind,
} from "../_helpers.ts";
import { assertSessionWorks, inSession, isTerminal, payloadOf } from "./_shared.ts";

// 8. Bad input ------------------------------------------------------------------

interface BadFrame {
  name: string;
  send(raw: RawConnection): Promise<string | undefined>;
  message: RegExp;
  field?: string;
}

function badFrame(name: string, frame: unknown, message: RegExp, field?: string): BadFrame {
  const id = typeof frame === "object" && frame !== null && "id" in frame
    ? (frame as { id: unknown }).id
    : undefined;
  return {
    name,
    message,
    ...(field === undefined ? {} : { field }),
    async send(raw) {
      await raw.send(frame);
      return typeof id === "string" ? id : undefined;
    },
  };
}

function badFrames(raw: RawConnection): BadFrame[] {
  const frames: BadFrame[] = [
    badFrame("a JSON array", [1, 2], /JSON object/),
    badFrame("a JSON number", 42, /JSON object/),
    badFrame("JSON null", null, /JSON object/),
    badFrame(
      "a frame without payload",
      inSession(raw, { arcp: "1.1", id: "m-nopayload", type: "job.submit" }),
      /"payload" must be an object/,
    ),
    badFrame(
      "a mistyped field",
      inSession(raw, envelope("job.submit", { agent: 5 })),
      /payload\.agent/,
      "payload.agent",
    ),
    badFrame(
      "an unknown session message type",
      inSession(raw, envelope("session.nope", {})),
      /session\.nope/,
    ),
    badFrame("an unknown job message type", inSession(raw, envelope("job.nope", {})), /job\.nope/),
    // Names an object inherits are not message types either.
    ...["constructor", "toString", "__proto__"].map((type) =>
      badFrame(`a type named "${type}"`, inSession(raw, envelope(type, {})), /Unknown message type/)
    ),
    badFrame(
      "an unsupported protocol version",
      inSession(raw, { ...envelope("job.submit", { agent: "echo" }), arcp: "2" }),
      /"2"/,
    ),
    badFrame(
      "a frame without arcp",
      inSession(raw, { id: "m-noarcp", type: "job.submit", payload: { agent: "echo" } }),
      /"arcp"/,
    ),
    badFrame(
      "a frame without id",
      inSession(raw, { arcp: "1.1", type: "job.submit", payload: { agent: "echo" } }),
      /"id"/,
    ),
    badFrame(
      "a runtime-only message type",
      inSession(raw, envelope("job.result", { final_status: "success", result: 1 })),
      /runtimes/,
    ),
    badFrame("a second hello", inSession(raw, helloFrame()), /already established/),
    badFrame("a cancel naming no job", inSession(raw, envelope("job.cancel", {})), /job_id/),
  ];
  if (raw.sendsText) {
    frames.unshift({
      name: "unparseable JSON",
      message: /not valid JSON/,
      async send(raw) {
        await raw.sendText('{"arcp":"1.1","id":"m-broken",');
        return undefined;
      },
    });
  }
  return frames;
}

export async function badFramesAreAnsweredAndTheSessionCarriesOn(
  kind: TransportKind,
): Promise<void> {
  await using h = await startHarness(kind);
  const raw = await h.raw();
  await raw.hello();
  for (const bad of badFrames(raw)) {
    const requestId = await bad.send(raw);
    const error = await raw.expectError("INVALID_REQUEST");
    assert.equal(error.request_id, requestId, `request_id for ${bad.name}`);
    assert.match(error.message as string, bad.message, bad.name);
    assert.equal(error.retryable, false, bad.name);
    if (bad.field !== undefined) {
      assert.equal((error.details as { field: string }).field, bad.field, bad.name);
    }
    await assertSessionWorks(raw);
  }
}

export async function oversizedFramesAreRefusedAndTheSessionCarriesOn(
  kind: TransportKind,
): Promise<void> {
  await using h = await startHarness(kind, { maxFrameBytes: 4096 });
  const raw = await h.raw();
  await raw.hello();
  await raw.submit("echo", "x".repeat(5000));
  const error = await raw.expectError("INVALID_REQUEST");
  assert.match(error.message as string, /4096-byte limit/);
  assert.equal(error.request_id, undefined, "an unparsed frame has no id to echo");
  await assertSessionWorks(raw);
  // Just under the cap still passes.
  const frames = await raw.run("echo", "y".repeat(3000));
  assert.equal(frames.at(-1)!.type, "job.result");
}

export async function protocolVersionsOneAndOneOneAreAccepted(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind);
  for (const version of ["1", "1.1"]) {
    const raw = await h.raw();
    await raw.hello(TOKEN, { arcp: version });
    const submit = inSession(raw, {
      ...envelope("job.submit", { agent: "echo", input: version }),
      arcp: version,
    });
    await raw.send(submit);
    const accepted = await raw.expect("job.accepted");
    assert.equal(payloadOf(accepted).request_id, submit.id);
    const result = await raw.expect("job.result");
    assert.deepEqual(payloadOf(result).result, { echoed: version, version: "2.0.0" });
  }
}

export async function ignorableInputIsIgnoredAndPingIsAnswered(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind);
  const raw = await h.raw();
  await raw.hello();
  // Vendor message types, pong and ack draw no answer.
  await raw.request("x-acme.hint", { anything: true });
  await raw.request("session.pong", { ping_nonce: "n0" });
  await raw.request("session.ack", { last_processed_seq: 0 });
  // Unknown envelope and payload fields are ignored (spec §5).
  const submit = inSession(raw, {
    ...envelope("job.submit", { agent: "echo", input: 1, x_extra: { a: 1 } }),
    x_top_level: "ignored",
  });
  await raw.send(submit);
  const accepted = await raw.expect("job.accepted");
  assert.equal(payloadOf(accepted).request_id, submit.id);
  await raw.expect("job.result");

  const pingId = await raw.request("session.ping", {
    nonce: "p-1",
    sent_at: new Date().toISOString(),
  });
  const pong = await raw.expect("session.pong");
  assert.equal(payloadOf(pong).ping_nonce, "p-1");
  assert.match(payloadOf(pong).received_at as string, ISO_UTC);
  assert.equal(pong.session_id, raw.sessionId);
  assert.notEqual(pong.id, pingId);
}

export async function traceContextIsPropagatedToEveryJobFrame(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind);
  const raw = await h.raw();
  await raw.hello();
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  await raw.submit("echo", 1, {});
  const [generated] = await raw.until((f) => f.type === "job.accepted");
  assert.match(generated!.trace_id as string, /^[0-9a-f]{32}$/, "a trace-id is minted when absent");
  await raw.until(isTerminal);

  const traced = inSession(raw, {
    ...envelope("job.submit", { agent: "echo", input: 2 }),
    trace_id: `00-${traceId.toUpperCase()}-00f067aa0ba902b7-01`,
  });
  await raw.send(traced);
  const frames = await raw.until(isTerminal);
  assert.deepEqual(frames.map((f) => f.type), ["job.accepted", "job.result"]);
  for (const frame of frames) assert.equal(frame.trace_id, traceId, frame.type as string);
  assert.equal(payloadOf(frames[0]!).trace_id, traceId);

  const bad = inSession(raw, { ...envelope("job.submit", { agent: "echo" }), trace_id: "nope" });
  await raw.send(bad);
  const error = await raw.expectError("INVALID_REQUEST");
  assert.equal(error.request_id, bad.id);
  assert.match(error.message as string, /trace_id/);
}
