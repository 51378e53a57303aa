// This module is browser compatible.
/**
 * The page script of `examples/browser/`: the ARCP client in a browser. It
 * connects to the runtime at the page's own origin (`/arcp`) with the token
 * in the page's fragment (`#token=…`, never sent to a server), submits a
 * job, draws its progress, prints its events and result, and marks the page
 * `data-state="done"` (or `"failed"`). `serve.ts` bundles it for browsers.
 *
 * @module
 */

import { connect } from "../../client.ts";
import { isEventKind } from "../../protocol/mod.ts";

const log = document.getElementById("log")!;
const status = document.getElementById("status")!;
const progress = document.getElementById("progress") as HTMLProgressElement;

function print(line: string): void {
  log.textContent += `${line}\n`;
}

async function run(): Promise<void> {
  const token = new URLSearchParams(location.hash.slice(1)).get("token") ?? "";
  const client = await connect(`ws://${location.host}/arcp`, { token });
  print(`session ${client.sessionId}`);
  const job = await client.submit("count", { n: 5 });
  print(`job ${job.jobId} accepted (${job.agent})`);
  status.textContent = "running";
  for await (const event of job) {
    if (!isEventKind(event.payload, "progress")) continue;
    const { current, total = current } = event.payload.body;
    progress.max = total;
    progress.value = current;
    print(`#${event.event_seq} progress ${current}/${total}`);
  }
  const { result } = await job.result;
  print(`result ${JSON.stringify(result)}`);
  await client.close();
  status.textContent = "done";
  document.body.dataset.state = "done";
}

run().catch((error) => {
  print(`failed: ${error}`);
  status.textContent = "failed";
  document.body.dataset.state = "failed";
});
