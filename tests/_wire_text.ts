// Frames whose payload was encoded ahead (as the runtime encodes event
// bodies), for tests that the text on the wire is exactly their JSON.

import { encodePayload } from "../transports/frame_text.ts";
import type { Frame } from "../transports/types.ts";

/** Text that JSON escapes or that takes several UTF-8 bytes: quotes, controls, accents, emoji. */
export const UNICODE = 'café ☕ "quoted" \\ back\nslash\ttab \u0001 naïve 𝄞 ﷺ \u2028 🧪';

/** A body of about `chars` characters of JSON, mostly {@linkcode UNICODE}. */
export function largeBody(chars: number): Record<string, unknown> {
  const lines: string[] = [];
  for (let size = 0; size < chars; size += UNICODE.length + 16) {
    lines.push(`${lines.length} ${UNICODE}`);
  }
  return { lines, nested: { deep: [{ text: UNICODE, n: -0.5e-7, ok: true, none: null }] } };
}

/** A `job.event` envelope built as the runtime builds it, in wire order. */
export function eventFrame(body: unknown, seq = 1): Frame {
  const payload = { kind: "log", ts: "2026-01-01T00:00:00.000Z", body };
  encodePayload(payload, "body");
  return {
    arcp: "1.1",
    id: `msg_${seq}`,
    type: "job.event",
    session_id: "sess_1",
    job_id: "job_1",
    trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
    event_seq: seq,
    payload,
  };
}
