/**
 * An ARCP runtime as a Deno Deploy app: a `summarize` agent that fetches a
 * web page through its job's lease (`net.fetch`), reports progress while it
 * reads, and returns the page's title, size, leading sentences and keywords.
 * Sessions, event logs and jobs live in Deno KV, which every isolate of the
 * app shares: a client may resume on any isolate, and a job lost with an
 * isolate is reported as a retryable `INTERNAL_ERROR` by another one.
 *
 * Locally (see README.md beside this file):
 *
 * ```sh
 * ARCP_TOKENS=s3cret=alice ARCP_KV_PATH=arcp.kv deno serve -A examples/deploy/main.ts
 * ```
 *
 * Environment:
 * - `ARCP_TOKENS` (required): `token=principal` pairs separated by commas.
 * - `ARCP_KV_PATH`: a local Deno KV file; unset on Deno Deploy, where
 *   `Deno.openKv()` opens the app's database.
 * - `ARCP_INSTANCE_TTL_MS`: how long an isolate's heartbeat stays valid
 *   (default 10000): its jobs count as lost that long after it stops.
 * - `ARCP_STORE_POLL_MS`: how often a log written by another isolate is
 *   re-read besides KV's change notifications (default 2000).
 *
 * @module
 */

import { type AgentContext, type AgentDefinition, Runtime, staticTokens } from "../../runtime.ts";
import { openDenoKvStore } from "../../store/deno_kv.ts";

/** Input of the `summarize` agent. */
export interface SummarizeInput {
  /** The page to summarize; the job's lease must allow it under `net.fetch`. */
  url: string;
  /** Leading sentences to return, 1 to 10. */
  sentences?: number;
}

/** What `summarize` returns. */
export interface Summary {
  url: string;
  /** The HTML `<title>`, if any. */
  title: string | null;
  content_type: string | null;
  /** Bytes read (at most {@linkcode MAX_BYTES}). */
  bytes: number;
  words: number;
  /** The first sentences of the text. */
  summary: string[];
  /** The most frequent words of four letters or more, stop words aside. */
  keywords: string[];
}

/** Bytes of a page read at most: the rest is not summarized. */
const MAX_BYTES = 2 << 20;
const STOP_WORDS = new Set(
  ("about after also been before being between both could does each every from have here into " +
    "just more most much must only other over same should some such than that their them " +
    "then there these they this those through under very were what when where which while " +
    "will with would your").split(" "),
);

function count(name: string, fallback: number): number {
  const value = Number(Deno.env.get(name) ?? fallback);
  if (!(value > 0)) throw new TypeError(`Invalid ${name}: expected a positive number`);
  return value;
}

/** `token=principal,token=principal` as `staticTokens` wants it. */
function parseTokens(spec: string): Record<string, string> {
  const tokens: Record<string, string> = {};
  for (const pair of spec.split(",").map((part) => part.trim()).filter(Boolean)) {
    const at = pair.indexOf("=");
    if (at <= 0 || at === pair.length - 1) {
      throw new TypeError(`Invalid ARCP_TOKENS entry "${pair}": expected TOKEN=PRINCIPAL`);
    }
    tokens[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return tokens;
}

/** Reads a body to text, reporting the bytes read as progress. */
async function readText(response: Response, ctx: AgentContext): Promise<[string, number]> {
  const length = Number(response.headers.get("content-length"));
  const total = length > 0 ? Math.min(length, MAX_BYTES) : undefined;
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for await (const chunk of response.body ?? []) {
    const part = chunk.subarray(0, MAX_BYTES - bytes);
    bytes += part.byteLength;
    text += decoder.decode(part, { stream: true });
    await ctx.progress(bytes, total === undefined ? { units: "bytes" } : { total, units: "bytes" });
    if (bytes >= MAX_BYTES) break;
  }
  return [text + decoder.decode(), bytes];
}

/** The readable text of an HTML page, and its title. */
function fromHtml(html: string): { title: string | null; text: string } {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1]?.trim() ?? null;
  const text = html
    .replace(/<(script|style|head|title)[\s\S]*?<\/\1>/gi, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&nbsp;/g, " ").replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"').replace(/&#39;/g, "'");
  return { title, text };
}

async function summarize(input: SummarizeInput, ctx: AgentContext): Promise<Summary> {
  const url = String(input?.url ?? "");
  const wanted = Math.min(10, Math.max(1, Math.floor(input?.sentences ?? 3)));
  await ctx.status("fetching", url);
  // Checked against the lease first: a URL the lease does not name is refused.
  const response = await ctx.fetch(url);
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`${url} answered HTTP ${response.status}`);
  }
  const contentType = response.headers.get("content-type");
  const [raw, bytes] = await readText(response, ctx);
  await ctx.status("summarizing");
  const { title, text } = contentType?.includes("html")
    ? fromHtml(raw)
    : { title: null, text: raw };
  const clean = text.replace(/\s+/g, " ").trim();
  const words = clean.match(/\p{L}[\p{L}'’-]*/gu) ?? [];
  const frequency = new Map<string, number>();
  for (const word of words) {
    const key = word.toLowerCase();
    if (key.length >= 4 && !STOP_WORDS.has(key)) frequency.set(key, (frequency.get(key) ?? 0) + 1);
  }
  const keywords = [...frequency].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5).map(([word]) => word);
  const summary = clean.split(/(?<=[.!?])\s+/).filter((s) => s.length > 0).slice(0, wanted)
    .map((sentence) => sentence.length > 300 ? `${sentence.slice(0, 299)}…` : sentence);
  return { url, title, content_type: contentType, bytes, words: words.length, summary, keywords };
}

/** The agents this app serves. */
export const agents: AgentDefinition[] = [{
  name: "summarize",
  version: "1.0.0",
  handler: summarize,
}];

const tokens = parseTokens(Deno.env.get("ARCP_TOKENS") ?? "");
if (Object.keys(tokens).length === 0) {
  throw new TypeError("Set ARCP_TOKENS to TOKEN=PRINCIPAL pairs, separated by commas");
}
// Unset on Deno Deploy: the app's own KV database, shared by all its isolates.
const store = await openDenoKvStore(Deno.env.get("ARCP_KV_PATH"));
const runtime = new Runtime({
  store,
  agents,
  authenticate: staticTokens(tokens),
  upgradeWebSocket: Deno.upgradeWebSocket,
  instanceTtlMs: count("ARCP_INSTANCE_TTL_MS", 10_000),
  storePollMs: count("ARCP_STORE_POLL_MS", 2_000),
  logger: { debug() {}, warn: console.warn, error: console.error },
});

// Locally, `deno serve` stops serving at SIGTERM or SIGINT but lives on while
// timers run: close the runtime (running jobs end with a retryable
// INTERNAL_ERROR) and exit. Deno Deploy ends isolates itself, without signals.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  try {
    Deno.addSignalListener(signal, async () => {
      await runtime.close();
      await store.close();
      Deno.exit(0);
    });
  } catch {
    // No signals here.
  }
}

export default {
  fetch(request: Request): Response | Promise<Response> {
    if (new URL(request.url).pathname === "/") {
      return new Response(
        "An ARCP runtime: open a WebSocket to /arcp, or use its HTTP binding there\n",
      );
    }
    return runtime.fetch(request);
  },
} satisfies Deno.ServeDefaultExport;
