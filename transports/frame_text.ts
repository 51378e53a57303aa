// This module is browser compatible.
/**
 * The JSON text of a frame, encoding each payload once. A sender that has to
 * encode a payload's body anyway (to measure it against a cap) does so with
 * {@linkcode encodePayload}; every transport writes {@linkcode frameText},
 * which splices that text into the frame's instead of encoding the body a
 * second time. The text always equals `JSON.stringify(frame)` for the payload
 * as it was when encoded: the text is held by that payload object, so a frame
 * given another payload is encoded in full, and it is handed over once, to
 * the first frame written with it. A store that keeps the frame as text
 * ({@linkcode keepFrameText}) leaves that text on the frame for the same
 * first write.
 *
 * @module
 */

import type { Frame } from "./types.ts";

/**
 * Where a payload holds its JSON text until a transport writes it: a
 * property JSON, structured clones and spreads all skip (a symbol, not
 * enumerable). Held on the payload, not in a `WeakMap`, whose entries cost
 * every garbage collection; and held only until written, not for as long as
 * the payload is logged.
 */
const TEXT: unique symbol = Symbol("arcp.payloadText");

/** A payload {@linkcode encodePayload} may have given its text, or a frame {@linkcode keepFrameText} did. */
interface Carrier {
  [TEXT]?: string | undefined;
}

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
 * The payload must not change afterwards: the first frame written with it
 * carries the text of this moment (later ones are encoded anew, the text not
 * being kept once written).
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
  if ("toJSON" in payload || !Object.isExtensible(payload) || !isLast(payload, key)) return text;
  const { [key]: _, ...head } = payload;
  const headText = encode(head as Record<string, unknown>);
  Object.defineProperty(payload, TEXT, {
    value: splice(headText, key, text),
    writable: true,
    enumerable: false,
  });
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
  const kept = (frame as Carrier | null)?.[TEXT];
  if (kept !== undefined) {
    (frame as Carrier)[TEXT] = undefined;
    return kept;
  }
  const payload = (frame as Frame | null)?.[PAYLOAD];
  const carrier = typeof payload === "object" && payload !== null ? payload as Carrier : undefined;
  const payloadText = carrier?.[TEXT];
  if (payloadText === undefined || !splices(frame)) return encode(frame);
  // Handed over once: a frame written again (a replay, a subscriber's copy)
  // is encoded in full rather than keep every logged payload's text alive.
  carrier![TEXT] = undefined;
  const { [PAYLOAD]: _, ...head } = frame;
  return splice(encode(head), PAYLOAD, payloadText);
}

/**
 * {@linkcode frameText}, for a store that keeps each frame as its JSON text:
 * the text is also left on the frame, for the first transport that writes
 * it, so an event stored and then sent is encoded once. The frame must not
 * change until written, unless it is kept again (stored anew) after the
 * change.
 *
 * @param frame A frame about to be stored, then written.
 * @returns Its JSON text.
 * @throws {TypeError} when the frame does not encode as JSON.
 */
export function keepFrameText(frame: Frame): string {
  // Stored again (a retry, or renumbered after another writer's events):
  // the frame may have changed since its text was kept.
  if ((frame as Carrier)[TEXT] !== undefined) (frame as Carrier)[TEXT] = undefined;
  const text = frameText(frame);
  if (Object.isExtensible(frame)) {
    Object.defineProperty(frame, TEXT, { value: text, writable: true, enumerable: false });
  }
  return text;
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
