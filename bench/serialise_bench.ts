/**
 * Serialise-once micro-benchmark: the cost of putting one `job.event` on the
 * wire, as the runtime did (the body encoded to measure it, then the whole
 * frame encoded by the transport) against as it does (the body
 * encoded once to measure it and, when long, its text spliced into the
 * frame's by `frameText`).
 *
 * Run with `deno bench bench/serialise_bench.ts`. Each group is one body size:
 * the `log` body of `ctx.log("info", "event 12345")`, then bodies of about
 * 256 B, 512 B, 1 KiB and 64 KiB of mixed ASCII and non-ASCII text in nested objects.
 * A second group per size adds a Deno KV store's write: the event measured and
 * serialized by V8 as an object, as the KV log did, against its text kept from
 * the store for the transport (`keepFrameText`) and stored as UTF-8 bytes, as
 * it does (`node:v8` `serialize` stands for the KV's own serializer).
 *
 * @module
 */

import { serialize } from "node:v8";
import { encodePayload, frameText, keepFrameText } from "../transports/frame_text.ts";
import { serializedSizeBound } from "../store/_kv_size.ts";

function envelope(payload: Record<string, unknown>, seq: number): Record<string, unknown> {
  return {
    arcp: "1.1",
    id: "msg_01JBX5Q4Z6R8W9Y3T2V1N0M7K5",
    type: "job.event",
    session_id: "sess_01JBX5Q4Z6R8W9Y3T2V1N0M7K5",
    job_id: "job_01JBX5Q4Z6R8W9Y3T2V1N0M7K5",
    trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
    event_seq: seq,
    payload,
  };
}

function bodyOf(bytes: number): Record<string, unknown> {
  const items = [];
  for (let i = 0; items.length * 64 < bytes; i++) {
    items.push({ i, text: `line ${i}: café ☕ naïve résumé`, ok: i % 2 === 0 });
  }
  return { items };
}

const BODIES: [string, Record<string, unknown>][] = [
  ["log body", { level: "info", message: "event 12345" }],
  ["256 B body", bodyOf(256)],
  ["512 B body", bodyOf(512)],
  ["1 KiB body", bodyOf(1024)],
  ["64 KiB body", bodyOf(64 * 1024)],
];

const TS = "2026-01-01T00:00:00.000Z";
let seq = 0;
let sink = 0;
const encoder = new TextEncoder();

for (const [name, body] of BODIES) {
  Deno.bench(`${name}: stringify twice (size check, then transport)`, {
    group: name,
    baseline: true,
  }, () => {
    sink += JSON.stringify(body).length;
    const frame = envelope({ kind: "log", ts: TS, body }, ++seq);
    sink += JSON.stringify(frame).length;
  });
  Deno.bench(`${name}: encode body once, splice into frame`, { group: name }, () => {
    const payload = { kind: "log", ts: TS, body };
    sink += encodePayload(payload, "body")!.length;
    sink += frameText(envelope(payload, ++seq)).length;
  });
  const kv = `${name} on Deno KV`;
  Deno.bench(`${kv}: stored as an object (V8), then the transport's text`, {
    group: kv,
    baseline: true,
  }, () => {
    const payload = { kind: "log", ts: TS, body };
    sink += encodePayload(payload, "body")!.length;
    const frame = envelope(payload, ++seq);
    sink += serializedSizeBound(frame, 65_536) + serialize(frame).length;
    sink += frameText(frame).length;
  });
  Deno.bench(`${kv}: stored as the transport's text (UTF-8)`, { group: kv }, () => {
    const payload = { kind: "log", ts: TS, body };
    sink += encodePayload(payload, "body")!.length;
    const frame = envelope(payload, ++seq);
    sink += encoder.encode(keepFrameText(frame)).length;
    sink += frameText(frame).length;
  });
}

globalThis.addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
});
