// OpenTelemetry through `@opentelemetry/api` (docs/telemetry.md), over a real
// WebSocket on 127.0.0.1, with in-memory providers registered for this
// module: a span per job in the job's trace under the submit's W3C context,
// child spans per tool call, fetch, delegation and model use, span events
// for lease refusals, the client's submit span, the metrics, and no secret
// in any of it.

import assert from "node:assert/strict";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { AgentContext, AgentDefinition } from "../../runtime.ts";
import { ArcpError } from "../../protocol/errors.ts";
import { bounded, eventually, type Harness, serveHttp, startHarness, TOKEN } from "../_helpers.ts";
import { type RecordedSpan, registerMemoryProviders } from "../_otel.ts";
import { KeyUpstream } from "./_upstream.ts";

const { tracer: spans, meter } = registerMemoryProviders();

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN}-01`;

const AGENTS: AgentDefinition[] = [
  {
    name: "delegator",
    handler: (_input: unknown, ctx: AgentContext) =>
      ctx.delegate("plain", { from: "parent" }, { leaseRequest: {} }),
  },
  {
    name: "worker",
    handler: async (input: { url: string }, ctx: AgentContext) => {
      await ctx.tool("search", () => "found", { args: { q: "x" } });
      ctx.useModel("tier-fast/small");
      await ctx.fetch(input.url);
      await ctx.fetch("http://127.0.0.1:9/denied").catch(() => {});
      await ctx.metric("cost.usd", 1, { unit: "USD" });
      // The budget is spent: this call is refused with BUDGET_EXHAUSTED.
      await ctx.tool("search", () => "more").catch(() => {});
      return { done: true };
    },
  },
  {
    name: "failing",
    handler: () => Promise.reject(new ArcpError("PERMISSION_DENIED", "not for you")),
  },
  {
    name: "secretive",
    handler: async (input: { url: string }, ctx: AgentContext) => {
      await ctx.log("info", `using ${ctx.credentials[0]?.value}`);
      await ctx.fetch(input.url).catch(() => {});
      return { ok: true };
    },
  },
];

/** Spans of the trace, by name: exactly one each. */
function only(name: string, trace = TRACE_ID): RecordedSpan {
  const found = spans.named(name).filter((span) => span.traceId === trace);
  assert.equal(found.length, 1, `one ${name} span in trace ${trace}: ${found.length}`);
  return found[0]!;
}

/** Waits until the span named `name` in `trace` has ended (a job's ends once its end is stored). */
async function ended(name: string, trace = TRACE_ID): Promise<RecordedSpan> {
  await eventually(
    () => Promise.resolve(spans.named(name).some((s) => s.traceId === trace && s.ended)),
    `the ${name} span to end`,
  );
  return only(name, trace);
}

function harness(extra: Record<string, unknown> = {}): Promise<Harness> {
  return startHarness("websocket", { agents: AGENTS, runtime: { ...extra } });
}

Deno.test(
  "a job's span is in the submitted trace, under the traceparent's span, with its arcp attributes",
  bounded(async () => {
    await using h = await harness();
    const raw = await h.raw();
    const welcome = await raw.hello();
    await raw.request("job.submit", { agent: "plain", input: 1 }, { trace_id: TRACEPARENT });
    const frames = await raw.until((frame) => frame.type === "job.result");
    const jobId = frames.at(-1)!.job_id as string;
    const job = await ended("arcp.job plain");
    assert.equal(job.parentSpanId, PARENT_SPAN);
    assert.equal(job.kind, SpanKind.SERVER);
    assert.deepEqual(job.attributes, {
      "arcp.job.id": jobId,
      "arcp.agent": "plain",
      "arcp.session.id": welcome.session_id,
      "arcp.principal": "alice",
      "arcp.final_status": "success",
    });
    assert.equal(job.status.code, SpanStatusCode.UNSET);
  }),
);

Deno.test(
  "a delegated job's span is under its parent's delegation span, in the parent's trace",
  bounded(async () => {
    await using h = await harness();
    const trace = "0af7651916cd43dd8448eb211c80319c";
    const raw = await h.raw();
    await raw.hello();
    await raw.request("job.submit", {
      agent: "delegator",
      lease_request: { "agent.delegate": ["plain"] },
    }, { trace_id: trace });
    const accepted = await raw.until((frame) => frame.type === "job.accepted");
    const parentId = accepted.at(-1)!.job_id;
    await raw.until((frame) => frame.type === "job.result" && frame.job_id === parentId);
    const parent = await ended("arcp.job delegator", trace);
    const child = await ended("arcp.job plain", trace);
    const delegation = only("arcp.delegate plain", trace);
    assert.equal(delegation.parentSpanId, parent.spanId);
    assert.equal(child.parentSpanId, delegation.spanId);
    assert.equal(child.attributes["arcp.job.parent_id"], parent.attributes["arcp.job.id"]);
    assert.ok(delegation.ended);
    assert.equal(delegation.attributes["arcp.delegate.agent"], "plain");
  }),
);

Deno.test(
  "tool calls, fetches and model use are child spans; lease denials and budget exhaustion are events",
  bounded(async () => {
    const traceparents: string[] = [];
    await using server = await serveHttp((request) => {
      traceparents.push(request.headers.get("traceparent") ?? "");
      return new Response("ok");
    });
    await using h = await harness();
    const url = `http://127.0.0.1:${server.port}/data?key=query-secret`;
    const raw = await h.raw();
    await raw.hello();
    await raw.request("job.submit", {
      agent: "worker",
      input: { url },
      lease_request: {
        "tool.call": ["search"],
        "model.use": ["tier-fast/*"],
        "net.fetch": [`http://127.0.0.1:${server.port}/**`],
        "cost.budget": ["USD:1"],
      },
    }, { trace_id: TRACEPARENT });
    await raw.until((frame) => frame.type === "job.result");
    const job = await ended("arcp.job worker");
    const tools = spans.named("arcp.tool search").filter((span) => span.traceId === TRACE_ID);
    assert.equal(tools.length, 2);
    for (const tool of tools) assert.equal(tool.parentSpanId, job.spanId);
    assert.equal(tools[0]!.status.code, SpanStatusCode.UNSET);
    assert.equal(tools[1]!.attributes["arcp.error.code"], "BUDGET_EXHAUSTED");
    const model = only("arcp.model tier-fast/small");
    assert.equal(model.parentSpanId, job.spanId);
    const fetches = spans.named("arcp.fetch").filter((span) => span.traceId === TRACE_ID);
    assert.equal(fetches.length, 2);
    const [allowed, denied] = fetches;
    assert.equal(allowed!.parentSpanId, job.spanId);
    // The server's spans go under the fetch's: its traceparent names that span.
    assert.deepEqual(traceparents, [`00-${TRACE_ID}-${allowed!.spanId}-01`]);
    assert.equal(allowed!.attributes["url.full"], `http://127.0.0.1:${server.port}/data`);
    assert.equal(denied!.attributes["arcp.error.code"], "PERMISSION_DENIED");
    assert.deepEqual(job.events.map((event) => event.name), [
      "arcp.lease.denied",
      "arcp.budget.exhausted",
    ]);
    assert.deepEqual(job.events[0]!.attributes, {
      "arcp.capability": "net.fetch",
      "arcp.target": "http://127.0.0.1:9/denied",
      "arcp.error.code": "PERMISSION_DENIED",
    });
    assert.deepEqual(job.attributes["arcp.budget.remaining"], ["USD:0"]);
  }),
);

Deno.test(
  "a failed job's span has the error status, its final status and its error code",
  bounded(async () => {
    await using h = await harness();
    const trace = "11111111111111111111111111111111";
    const raw = await h.raw();
    await raw.hello();
    await raw.request("job.submit", { agent: "failing" }, { trace_id: trace });
    await raw.until((frame) => frame.type === "job.error");
    const job = await ended("arcp.job failing", trace);
    assert.equal(job.status.code, SpanStatusCode.ERROR);
    assert.equal(job.attributes["arcp.final_status"], "error");
    assert.equal(job.attributes["arcp.error.code"], "PERMISSION_DENIED");
    // A bare trace-id names no span: the parent is a placeholder made from it.
    assert.equal(job.parentSpanId, trace.slice(16));
  }),
);

Deno.test(
  "the client's submit span carries its caller's trace into the runtime's job span",
  bounded(async () => {
    await using h = await harness();
    const client = await h.connect();
    const trace = "22222222222222222222222222222222";
    const job = await client.submit("plain", 1, { traceId: `00-${trace}-${PARENT_SPAN}-01` });
    await job.result;
    const submit = only("arcp.submit plain", trace);
    assert.equal(submit.parentSpanId, PARENT_SPAN);
    assert.equal(submit.kind, SpanKind.CLIENT);
    assert.equal(submit.attributes["arcp.job.id"], job.jobId);
    assert.equal(job.traceId, trace);
    const runtimeSpan = await ended("arcp.job plain", trace);
    assert.equal(runtimeSpan.parentSpanId, submit.spanId);
    // An invalid trace id is sent as it is, and refused by the runtime.
    await assert.rejects(client.submit("plain", 1, { traceId: "not-a-trace" }), (error) => {
      assert.equal((error as ArcpError).code, "INVALID_REQUEST");
      return true;
    });
    const refused = spans.named("arcp.submit plain").at(-1)!;
    assert.equal(refused.attributes["arcp.error.code"], "INVALID_REQUEST");
    assert.ok(refused.ended);
  }),
);

Deno.test(
  "the runtime's metrics: jobs started and ended by status, events, sessions, ack lag, append time",
  bounded(async () => {
    meter.measurements.length = 0;
    await using h = await harness();
    const client = await h.connect();
    const job = await client.submit("failing");
    await job.result.catch(() => {});
    const ok = await client.submit("plain", 2);
    for await (const _ of ok.events) { /* read to the end, acknowledging */ }
    await ok.result;
    await eventually(
      () => Promise.resolve(meter.of("arcp.jobs.ended").length === 2),
      "both jobs counted ended",
    );
    assert.deepEqual(meter.of("arcp.jobs.started").map((m) => m.attributes["arcp.agent"]), [
      "failing",
      "plain",
    ]);
    assert.deepEqual(meter.of("arcp.jobs.ended").map((m) => m.attributes), [
      {
        "arcp.agent": "failing",
        "arcp.final_status": "error",
        "arcp.error.code": "PERMISSION_DENIED",
      },
      { "arcp.agent": "plain", "arcp.final_status": "success" },
    ]);
    const events = meter.of("arcp.events.emitted").reduce((sum, m) => sum + m.value, 0);
    assert.ok(events >= 2, `the two ends were appended: ${events}`);
    const appends = meter.of("arcp.store.append.duration");
    assert.ok(appends.length > 0 && appends.every((m) => m.value >= 0));
    await meter.collect();
    const sessions = meter.of("arcp.sessions").at(-1)!;
    assert.equal(sessions.value, 1);
    assert.equal(sessions.attributes["arcp.instance.id"] !== undefined, true);
    await eventually(() => Promise.resolve(meter.of("arcp.ack.lag").length > 0), "an ack");
    assert.ok(meter.of("arcp.ack.lag").every((m) => m.value >= 0));
    // A closed runtime stops reporting its sessions.
    const observers = meter.observers;
    await h.runtime.close();
    assert.equal(meter.observers, observers - 1);
  }),
);

Deno.test(
  "no bearer token, credential value or URL secret appears in any span, event or metric",
  bounded(async () => {
    await using server = await serveHttp(() => new Response("ok"));
    const upstream = new KeyUpstream();
    await using h = await harness({ provisioner: upstream });
    const client = await h.connect();
    const trace = "33333333333333333333333333333333";
    const url = `http://user:userinfo-secret@127.0.0.1:${server.port}/x?token=query-secret`;
    const job = await client.submit("secretive", { url }, {
      traceId: trace,
      leaseRequest: { "net.fetch": [`http://127.0.0.1:${server.port}/**`] },
    });
    await job.result;
    await ended("arcp.job secretive", trace);
    assert.ok(upstream.minted.length > 0, "a credential was issued");
    const everything = JSON.stringify({ spans: spans.spans, metrics: meter.measurements });
    for (const secret of [TOKEN, ...upstream.minted, "userinfo-secret", "query-secret"]) {
      assert.ok(!everything.includes(secret), `"${secret}" appears in the telemetry`);
    }
  }),
);
