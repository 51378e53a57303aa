// Scenarios about the client API, and the scenarios that show known SDK bugs.

import assert from "node:assert/strict";
import type { Client } from "../../client.ts";
import { ArcpError, ConnectionClosedError } from "../../protocol/errors.ts";
import type { AgentDefinition } from "../../runtime.ts";
import { startHarness, type TransportKind, within } from "../_helpers.ts";
import { isArcpError } from "./_shared.ts";

// 11. Client API ----------------------------------------------------------------

function countingAgent(): AgentDefinition {
  return {
    name: "count",
    async handler(input: unknown, ctx) {
      const n = input as number;
      for (let i = 1; i <= n; i++) await ctx.progress(i, { total: n });
      return n;
    },
  };
}

export async function jobHandlesAreStreamsAndAsyncIterables(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind, { agents: [countingAgent()] });
  const client = await h.connect();

  const viaStream = await client.submit("count", 3);
  assert.ok(viaStream.events instanceof ReadableStream);
  const reader = viaStream.events.getReader();
  const currents: unknown[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    currents.push(value.payload.body.current);
  }
  assert.deepEqual(currents, [1, 2, 3]);
  assert.equal((await viaStream.result).result, 3);

  const viaIterator = await client.submit("count", 2);
  assert.equal(typeof viaIterator[Symbol.asyncIterator], "function");
  const kinds: string[] = [];
  for await (const event of viaIterator) kinds.push(event.payload.kind);
  assert.deepEqual(kinds, ["progress", "progress"]);

  // Leaving the loop early cancels the stream, not the job.
  const early = await client.submit("count", 4);
  for await (const event of early) {
    assert.equal(event.payload.body.current, 1);
    break;
  }
  assert.equal((await early.result).result, 4);

  const failing = await client.submit("echo@9.9.9").catch((error: unknown) => error);
  assert.ok(failing instanceof ArcpError);
}

export async function closedClientsRefuseWork(kind: TransportKind): Promise<void> {
  await using h = await startHarness(kind);
  const client = await h.connect();
  await client.close();
  await assert.rejects(client.submit("echo", 1), ConnectionClosedError);
  await client.close(); // idempotent

  let escaped: Client | undefined;
  {
    await using scoped = await h.connect();
    escaped = scoped;
    assert.equal((await (await scoped.submit("plain", "in scope")).result).result, "in scope");
  }
  await assert.rejects(escaped.submit("echo", 1), ConnectionClosedError);
}

export async function submitWithAnAbortedSignalRejectsWithItsReason(
  kind: TransportKind,
): Promise<void> {
  await using h = await startHarness(kind);
  const client = await h.connect();
  const reason = new Error("changed my mind");
  await assert.rejects(
    client.submit("echo", 1, { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  const custom = AbortSignal.abort("plain string reason");
  await assert.rejects(
    client.submit("echo", 1, { signal: custom }),
    (error) => error === "plain string reason",
  );
  // The client carries on.
  assert.equal((await (await client.submit("plain", 5)).result).result, 5);
}

/** An already-aborted signal sends no submit. */
export async function submitWithAnAbortedSignalStartsNoJob(kind: TransportKind): Promise<void> {
  let started = 0;
  await using h = await startHarness(kind, {
    agents: [{ name: "counted", handler: () => Promise.resolve(++started) }],
  });
  const client = await h.connect();
  await client.submit("counted", null, { signal: AbortSignal.abort() }).catch(() => {});
  // A later submit is handled after the first one would have been.
  await (await client.submit("echo", 1)).result;
  assert.equal(started, 0, "no job may run for a submit whose signal was already aborted");
}

/** A repeated idempotency_key returns the original job; other parameters are DUPLICATE_KEY (spec §7.2). */
export async function idempotentSubmitsReturnTheSameJob(kind: TransportKind): Promise<void> {
  let started = 0;
  await using h = await startHarness(kind, {
    agents: [{ name: "counted", handler: (input: unknown) => Promise.resolve([++started, input]) }],
  });
  const client = await h.connect();
  const first = await client.submit("counted", 1, { idempotencyKey: "weekly-report" });
  const again = await client.submit("counted", 1, { idempotencyKey: "weekly-report" });
  assert.equal(again.jobId, first.jobId, "the same key and parameters give the same job");
  await assert.rejects(
    client.submit("counted", 2, { idempotencyKey: "weekly-report" }),
    isArcpError("DUPLICATE_KEY"),
  );
  assert.equal(started, 1);
}

/** A result JSON cannot carry ends that job, not the connection. */
export async function unserialisableResultsEndTheJobNotTheSession(
  kind: TransportKind,
): Promise<void> {
  await using h = await startHarness(kind, {
    agents: [{ name: "bigint", handler: () => Promise.resolve({ n: 10n }) }],
  });
  const client = await h.connect();
  const job = await client.submit("bigint");
  await assert.rejects(
    within(job.result, "the bigint job to end", 2_000),
    isArcpError("INTERNAL_ERROR"),
  );
  const after = await within(client.submit("echo", 1), "a later submit", 2_000);
  assert.equal(((await after.result).result as { echoed: unknown }).echoed, 1);
}
