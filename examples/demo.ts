/**
 * The main demo (`deno task demo`): starts `cli.ts serve --demo` as a child
 * process, connects a client over a real WebSocket on 127.0.0.1, runs the
 * `files` agent over this project's own source tree with a live progress
 * display, prints the per-extension result table, and stops the runtime.
 *
 * @module
 */

import { connect } from "../client.ts";
import { isEventKind } from "../protocol/events.ts";
import { newResumeToken } from "../protocol/ids.ts";
import type { FilesReport } from "../cli/files_agent.ts";

const projectRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const token = newResumeToken().slice(3);
const encoder = new TextEncoder();
const write = (text: string) => Deno.stdout.writeSync(encoder.encode(text));

console.log("Starting the runtime: cli.ts serve --demo --port 0 (state in a Deno KV file)");
// The runtime keeps its state in a Deno KV file, its embedded default.
const stateDir = await Deno.makeTempDir({ prefix: "arcp-demo-" });
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    `${projectRoot}/cli.ts`,
    "serve",
    "--demo",
    "--port",
    "0",
    "--token",
    `${token}=demo`,
    "--kv-path",
    `${stateDir}/runtime.kv`,
  ],
  stdout: "piped",
  stderr: "inherit",
}).spawn();

const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
let url: string | undefined;
let buffered = "";
while (url === undefined) {
  const { value, done } = await lines.read();
  if (done) throw new Error("The runtime exited before it was listening");
  buffered += value;
  url = /listening on (ws:\/\/\S+)/.exec(buffered)?.[1];
}
console.log(`Runtime is listening on ${url}`);
// Keep draining the child's output so it never blocks on a full pipe.
const drained = (async () => {
  for (;;) {
    const { value, done } = await lines.read();
    if (done) return;
    for (const line of value.split("\n")) if (line.trim()) console.log(`  runtime: ${line.trim()}`);
  }
})();

try {
  await using client = await connect(url, {
    token,
    client: { name: "arcp-demo", version: "1.0.0" },
  });
  console.log(
    `Session ${client.sessionId} open; agents: ${client.agents.map((a) => a.name).join(", ")}`,
  );
  // The agent reads through its lease: fs.read on this tree, and nothing else.
  const root = await Deno.realPath(projectRoot);
  const job = await client.submit("files", { root }, {
    leaseRequest: { "fs.read": [`${root}/**`] },
  });
  console.log(`Job ${job.jobId} accepted (${job.agent}), reading ${projectRoot}`);
  const tty = Deno.stdout.isTerminal();
  let shown = -1;
  let events = 0;
  for await (const event of job) {
    events++;
    if (!isEventKind(event.payload, "progress")) continue;
    const { current, total = current } = event.payload.body;
    const percent = Math.floor((current / total) * 100);
    if (tty) {
      const filled = Math.round((current / total) * 30);
      write(`\r  [${"#".repeat(filled)}${".".repeat(30 - filled)}] ${current}/${total} files`);
    } else if (percent >= shown + 25 || current === total) {
      shown = percent;
      console.log(`  ${current}/${total} files (${percent}%)`);
    }
  }
  if (tty) write("\n");
  const report = (await job.result).result as FilesReport;
  console.log(`\n${events} events received. What the files agent counted:\n`);
  const rows = Object.entries(report.by_extension)
    .sort(([, a], [, b]) => b.bytes - a.bytes)
    .map(([extension, c]) => [extension || "(none)", c.files, c.lines, c.words, c.bytes]);
  rows.push(["total", report.files, report.lines, report.words, report.bytes]);
  const header = ["extension", "files", "lines", "words", "bytes"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const format = (row: (string | number)[]) =>
    row.map((
      cell,
      i,
    ) => (i === 0 ? String(cell).padEnd(widths[i]!) : String(cell).padStart(widths[i]!)))
      .join("  ");
  console.log(format(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(format(row));
  if (report.skipped.length > 0) console.log(`\nSkipped as binary: ${report.skipped.join(", ")}`);
} finally {
  child.kill("SIGTERM");
  const status = await child.status;
  await drained;
  await Deno.remove(stateDir, { recursive: true });
  console.log(`\nRuntime stopped (exit code ${status.code}).`);
}
