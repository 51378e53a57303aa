import assert from "node:assert/strict";
import { MalformedFrame, ndjsonDecoder, ndjsonEncoder } from "../../transports/ndjson.ts";
import type { Frame } from "../../transports/types.ts";
import { eventFrame, largeBody, UNICODE } from "../_wire_text.ts";

const utf8 = new TextEncoder();

/** Decodes `chunks` (strings are UTF-8 encoded) and collects every output. */
function decode(
  chunks: (string | Uint8Array)[],
  maxFrameBytes?: number,
): Promise<(Frame | MalformedFrame)[]> {
  const bytes = chunks.map((chunk) => typeof chunk === "string" ? utf8.encode(chunk) : chunk);
  const options = maxFrameBytes === undefined ? {} : { maxFrameBytes };
  return Array.fromAsync(ReadableStream.from(bytes).pipeThrough(ndjsonDecoder(options)));
}

/** Splits `bytes` into chunks of `size` bytes. */
function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

function assertMalformed(value: unknown, reason: RegExp): void {
  assert.ok(value instanceof MalformedFrame, `expected a MalformedFrame, got ${String(value)}`);
  assert.match(value.reason, reason);
}

Deno.test("ndjsonDecoder() parses lines split across chunks at every byte", async () => {
  const frames = [{ a: 1 }, { text: "héllo ✓ 𝄞 日本" }, { nested: { list: [1, 2, 3] } }];
  const bytes = utf8.encode(frames.map((frame) => JSON.stringify(frame) + "\n").join(""));
  for (const size of [1, 2, 3, 5, 7, bytes.length]) {
    assert.deepEqual(await decode(chunked(bytes, size)), frames, `chunk size ${size}`);
  }
});

Deno.test("ndjsonDecoder() joins a multi-byte character split between chunks", async () => {
  const bytes = utf8.encode('{"s":"𝄞é"}\n');
  const clef = bytes.indexOf(0xf0);
  // Cut inside the 4-byte clef and inside the 2-byte é.
  const chunks = [
    bytes.subarray(0, clef + 1),
    bytes.subarray(clef + 1, clef + 3),
    bytes.subarray(clef + 3, clef + 5),
    bytes.subarray(clef + 5),
  ];
  assert.deepEqual(await decode(chunks), [{ s: "𝄞é" }]);
});

Deno.test("ndjsonDecoder() accepts CRLF endings, even with CR and LF in separate chunks", async () => {
  assert.deepEqual(await decode(['{"a":1}\r\n{"b":2}\r', '\n{"c":3}\r\n']), [
    { a: 1 },
    { b: 2 },
    { c: 3 },
  ]);
});

Deno.test("ndjsonDecoder() skips empty and blank lines", async () => {
  assert.deepEqual(await decode(['\n\n{"a":1}\n\r\n  \n', '\n{"b":2}\n\n']), [{ a: 1 }, { b: 2 }]);
});

Deno.test("ndjsonDecoder() parses an unterminated last line when the input ends", async () => {
  assert.deepEqual(await decode(['{"a":1}\n{"b"', ":2}"]), [{ a: 1 }, { b: 2 }]);
});

Deno.test("ndjsonDecoder() delivers invalid JSON as MalformedFrame and goes on", async () => {
  const out = await decode(['{"a":1}\n{not json\n{"b":', '2}\n{"c":3}']);
  assert.equal(out.length, 4);
  assert.deepEqual(out[0], { a: 1 });
  assertMalformed(out[1], /not valid JSON/);
  assert.deepEqual(out.slice(2), [{ b: 2 }, { c: 3 }]);
});

Deno.test("ndjsonDecoder() delivers non-object JSON values as MalformedFrame", async () => {
  const out = await decode(['[1,2]\n42\n"text"\nnull\ntrue\n{"ok":1}\n']);
  assert.equal(out.length, 6);
  for (const value of out.slice(0, 5)) assertMalformed(value, /not a JSON object/);
  assert.deepEqual(out[5], { ok: 1 });
});

Deno.test("ndjsonDecoder() delivers a line that is not UTF-8 as MalformedFrame", async () => {
  const out = await decode([new Uint8Array([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), '{"ok":1}\n']);
  assertMalformed(out[0], /not valid UTF-8/);
  assert.deepEqual(out[1], { ok: 1 });
});

Deno.test("ndjsonDecoder() refuses an over-long line once and parses the next line", async () => {
  const long = JSON.stringify({ data: "x".repeat(1000) });
  // Fed in small chunks: the refusal must come before the line ends.
  const bytes = utf8.encode(`{"a":1}\n${long}\n{"b":2}\n`);
  const out = await decode(chunked(bytes, 16), 64);
  assert.equal(out.length, 3);
  assert.deepEqual(out[0], { a: 1 });
  assertMalformed(out[1], /64-byte limit/);
  assert.deepEqual(out[2], { b: 2 });
  // Also when the whole long line, and what follows, come in one chunk.
  const single = await decode([`${long}\n{"b":2}\n`], 64);
  assert.equal(single.length, 2);
  assertMalformed(single[0], /64-byte limit/);
  assert.deepEqual(single[1], { b: 2 });
});

Deno.test("ndjsonDecoder() caps lines in UTF-8 bytes, exactly, not counting CRLF", async () => {
  const frame = { s: "éé" };
  const size = utf8.encode(JSON.stringify(frame)).length;
  const line = JSON.stringify(frame);
  assert.deepEqual(await decode([`${line}\n`, `${line}\r\n`], size), [frame, frame]);
  const over = await decode([`${JSON.stringify({ s: "ééé" })}\r\n`, '{"b":2}\n'], size);
  assertMalformed(over[0], new RegExp(`${size}-byte limit`));
  assert.deepEqual(over[1], { b: 2 });
});

Deno.test("ndjsonDecoder() reports an over-long unterminated last line once", async () => {
  const out = await decode(['{"a":1}\n', "x".repeat(100), "y".repeat(100)], 64);
  assert.equal(out.length, 2);
  assertMalformed(out[1], /64-byte limit/);
});

Deno.test("ndjsonDecoder() refuses a bad maxFrameBytes with RangeError", () => {
  assert.throws(() => ndjsonDecoder({ maxFrameBytes: 0 }), RangeError);
  assert.throws(() => ndjsonDecoder({ maxFrameBytes: Number.NaN }), RangeError);
});

Deno.test("ndjsonEncoder() writes one line per frame, escaping newlines in strings", async () => {
  const frames: Frame[] = [{ text: "a\nb\r\nc\u2028" }, { n: 1, list: [1, { deep: "é" }] }, {}];
  const chunks = await Array.fromAsync(ReadableStream.from(frames).pipeThrough(ndjsonEncoder()));
  assert.equal(chunks.length, frames.length, "one chunk per frame");
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((chunk) => [...chunk])));
  const lines = text.split("\n");
  assert.equal(lines.pop(), "", "output ends with a newline");
  assert.equal(lines.length, frames.length);
  assert.deepEqual(lines.map((line) => JSON.parse(line)), frames);
  assert.deepEqual(
    await Array.fromAsync(ReadableStream.from(chunks).pipeThrough(ndjsonDecoder())),
    frames,
    "the decoder reads back what the encoder wrote",
  );
});

Deno.test("ndjsonEncoder() errors the stream on a frame that cannot be serialised", async () => {
  const encoder = ndjsonEncoder();
  const writer = encoder.writable.getWriter();
  const read = Array.fromAsync(encoder.readable);
  await assert.rejects(writer.write({ big: 1n }), TypeError);
  await assert.rejects(read, TypeError);
});

Deno.test("ndjsonDecoder() refuses a line nested deeper than maxJsonDepth and goes on", async () => {
  const deep = `{"a":${"[".repeat(10_000)}${"]".repeat(10_000)}}`;
  // Brackets and escaped quotes inside strings do not count.
  const shallow = '{"a":[["[[[\\"[[[", "]]"]]}';
  const lines = `${deep}\n${shallow}\n{"b":[[[1]]]}\n`;
  const frames = await Array.fromAsync(
    ReadableStream.from([utf8.encode(lines)]).pipeThrough(ndjsonDecoder({ maxJsonDepth: 3 })),
  );
  assertMalformed(frames[0], /maxJsonDepth is 3/);
  assert.deepEqual(frames[1], { a: [['[[["[[[', "]]"]] });
  assertMalformed(frames[2], /maxJsonDepth is 3/);
  const byDefault = await decode([`${deep}\n`]);
  assertMalformed(byDefault[0], /maxJsonDepth is 64/);
});

Deno.test("ndjsonEncoder() writes frames with pre-encoded payloads as exactly JSON.stringify of the frame", async () => {
  const frames = [{ text: UNICODE }, largeBody(600), largeBody(1 << 20)].map(eventFrame);
  const bytes = ReadableStream.from(frames).pipeThrough(ndjsonEncoder());
  const text = await new Response(bytes).text();
  assert.equal(text, frames.map((frame) => `${JSON.stringify(frame)}\n`).join(""));
});
