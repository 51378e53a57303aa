/**
 * Leases (spec §9, 1.1 §9.3): every authority-bearing operation of an agent
 * goes through the runtime and is checked against the job's lease before it
 * happens. Here an agent reads and writes files through `denoFs(ctx)`,
 * fetches over HTTP through `ctx.fetch` and runs tools through `ctx.tool`,
 * each within and beyond its lease. Each operation is a `tool_call` event;
 * a refusal is its `tool_result` with `PERMISSION_DENIED`, thrown to the
 * agent, which carries on. Paths are canonicalised (`..` resolved) and
 * symbolic links followed before the check. Files live in a temporary
 * directory; the HTTP server is on 127.0.0.1; runtime and client share this
 * process over the memory transport.
 *
 * Run with `deno run -A examples/leases.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { ArcpError, isEventKind } from "../protocol/mod.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { denoFs } from "../runtime/fs_deno.ts";
import { memoryTransportPair } from "../transports/memory.ts";

// A directory with files the job may read, a secret it may not, and a link
// from the readable part to the secret.
const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "arcp-leases-" }));
await Deno.mkdir(`${dir}/data`);
await Deno.mkdir(`${dir}/secret`);
await Deno.mkdir(`${dir}/out`);
await Deno.writeTextFile(`${dir}/data/notes.txt`, "leases bound what a job may do");
await Deno.writeTextFile(`${dir}/secret/key.txt`, "do not read me");
await Deno.symlink(`${dir}/secret/key.txt`, `${dir}/data/shortcut.txt`);

// An HTTP server with a public and a private path.
const web = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  (request) => new Response(`you reached ${new URL(request.url).pathname}`),
);
const origin = `http://127.0.0.1:${web.addr.port}`;

/** Tries operations in and out of its lease; a refusal does not end the job. */
async function explorer(_input: unknown, ctx: AgentContext): Promise<{ refused: number }> {
  const fs = denoFs(ctx);
  const attempts: (() => Promise<unknown>)[] = [
    () => fs.readTextFile(`${dir}/data/notes.txt`),
    () => fs.readTextFile(`${dir}/secret/key.txt`),
    () => fs.readTextFile(`${dir}/data/../secret/key.txt`),
    () => fs.readTextFile(`${dir}/data/shortcut.txt`),
    () => fs.writeTextFile(`${dir}/out/summary.txt`, "ok"),
    () => fs.writeTextFile(`${dir}/data/notes.txt`, "overwritten"),
    () => ctx.fetch(`${origin}/public/hello`).then((response) => response.text()),
    () => ctx.fetch(`${origin}/private/admin`),
    () => ctx.tool("summarise", () => "five words", { args: { words: 5 } }),
    () => ctx.tool("shell", () => "never runs", { args: { command: "rm -rf /" } }),
  ];
  let refused = 0;
  for (const attempt of attempts) {
    try {
      await attempt();
    } catch (error) {
      if (!(error instanceof ArcpError) || error.code !== "PERMISSION_DENIED") throw error;
      refused++;
    }
  }
  return { refused };
}

const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "alice" }),
  agents: [{ name: "explorer", handler: explorer }],
});
const [clientSide, runtimeSide] = memoryTransportPair();
runtime.accept(runtimeSide);
const client = await connect(clientSide, { token: "s3cret" });

const job = await client.submit("explorer", null, {
  leaseRequest: {
    "fs.read": [`${dir}/data/**`],
    "fs.write": [`${dir}/out/**`],
    "net.fetch": [`${origin}/public/**`],
    "tool.call": ["summarise"],
  },
});
console.log(`job ${job.jobId}, lease ($DIR is ${dir}):`);
for (const [capability, patterns] of Object.entries(job.lease)) {
  console.log(`  ${capability}: ${patterns.join(", ").replaceAll(dir, "$DIR")}`);
}

const calls = new Map<string, string>();
for await (const event of job) {
  const { payload } = event;
  if (isEventKind(payload, "tool_call")) {
    const target = JSON.stringify(payload.body.args).replaceAll(dir, "$DIR");
    calls.set(payload.body.call_id, `${payload.body.tool} ${target}`);
  } else if (isEventKind(payload, "tool_result")) {
    const call = calls.get(payload.body.call_id);
    const outcome = payload.body.error === undefined ? "allowed" : payload.body.error.code;
    console.log(`  ${outcome.padEnd(17)} ${call}`);
  }
}
console.log(`result ${JSON.stringify((await job.result).result)}`);
const untouched = await Deno.readTextFile(`${dir}/data/notes.txt`);
console.log(`data/notes.txt unchanged: ${untouched === "leases bound what a job may do"}`);

await client.close();
await runtime.close();
await web.shutdown();
await Deno.remove(dir, { recursive: true });
