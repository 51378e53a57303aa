// This module is browser compatible.
/**
 * The JSON text of a frame, encoding each payload once. A sender that has to
 * encode a payload's body anyway (to measure it against a cap) does so with
 * {@linkcode encodePayload}; every transport writes {@linkcode frameText},
 * which splices that text into the frame's instead of encoding the body a
 * second time. The text always equals `JSON.stringify(frame)` for the payload
 * as it was when encoded: the remembered text belongs to that payload object,
 * so a frame given another payload is encoded in full.
 *
 * @module
 */

import type { Frame } from "./types.ts";

/** Payload objects and their JSON text, as {@linkcode encodePayload} made it. */
const texts = new WeakMap<object, string>();

const PAYLOAD = "payload";

/**
 * Length of a member's text from which splicing beats encoding the frame
 * anew: below it, building the frame's text from parts costs more than the
 * second encoding it saves (see bench/serialise_bench.ts).
 */
const SPLICE_MIN_CHARS = 512;

/**
 * Encodes the last member of a payload, the one whose size the sender must
 * check (an event's body, a result), and returns its JSON text. When the text
 * is long, the payload's text is remembered for {@linkcode frameText}, so the
 * frame carrying the payload is written without encoding that member again.
 * The payload must not change afterwards: frames carrying it are written with
 * the text of this moment.
 *
 * @param payload A frame's payload.
 * @param key Its last member (JSON keeps key order, so only the last can be
 *   spliced; for any other key the text is returned and nothing remembered).
 * @returns `JSON.stringify(payload[key])`, `undefined` when that is.
 * @throws {TypeError} when the member does not encode as JSON (a `bigint`
 *   or a cycle).
 * @example Encode the body once, write the same text
 * ```ts
 * import { encodePayload, frameText } from "@arcp/arcp/transports/memory";
 * import assert from "node:assert/strict";
 *
 * const payload = { kind: "log", body: { message: "café ☕ ".repeat(100) } };
 * assert.equal(encodePayload(payload, "body"), JSON.stringify(payload.body));
 * const frame = { type: "job.event", event_seq: 3, payload };
 * assert.equal(frameText(frame), JSON.stringify(frame));
 * ```
 */
export function encodePayload<P extends object>(
  payload: P,
  key: keyof P & string,
): string | undefined {
  const text: string | undefined = JSON.stringify(payload[key]);
  if (text === undefined || text.length < SPLICE_MIN_CHARS) return text;
  if ("toJSON" in payload || !isLast(payload, key)) return text;
  const { [key]: _, ...head } = payload;
  const headText = encode(head as Record<string, unknown>);
  texts.set(payload, splice(headText, key, text));
  return text;
}

/**
 * The JSON text of a frame, as every transport sends it: equal to
 * `JSON.stringify(frame)`, with the text of a payload encoded by
 * {@linkcode encodePayload} spliced in rather than encoded again. Only the
 * frame's other members, a few short strings and numbers, are encoded here.
 *
 * @param frame The frame to send.
 * @returns Its JSON text.
 * @throws {TypeError} when the frame does not encode as JSON (a `bigint` or
 *   a cycle).
 * @example
 * ```ts
 * import { frameText } from "@arcp/arcp/transports/memory";
 * import assert from "node:assert/strict";
 *
 * assert.equal(frameText({ type: "session.ping", payload: {} }), '{"type":"session.ping","payload":{}}');
 * ```
 */
export function frameText(frame: Frame): string {
  // Typed a Frame, but a test or a misbehaving caller may write any value.
  const payload = (frame as Frame | null)?.[PAYLOAD];
  const payloadText = typeof payload === "object" && payload !== null
    ? texts.get(payload)
    : undefined;
  if (payloadText === undefined || !splices(frame)) return encode(frame);
  const { [PAYLOAD]: _, ...head } = frame;
  return splice(encode(head), PAYLOAD, payloadText);
}

/** The text of an object from that of all its members but the last, `key`, and that member's text. */
function splice(headText: string, key: string, text: string): string {
  // The head's closing brace gives way to the member it lacks.
  const member = `${JSON.stringify(key)}:${text}}`;
  return headText.length === 2 ? `{${member}` : `${headText.slice(0, -1)},${member}`;
}

/**
 * Whether splicing gives `JSON.stringify(frame)` exactly: JSON writes an
 * object's members in key order, so the payload must be the last of them,
 * and a frame with its own `toJSON` is encoded as whatever that returns.
 */
function splices(frame: Frame): boolean {
  return !("toJSON" in frame) && isLast(frame, PAYLOAD);
}

function isLast(value: object, key: string): boolean {
  const keys = Object.keys(value);
  return keys[keys.length - 1] === key;
}

function encode(value: Record<string, unknown>): string {
  const text: unknown = JSON.stringify(value);
  if (typeof text !== "string") {
    throw new TypeError("Cannot encode a frame: it does not serialise to JSON");
  }
  return text;
}
