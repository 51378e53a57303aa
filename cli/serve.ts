/**
 * `cli.ts serve`: a runtime on Deno, serving WebSockets at `/arcp`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Runtime } from "../runtime.ts";
import { newResumeToken } from "../protocol/ids.ts";
import { authenticator, JWT_OPTIONS, JWT_USAGE, wantsJwt } from "./_auth.ts";
import { parseNumber, printLine } from "./_client.ts";
import { demoAgents } from "./demo_agents.ts";
import { loadDashboard } from "./dashboard.ts";
import { openKvFile, watchKvFile } from "./_kv_file.ts";
import { openPostgres } from "./_postgres.ts";
import { MemoryStore } from "../store/memory.ts";
import type { Store } from "../store/types.ts";

export const SERVE_USAGE =
  `Usage: cli.ts serve [--host 127.0.0.1] [--port 7777] [--token TOKEN=PRINCIPAL]...
                    [--store kv|memory|postgres] [--kv-path PATH]
                    [--postgres-url URL] [--postgres-schema NAME] [--resume-window SEC]
                    [--heartbeat SEC] [--max-connections N] [--hello-timeout SEC]
                    [--max-sessions-per-principal N] [--max-jobs-per-principal N]
                    [--idle-session SEC] [--demo] [--dashboard] [--json]
                    [--jwt-secret SECRET | --jwt-jwks URL] [--jwt-issuer ISS]...
                    [--jwt-audience AUD]... [--jwt-clock-tolerance SEC]
                    [--jwt-principal-claim CLAIM] [--jwt-allow-no-exp]
                    [--jwt-max-lifetime SEC]

Starts an ARCP runtime serving WebSockets at ws://HOST:PORT/arcp.
  --host HOST              interface to listen on (default 127.0.0.1)
  --port PORT              port, 0 for any free one (default 7777)
  --token TOKEN=PRINCIPAL  accept bearer TOKEN as PRINCIPAL; repeatable. Without
                           any (and no JWT key), one random token is generated and
                           printed. Tokens are looked up first, then tried as JWTs
${JWT_USAGE}
  --store kv|memory|postgres
                           where sessions, jobs and event logs are kept (default kv:
                           a Deno KV file, so sessions survive a restart)
  --kv-path PATH           the Deno KV file (default arcp-runtime.kv); serve exits
                           with 1 if it cannot be opened, or is deleted while serving
  --postgres-url URL       the PostgreSQL database of --store postgres (default
                           DATABASE_URL, else the PG* variables); serve exits with 1
                           if it cannot be reached at start
  --postgres-schema NAME   the schema its tables live in, created and migrated at
                           start (default arcp)
  --resume-window SEC      seconds a session stays resumable (default 600)
  --heartbeat SEC          heartbeat interval in seconds (default 30)
  --max-connections N      WebSockets served at once; more get HTTP 503 (default 4096)
  --hello-timeout SEC      seconds a connection has to send session.hello or
                           session.resume before it is closed (default 10)
  --max-sessions-per-principal N
                           sessions one principal may have connected (default 1024)
  --max-jobs-per-principal N
                           jobs one principal may have running (default 1024)
  --idle-session SEC       seconds a session with no request, job or subscription
                           stays connected; 0 never disconnects (default 900)
                           Deno.serve has no HTTP header timeout: a client that
                           sends half a request holds its socket. On the internet,
                           put a reverse proxy with one in front (docs/limits.md)
  --demo                   register the demo agents: echo, count, sleep, fail, files,
                           spend, report, fetch, delegate, later (their inputs and
                           leases: cli.ts agents)
  --dashboard              also serve the jobs dashboard at http://HOST:PORT/
  --json                   print what would be lines of text as JSON lines:
                           {"type":"listening","payload":{"url":…}}, {"type":"stopped",
                           "payload":{}} (the shape of every command's --json)
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
      "postgres-url": { type: "string" },
      "postgres-schema": { type: "string", default: "arcp" },
      "resume-window": { type: "string", default: "600" },
      heartbeat: { type: "string", default: "30" },
      "max-connections": { type: "string", default: "4096" },
      "hello-timeout": { type: "string", default: "10" },
      "max-sessions-per-principal": { type: "string", default: "1024" },
      "max-jobs-per-principal": { type: "string", default: "1024" },
      "idle-session": { type: "string", default: "900" },
      demo: { type: "boolean", default: false },
      dashboard: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      ...JWT_OPTIONS,
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(SERVE_USAGE);
    return 0;
  }
  const port = parseNumber("port", values.port, { integer: true, min: 0, max: 65535 });
  if (values.store !== "memory" && values.store !== "kv" && values.store !== "postgres") {
    throw new TypeError(
      `Invalid --store "${values.store}": expected "kv", "memory" or "postgres"`,
    );
  }
  const seconds = (name: "resume-window" | "heartbeat" | "hello-timeout") =>
    parseNumber(name, values[name], { min: 0, exclusive: true });
  const resumeWindowSec = seconds("resume-window");
  const heartbeatIntervalSec = seconds("heartbeat");
  const helloTimeoutMs = seconds("hello-timeout") * 1000;
  const count = (
    name: "max-connections" | "max-sessions-per-principal" | "max-jobs-per-principal",
  ) => parseNumber(name, values[name], { integer: true, min: 1 });
  const maxConnections = count("max-connections");
  const maxSessionsPerPrincipal = count("max-sessions-per-principal");
  const maxRunningJobsPerPrincipal = count("max-jobs-per-principal");
  const idleSessionSec = parseNumber("idle-session", values["idle-session"], { min: 0 });
  // Built first: a page that cannot be bundled stops serve before it opens anything.
  const dashboard = values.dashboard ? await loadDashboard() : undefined;
  // Lines of text, or with --json the same facts as JSON lines.
  const say = (text: string, type: string, payload: Record<string, unknown> = {}) =>
    values.json ? printLine(type, payload) : console.log(text);
  let tokens = parseTokens(values.token);
  if (Object.keys(tokens).length === 0 && !wantsJwt(values)) {
    const token = newResumeToken().slice(3);
    tokens = { [token]: "default" };
    say(`generated bearer token: ${token}`, "generated_token", { token });
  }
  // Debug lines go to stdout with console; JSON lines must be alone there.
  const logger = values.json
    ? { debug: console.error, warn: console.warn, error: console.error }
    : console;
  const authenticate = authenticator(tokens, values, logger);
  // What stops serve from starting is said in one line, and exits with 1.
  let store: Store;
  try {
    store = values.store === "kv"
      ? await openKvFile(values["kv-path"])
      : values.store === "postgres"
      ? await openPostgres(values["postgres-url"], values["postgres-schema"])
      : new MemoryStore();
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  const runtime = new Runtime({
    store,
    resumeWindowSec,
    heartbeatIntervalSec,
    helloTimeoutMs,
    maxConnections,
    maxSessionsPerPrincipal,
    maxRunningJobsPerPrincipal,
    idleSessionSec,
    authenticate,
    agents: values.demo ? demoAgents() : [],
    upgradeWebSocket: Deno.upgradeWebSocket,
    logger,
  });
  const stop = Promise.withResolvers<number>();
  const onSignal = () => stop.resolve(0);
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  signal?.addEventListener("abort", onSignal, { once: true });
  const watching = new AbortController();
  let server: Deno.HttpServer | undefined;
  try {
    if (values.store === "kv") {
      // Every write after a deletion would be lost: stop, and say why. The
      // file's identity is taken before "listening" is said: a deletion
      // right after it must not become the identity watched for.
      await watchKvFile(values["kv-path"], watching.signal, (why) => {
        logger.error(`${why}: stopping`);
        stop.resolve(1);
      });
    }
    server = Deno.serve({
      hostname: values.host,
      port,
      onListen: ({ hostname, port }) => {
        const url = `ws://${hostname}:${port}/arcp`;
        say(`arcp runtime listening on ${url}`, "listening", { url });
        if (dashboard === undefined) return;
        const page = `http://${hostname}:${port}/`;
        say(`dashboard at ${page}`, "dashboard", { url: page });
      },
    }, dashboard?.(runtime.fetch) ?? runtime.fetch);
  } catch (error) {
    const cause = error instanceof Deno.errors.AddrInUse
      ? "the address is already in use"
      : (error as Error).message;
    console.error(`Cannot listen on ${values.host}:${port}: ${cause}`);
    stop.resolve(1);
  }
  try {
    return await stop.promise;
  } finally {
    watching.abort();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    signal?.removeEventListener("abort", onSignal);
    await runtime.close();
    await server?.shutdown();
    await store.close?.();
    if (server !== undefined) say("arcp runtime stopped", "stopped");
  }
}
