/**
 * Heartbeats (spec 1.1 §6.4): when `heartbeat` is negotiated, a side that
 * has sent nothing for `heartbeat_interval_sec` sends `session.ping`, the
 * peer answers `session.pong`, and a side that hears nothing for two
 * intervals declares the connection dead. That catches the half-open
 * connection no close event ever reports. Here the interval is 0.2 s: an
 * idle session stays up on pings alone; then the link goes silent in the
 * middle of a job (frames vanish, nothing closes); the runtime drops the
 * connection with `HEARTBEAT_LOST` while the job runs on, and the client
 * notices too, reconnects, resumes the session and gets the rest of the
 * job. The link is the memory transport with a tap that prints pings and
 * pongs and can be cut.
 *
 * Run with `deno run -A examples/heartbeat.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { type Frame, memoryTransportPair, type Transport } from "../transports/memory.ts";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const started = Date.now();
const log = (line: string) =>
  console.log(`${String(Date.now() - started).padStart(5)} ms  ${line}`);

/** Five steps, 250 ms apart. */
async function slow(_input: unknown, ctx: AgentContext): Promise<{ steps: number }> {
  for (let step = 1; step <= 5; step++) {
    await ctx.progress(step, { total: 5 });
    await pause(250);
  }
  return { steps: 5 };
}

const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "alice" }),
  agents: [{ name: "slow", handler: slow }],
  heartbeatIntervalSec: 0.2,
  logger: {
    debug(message: string) {
      if (message.includes("heartbeat")) log(message);
    },
    warn() {},
    error: console.error,
  },
});

/**
 * Cuts the newest link: from then on its frames, and its closing, vanish in
 * both directions, as over a half-open TCP connection.
 */
let cutLink = () => {};
let links = 0;

/** Opens a link to the runtime; the client calls this again to reconnect. */
function openLink(): Transport {
  const [clientSide, runtimeSide] = memoryTransportPair();
  runtime.accept(runtimeSide);
  const link = ++links;
  let alive = true;
  cutLink = () => alive = false;
  const tap = (direction: string) =>
    new TransformStream<Frame, Frame>({
      transform(frame, controller) {
        if (!alive) return;
        if (frame.type === "session.ping" || frame.type === "session.pong") {
          log(`link ${link}: ${direction} ${frame.type}`);
        }
        controller.enqueue(frame);
      },
      // A dead link does not even deliver the close.
      flush: () => alive ? undefined : new Promise<void>(() => {}),
    });
  const outbound = tap("client -> runtime");
  void outbound.readable.pipeTo(clientSide.writable).catch(() => {});
  return {
    readable: clientSide.readable.pipeThrough(tap("runtime -> client")),
    writable: outbound.writable,
  };
}

const client = await connect(openLink, {
  token: "s3cret",
  reconnect: { initialDelayMs: 50 },
  logger: {
    debug: (message: string) => log(message),
    warn: (message: string) => log(message),
    error() {},
  },
});
log(
  `session ${client.sessionId}: heartbeat ${client.features.has("heartbeat")}, ` +
    `interval ${client.welcome.heartbeat_interval_sec} s`,
);

log("idle for 0.6 s: only heartbeats keep the link busy");
await pause(600);

const job = await client.submit("slow");
log(`job ${job.jobId} submitted`);
for await (const event of job) {
  log(`event_seq ${event.event_seq}: step ${event.payload.body.current}`);
  if (event.payload.body.current === 1) {
    log("-- the link goes silent (nothing closes it) --");
    cutLink();
  }
}
log(
  `result ${JSON.stringify((await job.result).result)} over ${links} links, ` +
    `one session ${client.sessionId}`,
);

await client.close();
await runtime.close();
