/**
 * Runs `examples/stdio_runtime.ts` as a child process and talks ARCP to it
 * over the child's stdin and stdout (spec §4.2): submits a `count` job,
 * prints its progress events and its result, closes the session and waits
 * for the child to exit.
 *
 * Run with `deno run -A examples/stdio_client.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { isEventKind } from "../protocol/events.ts";
import { childProcessTransport } from "../transports/stdio_deno.ts";

const runtimeModule = new URL("./stdio_runtime.ts", import.meta.url).href;
const { transport, child } = childProcessTransport(Deno.execPath(), {
  args: ["run", "-A", runtimeModule],
});

try {
  // Closing the client closes the child's stdin, which makes the runtime exit.
  await using client = await connect(transport, {
    token: "stdio-token",
    client: { name: "arcp-stdio-example", version: "1.0.0" },
  });
  console.log(`Session ${client.sessionId} open over stdio`);
  const job = await client.submit("count", { n: 5 });
  console.log(`Job ${job.jobId} accepted`);
  for await (const event of job) {
    if (isEventKind(event.payload, "progress")) {
      const { current, total } = event.payload.body;
      console.log(`progress ${current}/${total}`);
    }
  }
  const { result } = await job.result;
  console.log(`result ${JSON.stringify(result)}`);
} finally {
  const status = await child.status;
  console.log(`runtime exited with code ${status.code}`);
  if (status.code !== 0) Deno.exitCode = status.code;
}
