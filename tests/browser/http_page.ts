// Browser entry of http_chromium_test.ts: the page's client connects to the
// runtime of the test process over the HTTP binding (event stream down,
// POSTs up, through the page's streaming fetch), then with the default
// `"auto"` where the runtime refuses WebSocket upgrades, and publishes what
// each saw of a streamed job and a cancelled one.

import { connect } from "../../client.ts";
import { ArcpError } from "../../protocol/errors.ts";
import { publish } from "./_page.ts";

/** What one connection of the page saw; http_chromium_test.ts checks it. */
export interface HttpSessionSeen {
  sessionId: string;
  counts: number[];
  result: unknown;
  cancelCode: string;
}

/** What the page observed. */
export interface HttpPageResult {
  http: HttpSessionSeen;
  auto: HttpSessionSeen;
}

async function session(transport: "http" | "auto", token: string): Promise<HttpSessionSeen> {
  await using client = await connect(`http://${location.host}/arcp`, { token, transport });
  const counting = await client.submit("count", { n: 5 });
  const counts: number[] = [];
  for await (const event of counting) {
    counts.push((event.payload.body as { current: number }).current);
  }
  const sleeping = await client.submit("sleep", { ms: 600_000 });
  await sleeping.cancel({ reason: "cancelled by the page" });
  let cancelCode = "none";
  try {
    await sleeping.result;
  } catch (error) {
    cancelCode = error instanceof ArcpError ? error.code : String(error);
  }
  return {
    sessionId: client.sessionId,
    counts,
    result: (await counting.result).result,
    cancelCode,
  };
}

async function run(): Promise<HttpPageResult> {
  const token = new URLSearchParams(location.search).get("token") ?? "";
  return { http: await session("http", token), auto: await session("auto", token) };
}

publish(run);
