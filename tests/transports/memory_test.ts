import assert from "node:assert/strict";
import { MalformedFrame, memoryTransportPair, parseFrame } from "../../transports/memory.ts";
import type { Frame } from "../../transports/types.ts";

Deno.test("memoryTransportPair() carries frames both ways, in order", async () => {
  const [client, runtime] = memoryTransportPair();
  const clientWriter = client.writable.getWriter();
  const runtimeWriter = runtime.writable.getWriter();
  const runtimeReader = runtime.readable.getReader();
  const clientReader = client.readable.getReader();
  for (let i = 0; i < 5; i++) await clientWriter.write({ n: i });
  await runtimeWriter.write({ back: true });
  for (let i = 0; i < 5; i++) assert.deepEqual((await runtimeReader.read()).value, { n: i });
  assert.deepEqual((await clientReader.read()).value, { back: true });
  await clientWriter.close();
  await runtimeWriter.close();
  assert.equal((await runtimeReader.read()).done, true);
  assert.equal((await clientReader.read()).done, true);
});

Deno.test("memoryTransportPair() delivers a JSON copy, never the sent object", async () => {
  const [a, b] = memoryTransportPair();
  const writer = a.writable.getWriter();
  const reader = b.readable.getReader();
  const sent: Frame = {
    nested: { list: [1, 2] },
    when: new Date("2026-01-01T00:00:00Z"),
    gone: undefined,
  };
  await writer.write(sent);
  (sent.nested as { list: number[] }).list.push(3);
  const { value } = await reader.read();
  assert.notEqual(value, sent);
  assert.deepEqual(value, { nested: { list: [1, 2] }, when: "2026-01-01T00:00:00.000Z" });
  await writer.close();
});

Deno.test("memoryTransportPair() write rejects when a frame cannot be serialised", async () => {
  const [a, b] = memoryTransportPair();
  const writer = a.writable.getWriter();
  await assert.rejects(writer.write({ big: 1n }), TypeError);
  await b.readable.cancel().catch(() => {});
});

Deno.test("memoryTransportPair() delivers frames over maxFrameBytes as MalformedFrame", async () => {
  const frame = { data: "x".repeat(100) };
  const size = JSON.stringify(frame).length;
  const [a, b] = memoryTransportPair({ maxFrameBytes: size });
  const writer = a.writable.getWriter();
  const reader = b.readable.getReader();
  await writer.write(frame);
  assert.deepEqual((await reader.read()).value, frame, "a frame of exactly the cap passes");
  await writer.write({ data: "x".repeat(101) });
  const refused = (await reader.read()).value;
  assert.ok(refused instanceof MalformedFrame);
  assert.match(refused.reason, new RegExp(`${size}-byte limit`));
  await writer.write({ after: 1 });
  assert.deepEqual((await reader.read()).value, { after: 1 }, "the pair carries on");
  await writer.close();
});

Deno.test("memoryTransportPair() delivers JSON values that are not objects as MalformedFrame", async () => {
  const [a, b] = memoryTransportPair();
  const writer = a.writable.getWriter() as WritableStreamDefaultWriter<unknown>;
  const reader = b.readable.getReader();
  for (const value of [[1, 2], 42, "text", null, true]) {
    await writer.write(value);
    const { value: received } = await reader.read();
    assert.ok(received instanceof MalformedFrame, JSON.stringify(value));
    assert.match(received.reason, /not a JSON object/);
  }
  await writer.close();
});

Deno.test("memoryTransportPair() closing a writable ends the peer's readable after queued frames", async () => {
  const [a, b] = memoryTransportPair();
  const writer = a.writable.getWriter();
  const reader = b.readable.getReader();
  await writer.write({ last: true });
  await writer.close();
  assert.deepEqual(await reader.read(), { value: { last: true }, done: false });
  assert.deepEqual(await reader.read(), { value: undefined, done: true });
});

Deno.test("memoryTransportPair() aborting a writable errors the peer's readable with the reason", async () => {
  const [a, b] = memoryTransportPair();
  const reason = new Error("cut");
  const reader = b.readable.getReader();
  await a.writable.abort(reason);
  await assert.rejects(reader.read(), (error) => error === reason);
});

Deno.test("memoryTransportPair() cancelling a readable makes the peer's writes fail", async () => {
  const [a, b] = memoryTransportPair();
  await a.readable.cancel(new Error("gone"));
  const writer = b.writable.getWriter();
  await assert.rejects(writer.write({ n: 1 }));
});

Deno.test("memoryTransportPair() applies backpressure once highWaterMark frames are unread", async () => {
  const [a, b] = memoryTransportPair({ highWaterMark: 2 });
  const writer = a.writable.getWriter();
  assert.ok(writer.desiredSize! > 0);
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 6; i++) writes.push(writer.write({ n: i }));
  assert.ok(writer.desiredSize! <= 0, `desiredSize ${writer.desiredSize}`);
  const reader = b.readable.getReader();
  for (let i = 0; i < 6; i++) assert.deepEqual((await reader.read()).value, { n: i });
  await Promise.all(writes);
  assert.ok(writer.desiredSize! > 0, "reading relieves the pressure");
  await writer.close();
});

Deno.test("parseFrame() refuses invalid JSON as MalformedFrame", () => {
  const refused = parseFrame('{"arcp":', 1024);
  assert.ok(refused instanceof MalformedFrame);
  assert.match(refused.reason, /not valid JSON/);
});

Deno.test("parseFrame() counts the cap in UTF-8 bytes, not UTF-16 code units", () => {
  const text = JSON.stringify({ s: "é".repeat(10) }); // 18 code units, 28 bytes
  assert.deepEqual(parseFrame(text, 28), { s: "é".repeat(10) });
  assert.ok(parseFrame(text, 27) instanceof MalformedFrame);
  assert.ok(parseFrame(text, 20) instanceof MalformedFrame, "under the cap in UTF-16 only");
});

/** A seeded generator of JSON values with strings full of brackets, quotes and backslashes. */
function randomJson(seed: number): () => unknown {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pieces = ["[", "]", "{", "}", '"', "\\", "\\\\", '\\"', "a", ":", ","];
  const text = () =>
    Array.from({ length: Math.floor(next() * 6) }, () => pieces[Math.floor(next() * pieces.length)])
      .join("");
  const value = (depth: number): unknown => {
    const roll = next();
    if (depth > 12 || roll < 0.3) return roll < 0.15 ? text() : Math.floor(roll * 100);
    if (roll < 0.65) return Array.from({ length: Math.floor(next() * 3) }, () => value(depth + 1));
    const object: Record<string, unknown> = {};
    for (let i = Math.floor(next() * 3); i > 0; i--) object[text()] = value(depth + 1);
    return object;
  };
  return () => ({ [text()]: value(1) });
}

function depthOf(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Object.values(value as Record<string, unknown>);
  return 1 + Math.max(0, ...children.map(depthOf));
}

Deno.test("parseFrame() refuses exactly the frames nested deeper than maxDepth, whatever their strings hold", () => {
  const generate = randomJson(42);
  for (let n = 0; n < 2_000; n++) {
    const value = generate();
    const depth = depthOf(value);
    const text = JSON.stringify(value);
    for (const maxDepth of [depth - 1, depth]) {
      const parsed = parseFrame(text, 1 << 20, maxDepth);
      assert.equal(parsed instanceof MalformedFrame, depth > maxDepth, `${text} at ${maxDepth}`);
    }
  }
});
