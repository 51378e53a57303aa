/**
 * Streamed results (spec 1.1 §8.4): an agent too big for one message writes
 * its result to `ctx.resultStream()`; it goes out as ordered `result_chunk`
 * events, and `job.result` carries the result's id and total size instead of
 * the value. The client reassembles it with `job.resultText()` (or
 * `job.resultBytes()` for binary), which checks that no chunk is missing.
 * Runtime and client share this process over the memory transport.
 *
 * Run with `deno run -A examples/result_chunks.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { isEventKind } from "../protocol/mod.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { memoryTransportPair } from "../transports/memory.ts";

/** Writes a CSV table of squares, one row at a time, as UTF-8 text chunks. */
async function squares(input: { rows: number }, ctx: AgentContext): Promise<string> {
  const writer = ctx.resultStream({ encoding: "utf8" }).getWriter();
  await writer.write("n,square\n");
  for (let n = 1; n <= input.rows; n++) await writer.write(`${n},${n * n}\n`);
  await writer.close();
  // A string returned beside a streamed result becomes its summary.
  return `${input.rows} rows`;
}

const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "alice" }),
  agents: [{ name: "squares", handler: squares }],
  // Small chunks, so that this small result needs several (the default is 64 KiB).
  resultChunkBytes: 256,
});
const [clientSide, runtimeSide] = memoryTransportPair();
runtime.accept(runtimeSide);
const client = await connect(clientSide, { token: "s3cret" });

const job = await client.submit("squares", { rows: 100 });
// The chunks are ordinary events; the client also keeps them aside for resultText().
for await (const event of job) {
  if (!isEventKind(event.payload, "result_chunk")) continue;
  const { result_id, chunk_seq, data, more } = event.payload.body;
  console.log(`  chunk ${chunk_seq} of ${result_id}: ${data.length} bytes, more: ${more}`);
}
const text = await job.resultText();

const { result_id, result_size, summary } = await job.result;
console.log(`job.result: result_id ${result_id}, result_size ${result_size}, summary "${summary}"`);
const lines = text.trimEnd().split("\n");
console.log(`assembled ${text.length} bytes, ${lines.length} lines; last line: ${lines.at(-1)}`);

await client.close();
await runtime.close();
