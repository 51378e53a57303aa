import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { isEventKind } from "../../protocol/events.ts";
import { Runtime, staticTokens } from "../../runtime.ts";
import { ndjsonDecoder } from "../../transports/ndjson.ts";
import { ndjsonTransport } from "../../transports/stdio.ts";
import { childProcessTransport } from "../../transports/stdio_deno.ts";
import { type Frame, MalformedFrame } from "../../transports/types.ts";
import { bounded, within } from "../_helpers.ts";

const utf8 = new TextEncoder();
const EXAMPLES = new URL("../../examples/", import.meta.url);

function testRuntime(): Runtime {
  return new Runtime({
    authenticate: staticTokens({ t: "alice" }),
    agents: [
      { name: "echo", handler: (input: unknown) => Promise.resolve({ echoed: input }) },
      {
        name: "count",
        handler: async (input: { n: number }, ctx) => {
          for (let i = 1; i <= input.n; i++) await ctx.progress(i, { total: input.n });
          return { count: input.n };
        },
      },
    ],
  });
}

/** Two byte pipes cross-wired: what one end writes, the other reads. */
function bytePipes() {
  const toRuntime = new TransformStream<Uint8Array, Uint8Array>();
  const toClient = new TransformStream<Uint8Array, Uint8Array>();
  return {
    client: { readable: toClient.readable, writable: toRuntime.writable },
    runtime: { readable: toRuntime.readable, writable: toClient.writable },
  };
}

Deno.test(
  "ndjsonTransport() runs a job end to end between a runtime and a client over byte pipes",
  bounded(async () => {
    await using runtime = testRuntime();
    const pipes = bytePipes();
    const served = runtime.accept(ndjsonTransport(pipes.runtime));
    const client = await connect(ndjsonTransport(pipes.client), { token: "t" });
    const job = await client.submit("count", { n: 4 });
    const progress: number[] = [];
    for await (const event of job) {
      if (isEventKind(event.payload, "progress")) progress.push(event.payload.body.current);
    }
    assert.deepEqual(progress, [1, 2, 3, 4]);
    assert.deepEqual((await job.result).result, { count: 4 });
    const echo = await client.submit("echo", { text: "line\nbreak é" });
    assert.deepEqual((await echo.result).result, { echoed: { text: "line\nbreak é" } });
    await client.close();
    await within(served, "the runtime to end the connection");
  }),
);

Deno.test(
  "ndjsonTransport() lets the runtime answer a bad line with INVALID_REQUEST and carry on",
  bounded(async () => {
    await using runtime = testRuntime();
    const pipes = bytePipes();
    const served = runtime.accept(ndjsonTransport(pipes.runtime));
    const writer = pipes.client.writable.getWriter();
    const reader = pipes.client.readable.pipeThrough(ndjsonDecoder()).getReader();
    const next = async (): Promise<Frame> => {
      const { value, done } = await within(reader.read(), "the next frame");
      assert.ok(!done && !(value instanceof MalformedFrame), "a well-formed frame");
      return value;
    };
    await writer.write(utf8.encode("{this is not json}\n"));
    const refusal = await next();
    assert.equal(refusal.type, "session.error");
    assert.equal((refusal.payload as { code: string }).code, "INVALID_REQUEST");
    const hello = {
      arcp: "1.1",
      id: "hello_1",
      type: "session.hello",
      payload: {
        client: { name: "raw", version: "0.0.0" },
        auth: { scheme: "bearer", token: "t" },
        capabilities: { encodings: ["json"] },
      },
    };
    // Split mid-line and sent with a CRLF ending: still one frame.
    const bytes = utf8.encode(`${JSON.stringify(hello)}\r\n`);
    await writer.write(bytes.subarray(0, 10));
    await writer.write(bytes.subarray(10));
    assert.equal((await next()).type, "session.welcome");
    await writer.close();
    await within(served, "the runtime to end the connection");
    assert.equal((await reader.read()).done, true, "the runtime closed its byte stream");
  }),
);

Deno.test("ndjsonTransport() closes, aborts and cancels the byte streams before resolving", async () => {
  const events: string[] = [];
  const source = new ReadableStream<Uint8Array>({
    cancel(reason) {
      events.push(`readable cancelled: ${reason}`);
    },
  });
  const sink = (name: string) =>
    new WritableStream<Uint8Array>({
      write(chunk) {
        events.push(`${name} wrote ${new TextDecoder().decode(chunk).trim()}`);
      },
      close() {
        events.push(`${name} closed`);
      },
      abort(reason) {
        events.push(`${name} aborted: ${reason}`);
      },
    });
  const closing = ndjsonTransport({ readable: source, writable: sink("a") });
  const writer = closing.writable.getWriter();
  await writer.write({ n: 1 });
  await writer.close();
  await closing.readable.cancel("done");

  const aborting = ndjsonTransport({ readable: new ReadableStream(), writable: sink("b") });
  await aborting.writable.abort("gone");
  await aborting.readable.cancel();
  assert.deepEqual(events, [
    'a wrote {"n":1}',
    "a closed",
    "readable cancelled: done",
    "b aborted: gone",
  ]);
});

Deno.test("ndjsonTransport() passes backpressure from the byte sink to the frame writer", async () => {
  const written: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const slow = new WritableStream<Uint8Array>({
    async write(chunk) {
      await released;
      written.push(new TextDecoder().decode(chunk));
    },
  });
  const transport = ndjsonTransport({ readable: new ReadableStream(), writable: slow });
  const writer = transport.writable.getWriter();
  const writes = Array.from({ length: 20 }, (_, n) => writer.write({ n }));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(written.length, 0);
  assert.ok(writer.desiredSize! < 0, "the frame writer is told to wait");
  release();
  await Promise.all(writes);
  await writer.close();
  assert.deepEqual(written, Array.from({ length: 20 }, (_, n) => `{"n":${n}}\n`));
  await transport.readable.cancel();
});

Deno.test("ndjsonTransport() refuses byte streams that are already locked", () => {
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  const reader = pipe.readable.getReader();
  assert.throws(() => ndjsonTransport(pipe), TypeError);
  reader.releaseLock();
  assert.throws(() => ndjsonTransport(pipe, { maxFrameBytes: -1 }), RangeError);
});

Deno.test(
  "childProcessTransport() connects to a runtime run as a child, which exits on close",
  bounded(async () => {
    const { transport, child } = childProcessTransport(Deno.execPath(), {
      args: ["run", "-A", new URL("stdio_runtime.ts", EXAMPLES).href],
      stderr: "null",
    });
    {
      // If connect() fails it aborts the transport; once connected, disposal closes it.
      await using client = await connect(transport, { token: "stdio-token" });
      const job = await client.submit("echo", { hi: "é\n" });
      assert.deepEqual((await job.result).result, { echoed: { hi: "é\n" } });
    }
    assert.equal((await child.status).code, 0);
  }, 30_000),
);

Deno.test("childProcessTransport() refuses a bad maxFrameBytes before spawning", () => {
  assert.throws(
    () => childProcessTransport(Deno.execPath(), { args: ["--version"], maxFrameBytes: 0 }),
    RangeError,
  );
});

Deno.test(
  "examples/stdio_client.ts runs a count job against examples/stdio_runtime.ts and exits 0",
  bounded(async () => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("stdio_client.ts", EXAMPLES).href],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
    for (let i = 1; i <= 5; i++) assert.match(stdout, new RegExp(`progress ${i}/5`));
    assert.match(stdout, /result \{"count":5\}/);
    assert.match(stdout, /runtime exited with code 0/);
    assert.match(stderr, /stdio runtime: serving on stdin\/stdout/, "the runtime logs to stderr");
  }, 30_000),
);
