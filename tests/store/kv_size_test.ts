import assert from "node:assert/strict";
import { serialize } from "node:v8";
import { serializedSizeBound } from "../../store/_kv_size.ts";
import { valueSize } from "../../store/_kv_limits.ts";

/** A seeded generator of numbers in [0, 1) (mulberry32), for repeatable values. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values of every shape an event or record may take, with the cases V8 writes differently. */
function value(next: () => number, depth: number, shared: object[]): unknown {
  const pick = Math.floor(next() * (depth > 4 ? 6 : 11));
  const n = Math.floor(next() * 40);
  switch (pick) {
    case 0:
      return Math.floor(next() * 2 ** 31) - 2 ** 30;
    case 1:
      return [next(), -0, NaN, 2 ** 53, -1e300][n % 5];
    case 2:
      return "a".repeat(n);
    case 3:
      // Two-byte strings: CJK, an emoji (surrogate pairs) and Latin-1.
      return ["中文", "😀", "é"][n % 3]!.repeat(n);
    case 4:
      return [null, undefined, true, false][n % 4];
    case 5:
      return shared[n % shared.length] ?? {};
    case 6: {
      const holey: unknown[] = new Array(n);
      for (let i = 0; i < n; i += 3) holey[i] = value(next, depth + 1, shared);
      return holey;
    }
    case 7: {
      const array: unknown[] & { extra?: unknown } = Array.from(
        { length: n % 8 },
        () => value(next, depth + 1, shared),
      );
      if (n % 2 === 0) array.extra = value(next, depth + 1, shared);
      return array;
    }
    case 8: {
      const object: Record<string, unknown> = n % 3 === 0 ? Object.create(null) : {};
      for (let i = 0; i < n % 6; i++) object[`k${i}`] = value(next, depth + 1, shared);
      // Integer-like keys, which V8 writes as numbers.
      object[String(n * 1_000_003)] = value(next, depth + 1, shared);
      shared.push(object);
      return object;
    }
    case 9: {
      const cycle: Record<string, unknown> = { name: "loop" };
      cycle.self = cycle;
      return cycle;
    }
    default:
      return { kind: "log", body: { message: "x".repeat(n * 50), level: "info" } };
  }
}

Deno.test("serializedSizeBound() is never below V8's serialization of a value", () => {
  const next = random(9);
  for (let i = 0; i < 3_000; i++) {
    const item = value(next, 0, []);
    const exact = serialize(item).length;
    const bound = serializedSizeBound(item, Infinity);
    assert.ok(bound >= exact, `bound ${bound} < ${exact} for ${Deno.inspect(item)}`);
  }
});

Deno.test("serializedSizeBound() leaves values past the limit and unusual types to V8", () => {
  assert.equal(serializedSizeBound({ text: "x".repeat(70_000) }, 65_536), Infinity);
  assert.equal(serializedSizeBound(new Array(1e9), 65_536), Infinity);
  class Job {
    id = "job_1";
  }
  for (const unusual of [new Date(0), new Map(), new Uint8Array(4), new Job(), 1n, [() => 1]]) {
    assert.equal(serializedSizeBound({ nested: [unusual] }, 65_536), Infinity);
  }
  let deep: unknown = "leaf";
  for (let i = 0; i < 1_000; i++) deep = [deep];
  assert.equal(serializedSizeBound(deep, 65_536), Infinity);
  assert.equal(valueSize(deep), serialize(deep).length);
});

Deno.test({
  name: "a steady stream of small events into a DenoKvStore file keeps no native memory",
  // The fixture reads its resident memory from /proc.
  ignore: Deno.build.os !== "linux",
}, async () => {
  // Measuring each event with V8's serializer left well over 100 MiB outside
  // V8's heap after 60,000 events; the bound leaves a few MiB.
  const dir = await Deno.makeTempDir({ prefix: "arcp_kv_memory_" });
  try {
    const fixture = new URL("../fixtures/kv_append_memory.ts", import.meta.url);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--v8-flags=--expose-gc", fixture.pathname, `${dir}/memory.kv`],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const { nativeMiB } = JSON.parse(new TextDecoder().decode(stdout));
    assert.ok(nativeMiB < 64, `${nativeMiB.toFixed(1)} MiB kept outside V8's heap`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
