// Provisioned credentials (spec 1.1 §9.8, §14) over a real WebSocket: issued
// by job.accepted, one per job, revoked on every terminal state (children's
// too) through a durable ledger with retries, rotated with a status event,
// and never shown to anyone but the submitter.

import assert from "node:assert/strict";
import { ArcpError } from "../../protocol/errors.ts";
import type { JobEvent } from "../../protocol/events.ts";
import type { Frame } from "../../transports/types.ts";
import type { AgentContext, AgentDefinition } from "../../runtime.ts";
import { connect } from "../../client.ts";
import {
  eventually,
  type Harness,
  type RecordingStore,
  startHarness,
  tap,
  Taps,
} from "../_helpers.ts";
import { KeyUpstream } from "./_upstream.ts";

/** Jobs of the `hold` agent wait here until released (or cancelled). */
const gates = new Map<string, PromiseWithResolvers<void>>();
function gate(jobId: string): PromiseWithResolvers<void> {
  let waiter = gates.get(jobId);
  if (waiter === undefined) gates.set(jobId, waiter = Promise.withResolvers<void>());
  return waiter;
}
/** What each agent saw as `ctx.credentials`, by job. */
const seen = new Map<string, AgentContext["credentials"]>();

async function hold(_input: unknown, ctx: AgentContext): Promise<unknown> {
  seen.set(ctx.jobId, ctx.credentials);
  const stopped = new Promise((_, reject) =>
    ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true })
  );
  await Promise.race([gate(ctx.jobId).promise, stopped]);
  return { done: true };
}

const AGENTS: AgentDefinition[] = [
  { name: "hold", handler: hold },
  {
    name: "boom",
    handler: (_input: unknown, ctx) => {
      seen.set(ctx.jobId, ctx.credentials);
      return Promise.reject(new Error("the agent failed"));
    },
  },
  {
    name: "rotate",
    handler: async (_input: unknown, ctx) => {
      const [credential] = ctx.credentials;
      const rotated = await ctx.rotateCredential(credential!.id);
      seen.set(ctx.jobId, [rotated]);
      return await hold(_input, ctx);
    },
  },
  {
    name: "parent",
    handler: async (_input: unknown, ctx) => {
      seen.set(ctx.jobId, ctx.credentials);
      return await ctx.delegate("hold", null, { leaseRequest: { "tool.call": ["noop"] } });
    },
  },
];

function harness(upstream: KeyUpstream, extra: Record<string, unknown> = {}): Promise<Harness> {
  return startHarness("websocket", {
    agents: AGENTS,
    runtime: {
      provisioner: upstream,
      revocationRetry: { initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 5 },
      // bob may observe alice's jobs: credentials must still never reach him.
      subscribePolicy: () => true,
      ...extra,
    },
  });
}

async function ledgerIds(h: Harness): Promise<string[]> {
  return (await h.runtime.outstandingCredentials()).map((record) => record.credential_id);
}

Deno.test("provisioned_credentials is advertised only by a runtime with a provisioner", async () => {
  await using plain = await startHarness("websocket");
  assert.equal((await plain.connect()).features.has("provisioned_credentials"), false);
  await using h = await harness(new KeyUpstream());
  assert.equal((await h.connect()).features.has("provisioned_credentials"), true);
});

Deno.test("job.accepted carries one credential per job, scoped to the lease, the same the agent sees", async () => {
  const upstream = new KeyUpstream();
  await using h = await harness(upstream);
  const client = await h.connect();
  const lease = { "cost.budget": ["USD:5.00"], "model.use": ["tier-fast/*"] };
  const expiresAt = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
  const first = await client.submit("hold", null, {
    leaseRequest: lease,
    leaseConstraints: { expires_at: expiresAt },
  });
  const second = await client.submit("hold", null);
  const [credential] = first.credentials;
  assert.equal(first.credentials.length, 1);
  assert.match(credential!.id, /^cred_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(credential!.scheme, "bearer");
  assert.equal(credential!.endpoint, "https://gateway.example.com/v1");
  assert.equal(credential!.profile, "openai");
  assert.deepEqual(credential!.constraints, {
    "cost.budget": ["USD:5"],
    "model.use": ["tier-fast/*"],
    expires_at: expiresAt,
  });
  assert.equal(upstream.live.get(credential!.id), credential!.value);
  assert.notEqual(second.credentials[0]!.value, credential!.value);
  assert.equal(upstream.requests[0]!.jobId, first.jobId);
  assert.equal(upstream.requests[0]!.principal, "alice");
  // The agent holds the same credential; the handle keeps it out of `accepted`.
  await eventually(() => Promise.resolve(seen.has(first.jobId)), "the agent to start");
  assert.deepEqual(seen.get(first.jobId), first.credentials);
  assert.equal(first.accepted.credentials, undefined);
  assert.deepEqual(await ledgerIds(h), [credential!.id, second.credentials[0]!.id].sort());
  gate(first.jobId).resolve();
  gate(second.jobId).resolve();
  await first.result;
  await second.result;
  await eventually(async () => (await ledgerIds(h)).length === 0, "the ledger to empty");
  assert.equal(upstream.live.size, 0);
  assert.deepEqual(first.credentials, [], "the client forgets credentials when the job ends");
});

Deno.test("credentials are revoked on every terminal state: success, error, cancelled, timed_out", async () => {
  const upstream = new KeyUpstream();
  await using h = await harness(upstream);
  const client = await h.connect();
  const succeeded = await client.submit("hold", null);
  const failed = await client.submit("boom", null);
  const cancelled = await client.submit("hold", null);
  const timedOut = await client.submit("hold", null, { maxRuntimeSec: 0.05 });
  const ids = upstream.requests.map((request) => request.credentialId);
  assert.equal(ids.length, 4);
  gate(succeeded.jobId).resolve();
  await succeeded.result;
  await assert.rejects(failed.result, { code: "INTERNAL_ERROR" });
  await cancelled.cancel();
  await assert.rejects(cancelled.result, { code: "CANCELLED" });
  await assert.rejects(timedOut.result, { code: "TIMEOUT" });
  await Promise.all(ids.map((id) => upstream.revoked(id).promise));
  assert.equal(upstream.live.size, 0);
  await eventually(async () => (await ledgerIds(h)).length === 0, "the ledger to empty");
});

Deno.test("a failing issue refuses the job with a retryable INTERNAL_ERROR and still revokes the id", async () => {
  const upstream = new KeyUpstream();
  upstream.issueError = new Error("gateway is down");
  await using h = await harness(upstream);
  const client = await h.connect();
  await assert.rejects(client.submit("hold", null), (error: unknown) => {
    assert.ok(error instanceof ArcpError);
    assert.equal(error.code, "INTERNAL_ERROR");
    assert.equal(error.retryable, true);
    assert.match(error.message, /gateway is down/);
    return true;
  });
  const id = upstream.requests[0]!.credentialId;
  await upstream.revoked(id).promise;
  await eventually(async () => (await ledgerIds(h)).length === 0, "the ledger to empty");
  const { jobs } = (await client.listJobs()[Symbol.asyncIterator]().next()).value!;
  assert.deepEqual(jobs, [], "no job was stored");
});

Deno.test("revocation is retried with backoff; the ledger keeps the id, with the secret redacted, until it succeeds", async () => {
  const upstream = new KeyUpstream();
  upstream.failRevocations = 3;
  upstream.quoteKeyInErrors = true;
  const failures: string[] = [];
  await using h = await harness(upstream, {
    revocationRetry: { initialDelayMs: 40, maxDelayMs: 40, maxAttempts: 10 },
  });
  const client = await h.connect();
  const job = await client.submit("hold", null);
  const { id, value } = job.credentials[0]!;
  gate(job.jobId).resolve();
  await job.result;
  await eventually(async () => {
    const [record] = await h.runtime.outstandingCredentials();
    if (record?.state === "revoking" && record.attempts >= 1) failures.push(record.last_error!);
    return failures.length > 0;
  }, "a failed attempt to be recorded");
  assert.match(failures[0]!, /gateway unavailable \(503\) revoking \[redacted\]/);
  assert.ok(!failures[0]!.includes(value));
  await upstream.revoked(id).promise;
  assert.equal(upstream.revokeFailures, 3);
  await eventually(async () => (await ledgerIds(h)).length === 0, "the ledger to empty");
});

Deno.test("a credential that cannot be revoked is marked unrevocable, logged without its value and reported", async () => {
  const upstream = new KeyUpstream();
  upstream.failRevocations = Number.POSITIVE_INFINITY;
  upstream.quoteKeyInErrors = true;
  const logged: string[] = [];
  const reported = Promise.withResolvers<unknown>();
  await using h = await harness(upstream, {
    revocationRetry: { initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 },
    onUnrevocable: reported.resolve,
    logger: { debug() {}, warn() {}, error: (...args: unknown[]) => logged.push(args.join(" ")) },
  });
  const client = await h.connect();
  const job = await client.submit("hold", null);
  const { id, value } = job.credentials[0]!;
  gate(job.jobId).resolve();
  await job.result;
  const record = await reported.promise as { credential_id: string; state: string };
  assert.equal(record.credential_id, id);
  assert.equal(record.state, "unrevocable");
  const [stored] = await h.runtime.outstandingCredentials();
  assert.equal(stored?.state, "unrevocable");
  assert.equal(stored?.attempts, 3);
  assert.ok(logged.some((line) => line.includes(id) && line.includes("still live")));
  assert.ok(logged.every((line) => !line.includes(value)));
});

Deno.test("a delegated child gets its own credential, revoked at once when the parent ends", async () => {
  const upstream = new KeyUpstream();
  await using h = await harness(upstream);
  const client = await h.connect();
  const parent = await client.submit("parent", null, {
    leaseRequest: { "agent.delegate": ["hold"], "tool.call": ["noop"] },
  });
  await eventually(() => Promise.resolve(upstream.requests.length === 2), "the child's issue");
  const childRequest = upstream.requests[1]!;
  assert.equal(childRequest.parentJobId, parent.jobId);
  assert.deepEqual(childRequest.lease, { "tool.call": ["noop"] });
  const childCredential = childRequest.credentialId;
  assert.notEqual(childCredential, parent.credentials[0]!.id);
  // The child's agent ignores nothing: it is still inside its cancel grace
  // when the parent ends, yet its credential must already be revoked.
  await parent.cancel();
  await assert.rejects(parent.result, { code: "CANCELLED" });
  await upstream.revoked(childCredential).promise;
  await upstream.revoked(parent.credentials[0]?.id ?? upstream.requests[0]!.credentialId).promise;
  assert.equal(upstream.live.size, 0);
});

Deno.test("rotation emits credential_rotated with the new value to the submitter, without it to other principals", async () => {
  const upstream = new KeyUpstream();
  await using h = await harness(upstream);
  // Unacknowledged, alice's events stay in the log for bob's history replay.
  const alice = await h.connect({ autoAck: false });
  const job = await alice.submit("rotate", null);
  // The rotation may already have arrived: the issued value is the upstream's first.
  const original = { id: upstream.requests[0]!.credentialId, value: upstream.minted[0]! };
  const events: JobEvent[] = [];
  const reader = (async () => {
    for await (const event of job) {
      events.push(event);
      if (event.payload.kind === "status") break;
    }
  })();
  await reader;
  const rotated = events.find((event) => event.payload.kind === "status")!;
  assert.equal(rotated.payload.body.phase, "credential_rotated");
  assert.equal(rotated.payload.body.credential_id, original.id);
  const newValue = rotated.payload.body.value as string;
  assert.notEqual(newValue, original.value);
  assert.equal(upstream.live.get(original.id), newValue, "the upstream holds only the new value");
  assert.equal(job.credentials[0]!.value, newValue, "the handle follows the rotation");

  const taps = new Taps();
  const attached = await h.attach();
  const bob = await connect(tap(attached.transport, taps), { token: "t-bob" });
  const watched = await bob.subscribe(job.jobId, { history: true });
  assert.deepEqual(watched.credentials, []);
  gate(job.jobId).resolve();
  await watched.result;
  const seenByBob = JSON.stringify(taps.received.frames);
  assert.match(seenByBob, /credential_rotated/);
  assert.ok(!seenByBob.includes(newValue) && !seenByBob.includes(original.value));
  await bob.close();
});

Deno.test("secrets never reach another principal, a log line, an error message, a listing or the store", async () => {
  const upstream = new KeyUpstream();
  upstream.failRevocations = 1;
  upstream.quoteKeyInErrors = true;
  const logged: string[] = [];
  const line = (...args: unknown[]) => logged.push(args.map((a) => String(a)).join(" "));
  const consoled: string[] = [];
  const original = { log: console.log, error: console.error, warn: console.warn };
  console.log = console.error = console.warn = (...args: unknown[]) =>
    consoled.push(args.map(String).join(" "));
  try {
    await using h = await harness(upstream, { logger: { debug: line, warn: line, error: line } });
    const aliceTaps = new Taps();
    const aliceSide = await h.attach();
    const alice = await connect(tap(aliceSide.transport, aliceTaps), { token: "t-alice" });
    const bobTaps = new Taps();
    const bobSide = await h.attach();
    const bob = await connect(tap(bobSide.transport, bobTaps), { token: "t-bob" });

    const running = await alice.submit("rotate", null);
    const failing = await alice.submit("boom", null);
    await assert.rejects(failing.result);
    const watched = await bob.subscribe(running.jobId, { history: true });
    for await (const page of bob.listJobs()) assert.deepEqual(page.jobs, []);
    await assert.rejects(bob.subscribe("job_01ARZ3NDEKTSV4RRFFQ69G5FAV"), {
      code: "JOB_NOT_FOUND",
    });
    // The submitter's own listing is the one place a running job's credential appears.
    await eventually(() => Promise.resolve(upstream.minted.length === 3), "the rotation");
    const [page] = await Array.fromAsync(alice.listJobs({ filter: { status: ["running"] } }));
    assert.equal(
      page!.jobs[0]!.credentials?.[0]?.value,
      upstream.live.get(running.credentials[0]!.id),
    );
    gate(running.jobId).resolve();
    await running.result;
    await watched.result;
    await eventually(async () => (await ledgerIds(h)).length === 0, "the ledger to empty");

    const aliceSaw = JSON.stringify(aliceTaps.received.frames);
    assert.ok(
      upstream.minted.every((secret) => aliceSaw.includes(secret)),
      "alice got every value",
    );
    const store = h.store as RecordingStore;
    const leaks = {
      bob: JSON.stringify(bobTaps.received.frames),
      logs: logged.join("\n"),
      console: consoled.join("\n"),
      errors: JSON.stringify(
        aliceTaps.received.frames.filter((f: Frame) =>
          (f as { type?: string }).type === "job.error"
        ),
      ),
      jobs: JSON.stringify(await Array.fromAsync(store.listUnfinishedJobs())) +
        JSON.stringify((await store.listJobs({ principal: "alice", limit: 100 })).jobs),
      ledger: JSON.stringify(await Array.fromAsync(store.listCredentials())),
      sessions: JSON.stringify(await Array.fromAsync(store.listSessions())),
    };
    for (const [where, text] of Object.entries(leaks)) {
      for (const secret of upstream.minted) {
        assert.ok(!text.includes(secret), `a credential value leaked into ${where}`);
      }
    }
    // The log holds events, never job.accepted: only a rotation's value,
    // the submitter's own, is logged (for resume replay) until acknowledged.
    const logText = JSON.stringify(
      await Array.fromAsync(store.read(alice.sessionId, { after: 0 })),
    );
    assert.ok(!logText.includes(upstream.minted[0]!), "the issued value is never stored");
    await alice.close();
    await bob.close();
  } finally {
    Object.assign(console, original);
  }
});
