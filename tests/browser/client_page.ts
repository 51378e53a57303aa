// Browser entry of client_chromium_test.ts: the page's client connects over a
// real WebSocket to the runtime of the test process (same origin, `/arcp`,
// the token in the page's query) and publishes what it saw of a streamed
// job, a cancelled one, a refused submit and a failing agent.

import { connect } from "../../client.ts";
import { ArcpError } from "../../protocol/errors.ts";
import type { JobHandle } from "../../client.ts";
import { publish } from "./_page.ts";

/** What the page observed; client_chromium_test.ts checks it. */
export interface ClientPageResult {
  sessionId: string;
  agents: string[];
  count: { agent: string; events: { kind: string; body: unknown }[]; result: unknown };
  cancel: { firstEvent: string; error: ErrorSeen; eventsAfterCancel: number };
  unknownAgent: ErrorSeen;
  failing: ErrorSeen;
  /** connect() to a path the server answers with 404, and to a port nothing listens on. */
  wrongPath: ErrorSeen;
  refused: ErrorSeen;
}

/** An error as the page caught it. */
export interface ErrorSeen {
  arcpError: boolean;
  code?: string;
  message: string;
}

function seen(error: unknown): ErrorSeen {
  if (error instanceof ArcpError) {
    return { arcpError: true, code: error.code, message: error.message };
  }
  return { arcpError: false, message: error instanceof Error ? error.message : String(error) };
}

async function failure(promise: Promise<unknown>): Promise<ErrorSeen> {
  try {
    await promise;
  } catch (error) {
    return seen(error);
  }
  throw new Error("expected a rejection");
}

async function events(job: JobHandle): Promise<{ kind: string; body: unknown }[]> {
  const list = [];
  for await (const event of job) list.push({ kind: event.payload.kind, body: event.payload.body });
  return list;
}

async function run(): Promise<ClientPageResult> {
  const query = new URLSearchParams(location.search);
  const token = query.get("token") ?? "";
  await using client = await connect(`ws://${location.host}/arcp`, { token });

  const counting = await client.submit("count", { n: 5 });
  const count = {
    agent: counting.agent,
    events: await events(counting),
    result: (await counting.result).result,
  };

  const sleeping = await client.submit("sleep", { ms: 600_000 });
  const reader = sleeping.events.getReader();
  const first = await reader.read();
  await sleeping.cancel({ reason: "cancelled by the page" });
  const error = await failure(sleeping.result);
  let eventsAfterCancel = 0;
  while (!(await reader.read()).done) eventsAfterCancel++;

  return {
    sessionId: client.sessionId,
    agents: client.agents.map((agent) => agent.name),
    count,
    cancel: { firstEvent: first.value?.payload.kind ?? "none", error, eventsAfterCancel },
    unknownAgent: await failure(client.submit("no-such-agent")),
    failing: await failure(
      client.submit("fail", { message: "boom in the page" }).then((job) => job.result),
    ),
    wrongPath: await failure(connect(`ws://${location.host}/wrong`, { token })),
    refused: await failure(connect(`ws://127.0.0.1:${query.get("refused")}/arcp`, { token })),
  };
}

publish(run);
