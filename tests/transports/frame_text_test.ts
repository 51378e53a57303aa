import assert from "node:assert/strict";
import { encodePayload, frameText, keepFrameText } from "../../transports/frame_text.ts";
import type { Frame } from "../../transports/types.ts";
import { eventFrame, largeBody, UNICODE } from "../_wire_text.ts";

Deno.test("encodePayload() returns JSON.stringify of the member, for small, unicode and large ones", () => {
  for (const body of [{ a: 1 }, { text: UNICODE }, largeBody(600), largeBody(2 << 20)]) {
    const payload = { kind: "log", body };
    assert.equal(encodePayload(payload, "body"), JSON.stringify(body));
  }
  assert.equal(encodePayload({ kind: "x", body: undefined }, "body"), undefined);
});

Deno.test("frameText() equals JSON.stringify(frame) for pre-encoded payloads of every size", () => {
  for (const body of [{}, { text: UNICODE }, largeBody(511), largeBody(4096), largeBody(2 << 20)]) {
    const frame = eventFrame(body);
    assert.equal(frameText(frame), JSON.stringify(frame));
  }
});

Deno.test("frameText() follows the frame, not the text: new head fields, a new payload, a copy", () => {
  const frame = eventFrame(largeBody(4096));
  // Sequencing after encoding, and a subscriber's re-stamped copy sharing the payload.
  frame.event_seq = 42;
  frame.session_id = "sess_é";
  assert.equal(frameText(frame), JSON.stringify(frame));
  const copy: Frame = { ...frame, id: "msg_copy", session_id: "sess_2" };
  assert.equal(frameText(copy), JSON.stringify(copy));
  // A frame given another payload (a job's end replaced) is encoded in full.
  frame.payload = { final_status: "error", code: "INTERNAL_ERROR", message: UNICODE };
  assert.equal(frameText(frame), JSON.stringify(frame));
});

Deno.test("frameText() keeps JSON's key order when the payload is not the frame's last member", () => {
  const { payload, ...head } = eventFrame(largeBody(4096));
  const payloadFirst: Frame = { payload, ...head };
  assert.equal(frameText(payloadFirst), JSON.stringify(payloadFirst));
  const memberAfter: Frame = { ...head, payload, extra: "after" };
  assert.equal(frameText(memberAfter), JSON.stringify(memberAfter));
  const alone: Frame = { payload };
  assert.equal(frameText(alone), JSON.stringify(alone));
});

Deno.test("encodePayload() remembers nothing when the member is not the payload's last", () => {
  const body = largeBody(4096);
  const payload: Record<string, unknown> = { body, kind: "log" };
  assert.equal(encodePayload(payload, "body"), JSON.stringify(body));
  const frame: Frame = { type: "job.event", payload };
  assert.equal(frameText(frame), JSON.stringify(frame));
});

Deno.test("encodePayload() and frameText() refuse what JSON cannot carry with a TypeError", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => encodePayload({ body: cyclic }, "body"), TypeError);
  assert.throws(() => encodePayload({ body: 1n }, "body"), TypeError);
  assert.throws(() => frameText({ type: "x", n: 1n }), TypeError);
  const frame = eventFrame(largeBody(4096));
  frame.event_seq = 1n;
  assert.throws(() => frameText(frame), TypeError);
});

Deno.test("frameText() writes the text of encoding time to the first frame, then encodes anew", () => {
  const body = largeBody(4096);
  const frame = eventFrame(body);
  const encoded = JSON.stringify(frame);
  body.lines = ["changed after it was emitted"];
  // The first write splices the text made when the body was encoded...
  assert.equal(frameText(frame), encoded);
  // ...and hands it over: a replay encodes the payload as it is now.
  assert.equal(frameText(frame), JSON.stringify(frame));
  assert.notEqual(frameText(frame), encoded);
});

Deno.test("encodePayload() leaves nothing JSON, a clone or a spread would see", () => {
  const payload = { kind: "log", body: largeBody(4096) };
  encodePayload(payload, "body");
  assert.deepEqual(Object.keys(payload), ["kind", "body"]);
  assert.deepEqual(structuredClone(payload), { kind: "log", body: payload.body });
  const frame: Frame = { type: "job.event", payload: { ...payload } };
  assert.equal(frameText(frame), JSON.stringify(frame));
  const frozen = Object.freeze({ kind: "log", body: largeBody(4096) });
  assert.equal(encodePayload(frozen, "body"), JSON.stringify(frozen.body));
});

Deno.test("keepFrameText() leaves the frame's text for its first write, then frameText() encodes anew", () => {
  const body = largeBody(4096);
  const frame = eventFrame(body);
  const encoded = JSON.stringify(frame);
  assert.equal(keepFrameText(frame), encoded);
  assert.deepEqual(Object.keys(frame), Object.keys(JSON.parse(encoded)));
  body.lines = ["changed after it was stored"];
  // The write after storing sends the stored text, not a new encoding...
  assert.equal(frameText(frame), encoded);
  // ...once: a replay encodes the frame as it is now.
  assert.equal(frameText(frame), JSON.stringify(frame));
  assert.notEqual(frameText(frame), encoded);
  const small: Frame = { type: "job.event", event_seq: 1, payload: { kind: "log", body: {} } };
  assert.equal(keepFrameText(small), JSON.stringify(small));
  assert.equal(frameText(small), JSON.stringify(small));
});

Deno.test("keepFrameText() encodes a frame kept again anew: renumbered after another writer's events", () => {
  const frame = eventFrame(largeBody(4096), 3);
  keepFrameText(frame);
  frame.event_seq = 5;
  assert.equal(keepFrameText(frame), JSON.stringify(frame));
  assert.equal(frameText(frame), JSON.stringify(frame));
});
