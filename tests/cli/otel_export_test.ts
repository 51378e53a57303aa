// `cli.ts serve --demo` under Deno's built-in OpenTelemetry (OTEL_DENO=true)
// exports the library's spans, made through `@opentelemetry/api`, as OTLP
// HTTP/JSON to a receiver on 127.0.0.1: a delegating job's span is in the
// trace the client submitted, and its child job's span is under it.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { eventually } from "../_helpers.ts";
import { startServe } from "../_serve.ts";

/** A span as OTLP/JSON carries it (the fields read here). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: { stringValue?: string } }[];
}

/** An OTLP/HTTP receiver that keeps the spans of every `POST /v1/traces`. */
function receiver(): { port: number; spans: OtlpSpan[] } & AsyncDisposable {
  const spans: OtlpSpan[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const body = await request.text();
    if (request.method === "POST" && new URL(request.url).pathname === "/v1/traces") {
      const sent = JSON.parse(body) as {
        resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const resource of sent.resourceSpans) {
        for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      }
    }
    return Response.json({});
  });
  return { port: server.addr.port, spans, [Symbol.asyncDispose]: () => server.shutdown() };
}

function attribute(span: OtlpSpan, key: string): string | undefined {
  return span.attributes.find((attribute) => attribute.key === key)?.value.stringValue;
}

Deno.test("serve --demo with OTEL_DENO=true exports a delegating job's spans in the submitted trace", async () => {
  await using otlp = receiver();
  const served = await startServe("t-otel", undefined, [], {
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlp.port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_SERVICE_NAME: "arcp-otel-test",
  });
  const traceId = "5bf92f3577b34da6a3ce929d0e0e4736";
  let parentId: string;
  try {
    const client = await connect(served.url, { token: "t-otel" });
    const job = await client.submit("delegate", { agent: "echo", input: "hi" }, {
      traceId: `00-${traceId}-00f067aa0ba902b7-01`,
      leaseRequest: { "agent.delegate": ["echo"] },
    });
    parentId = job.jobId;
    await job.result;
    await client.close();
  } finally {
    // A clean exit flushes what is not yet exported.
    const { code } = await served.stop();
    assert.equal(code, 0, served.stderr());
  }
  await eventually(
    () => Promise.resolve(otlp.spans.some((span) => span.name.startsWith("arcp.job echo"))),
    "the child job's span exported",
    20_000,
  );
  const inTrace = otlp.spans.filter((span) => span.traceId === traceId);
  const parent = inTrace.find((span) => span.name === "arcp.job delegate");
  assert.ok(parent, `the job's span is in the submitted trace: ${JSON.stringify(otlp.spans)}`);
  assert.equal(parent.parentSpanId, "00f067aa0ba902b7");
  assert.equal(attribute(parent, "arcp.job.id"), parentId);
  assert.equal(attribute(parent, "arcp.final_status"), "success");
  const child = inTrace.find((span) => span.name.startsWith("arcp.job echo"));
  assert.ok(child, "the child job's span is in the same trace");
  assert.equal(attribute(child, "arcp.job.parent_id"), parentId);
  // Under the parent's: through the delegation's span, itself the parent job's child.
  const delegation = inTrace.find((span) => span.spanId === child.parentSpanId);
  assert.equal(delegation?.name, "arcp.delegate echo");
  assert.equal(delegation.parentSpanId, parent.spanId);
});
