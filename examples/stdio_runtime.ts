/**
 * A runtime served over its own stdin and stdout (spec §4.2), the way an IDE
 * or supervisor runs an agent as a child process. Stdout carries only
 * NDJSON envelopes; diagnostics go to stderr. It serves one connection and
 * exits once the parent closes stdin. Run it through
 * `deno run -A examples/stdio_client.ts`.
 *
 * @module
 */

import { type AgentContext, Runtime, staticTokens } from "../runtime.ts";
import { stdioTransport } from "../transports/stdio_deno.ts";

async function count(input: { n?: number }, ctx: AgentContext): Promise<{ count: number }> {
  const n = Math.max(0, Math.floor(Number(input?.n ?? 3)));
  for (let current = 1; current <= n; current++) {
    ctx.signal.throwIfAborted();
    await ctx.progress(current, { total: n, units: "steps" });
  }
  return { count: n };
}

// Stdout is the transport: everything else goes to stderr.
const logger = {
  debug() {},
  warn: (...data: unknown[]) => console.error(...data),
  error: (...data: unknown[]) => console.error(...data),
};

const runtime = new Runtime({
  authenticate: staticTokens({ "stdio-token": "local" }),
  agents: [
    { name: "echo", handler: (input: unknown) => Promise.resolve({ echoed: input }) },
    { name: "count", handler: count },
  ],
  logger,
});

console.error("stdio runtime: serving on stdin/stdout");
await runtime.accept(stdioTransport());
await runtime.close();
console.error("stdio runtime: stdin closed, exiting");
