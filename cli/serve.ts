/**
 * `cli.ts serve`: a runtime on Deno, serving WebSockets at `/arcp`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Runtime } from "../runtime.ts";
import { staticTokens } from "../runtime/auth.ts";
import { newResumeToken } from "../protocol/ids.ts";
import { demoAgents } from "./demo_agents.ts";
import { openDenoKvStore } from "../store/deno_kv.ts";
import { MemoryStore } from "../store/memory.ts";
import type { RuntimeStore } from "../store/types.ts";

export const SERVE_USAGE =
  `Usage: cli.ts serve [--host 127.0.0.1] [--port 7777] [--token TOKEN=PRINCIPAL]...
                    [--store kv|memory] [--kv-path PATH] [--resume-window SEC]
                    [--heartbeat SEC] [--demo]

Starts an ARCP runtime serving WebSockets at ws://HOST:PORT/arcp.
  --host HOST              interface to listen on (default 127.0.0.1)
  --port PORT              port, 0 for any free one (default 7777)
  --token TOKEN=PRINCIPAL  accept bearer TOKEN as PRINCIPAL; repeatable. Without
                           any, one random token is generated and printed
  --store kv|memory        where sessions, jobs and event logs are kept (default kv:
                           a Deno KV file, so sessions survive a restart)
  --kv-path PATH           the Deno KV file (default arcp-runtime.kv)
  --resume-window SEC      seconds a session stays resumable (default 600)
  --heartbeat SEC          heartbeat interval in seconds (default 30)
  --demo                   register the demo agents: echo, count, sleep, fail, files
Stops cleanly on SIGINT or SIGTERM.`;

function parseTokens(values: string[]): Record<string, string> {
  const tokens: Record<string, string> = {};
  for (const value of values) {
    const separator = value.lastIndexOf("=");
    if (separator <= 0 || separator === value.length - 1) {
      throw new TypeError(`Invalid --token "${value}": expected TOKEN=PRINCIPAL`);
    }
    tokens[value.slice(0, separator)] = value.slice(separator + 1);
  }
  return tokens;
}

/**
 * Runs `serve` until SIGINT/SIGTERM or `signal`; prints
 * `arcp runtime listening on ws://HOST:PORT/arcp` once ready.
 *
 * @param args Arguments after `serve`.
 * @param signal Stops the server, as a signal would.
 * @returns The exit code.
 */
export async function serve(args: string[], signal?: AbortSignal): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "7777" },
      token: { type: "string", multiple: true, default: [] },
      store: { type: "string", default: "kv" },
      "kv-path": { type: "string", default: "arcp-runtime.kv" },
      "resume-window": { type: "string", default: "600" },
      heartbeat: { type: "string", default: "30" },
      demo: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(SERVE_USAGE);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`Invalid --port "${values.port}": expected 0 to 65535`);
  }
  if (values.store !== "memory" && values.store !== "kv") {
    throw new TypeError(`Invalid --store "${values.store}": expected "kv" or "memory"`);
  }
  const seconds = (name: "resume-window" | "heartbeat") => {
    const value = Number(values[name]);
    if (!(value > 0)) {
      throw new TypeError(`Invalid --${name} "${values[name]}": expected seconds > 0`);
    }
    return value;
  };
  const resumeWindowSec = seconds("resume-window");
  const heartbeatIntervalSec = seconds("heartbeat");
  let tokens = parseTokens(values.token);
  if (Object.keys(tokens).length === 0) {
    const token = newResumeToken().slice(3);
    tokens = { [token]: "default" };
    console.log(`generated bearer token: ${token}`);
  }
  const store: RuntimeStore = values.store === "kv"
    ? await openDenoKvStore(values["kv-path"])
    : new MemoryStore();
  const runtime = new Runtime({
    store,
    resumeWindowSec,
    heartbeatIntervalSec,
    authenticate: staticTokens(tokens),
    agents: values.demo ? demoAgents() : [],
    upgradeWebSocket: Deno.upgradeWebSocket,
    logger: console,
  });
  const stop = Promise.withResolvers<void>();
  const onSignal = () => stop.resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  signal?.addEventListener("abort", onSignal, { once: true });
  const server = Deno.serve({
    hostname: values.host,
    port,
    onListen: ({ hostname, port }) => {
      console.log(`arcp runtime listening on ws://${hostname}:${port}/arcp`);
    },
  }, runtime.fetch);
  try {
    await stop.promise;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    signal?.removeEventListener("abort", onSignal);
    await runtime.close();
    await server.shutdown();
    await store.close?.();
    console.log("arcp runtime stopped");
  }
  return 0;
}
