// A job's authority outside the scenario matrix: the demo `files` agent
// reading through its fs.read lease; redirects, expiry, repeated keys and
// ended jobs over every transport.

import assert from "node:assert/strict";
import { demoAgents } from "../../cli/demo_agents.ts";
import { connect } from "../../client.ts";
import { ArcpError } from "../../protocol/errors.ts";
import type { JobEvent } from "../../protocol/events.ts";
import { type AgentContext, type AgentDefinition, Runtime, staticTokens } from "../../runtime.ts";
import { memoryTransportPair } from "../../transports/memory.ts";
import {
  bounded,
  eventually,
  type RecordingStore,
  startHarness,
  TOKEN,
  TRANSPORT_KINDS,
} from "../_helpers.ts";
import type { Frame } from "../../transports/types.ts";
import { isTerminal, payloadOf } from "../scenarios/_shared.ts";

// The files agent (cli/files_agent.ts) ----------------------------------------------

/** A directory tree of three small text files; removed on dispose. */
async function fileTree(): Promise<{ root: string } & AsyncDisposable> {
  const made = await Deno.makeTempDir({ prefix: "arcp-authority-test-" });
  const root = await Deno.realPath(made);
  await Deno.mkdir(`${root}/sub`);
  await Deno.writeTextFile(`${root}/a.txt`, "one two\nthree\n");
  await Deno.writeTextFile(`${root}/b.md`, "# title\n");
  await Deno.writeTextFile(`${root}/sub/c.ts`, "export {};\n");
  return { root, [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }) };
}

/** A runtime with the demo agents and a client connected to it over the memory transport. */
async function demoRuntime() {
  const runtime = new Runtime({ authenticate: staticTokens({ t: "alice" }), agents: demoAgents() });
  const [clientSide, runtimeSide] = memoryTransportPair();
  runtime.accept(runtimeSide);
  const client = await connect(clientSide, { token: "t" });
  return {
    client,
    async [Symbol.asyncDispose]() {
      await client.close();
      await runtime.close();
    },
  };
}

interface FilesReport {
  files: number;
  lines: number;
  words: number;
  bytes: number;
  denied: string[];
  skipped: string[];
}

Deno.test(
  "the files agent cannot list a root outside its lease: PERMISSION_DENIED, no name of the tree sent",
  bounded(async () => {
    await using tree = await fileTree();
    await using demo = await demoRuntime();
    const cases: [string, Record<string, string[]> | undefined][] = [
      ["no lease", undefined],
      ["another capability", { "tool.call": ["*"] }],
      ["another directory", { "fs.read": [`${tree.root}-other/**`] }],
      ["a subdirectory", { "fs.read": [`${tree.root}/sub/**`] }],
      ["some of its files", { "fs.read": [`${tree.root}/*.txt`] }],
    ];
    for (const [label, leaseRequest] of cases) {
      const job = await demo.client.submit(
        "files",
        { root: tree.root },
        leaseRequest === undefined ? {} : { leaseRequest },
      );
      const events: JobEvent[] = [];
      for await (const event of job) events.push(event);
      await assert.rejects(job.result, (error: unknown) => {
        assert.ok(error instanceof ArcpError, label);
        assert.equal(error.code, "PERMISSION_DENIED", label);
        return true;
      });
      // One refused listing of the root and nothing else.
      const calls = events.filter((e) => e.payload.kind === "tool_call");
      assert.deepEqual(calls.map((e) => (e.payload.body as { tool: string }).tool), [
        "fs.read_dir",
      ], label);
      const sent = JSON.stringify(events);
      for (const name of ["a.txt", "b.md", "c.ts"]) assert.ok(!sent.includes(name), label);
    }
  }),
);

Deno.test(
  "the files agent reads only the files its lease covers and lists only the directories it covers",
  bounded(async () => {
    await using tree = await fileTree();
    await using demo = await demoRuntime();
    const { root } = tree;
    // What the lease covers, what is denied, how many files are counted and tool calls made.
    const cases: [string, string[], string[], number, number][] = [
      [
        "the root, a.txt and sub",
        [root, `${root}/a.txt`, `${root}/sub`],
        ["b.md", "sub/c.ts"],
        1,
        5,
      ],
      ["the root and a.txt", [root, `${root}/a.txt`], ["sub/", "b.md"], 1, 4],
      ["the whole tree", [`${root}/**`], [], 3, 5],
    ];
    for (const [label, patterns, denied, files, toolCalls] of cases) {
      const job = await demo.client.submit("files", { root }, {
        leaseRequest: { "fs.read": patterns },
      });
      const events: JobEvent[] = [];
      for await (const event of job) events.push(event);
      const report = (await job.result).result as FilesReport;
      assert.deepEqual(report.denied, denied, label);
      assert.equal(report.files, files, label);

      // A tool call per listing and per read, each answered; the denied ones with PERMISSION_DENIED.
      const calls = events.filter((e) => e.payload.kind === "tool_call");
      const results = events.filter((e) => e.payload.kind === "tool_result");
      assert.equal(calls.length, toolCalls, label);
      assert.equal(results.length, toolCalls, label);
      const refusals = results.flatMap((e) => {
        const body = e.payload.body as { error?: { code: string; retryable: boolean } };
        return body.error === undefined ? [] : [body.error];
      });
      assert.equal(refusals.length, denied.length, label);
      for (const refusal of refusals) {
        assert.deepEqual(
          { code: refusal.code, retryable: refusal.retryable },
          { code: "PERMISSION_DENIED", retryable: false },
          label,
        );
      }
      for (const call of calls) {
        const body = call.payload.body as { tool: string; args: { path: string } };
        assert.ok(["fs.read", "fs.read_dir"].includes(body.tool), body.tool);
        assert.ok(body.args.path === root || body.args.path.startsWith(`${root}/`), body.args.path);
      }
    }
  }),
);

/**
 * A lease's directory `leased` beside a `sibling` and under a parent, both
 * holding names the lease does not cover; removed on dispose.
 */
async function leasedBeside(): Promise<{ base: string } & AsyncDisposable> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "arcp-files-lease-" }));
  await Deno.mkdir(`${base}/leased/inner`, { recursive: true });
  await Deno.mkdir(`${base}/sibling/hidden-dir`, { recursive: true });
  await Deno.mkdir(`${base}/parent-hidden-dir`);
  await Deno.writeTextFile(`${base}/leased/x.txt`, "in the lease\n");
  await Deno.writeTextFile(`${base}/leased/inner/y.md`, "also\n");
  await Deno.writeTextFile(`${base}/sibling/sibling-secret.txt`, "no\n");
  await Deno.writeTextFile(`${base}/parent-secret.txt`, "no\n");
  await Deno.symlink(`${base}/sibling`, `${base}/leased/link-dir`);
  await Deno.symlink(`${base}/parent-secret.txt`, `${base}/leased/link-file`);
  return { base, [Symbol.asyncDispose]: () => Deno.remove(base, { recursive: true }) };
}

Deno.test(
  "over WebSocket, the files agent walking the lease's parent or a sibling is refused and sends no name from outside",
  bounded(async () => {
    await using dirs = await leasedBeside();
    const { base } = dirs;
    const files = demoAgents().find((agent) => agent.name === "files")!;
    await using harness = await startHarness("websocket", { agents: [files] });
    const raw = await harness.raw();
    await raw.hello();
    const walk = async (root: string) => {
      const id = await raw.submit("files", { root }, {
        lease_request: { "fs.read": [`${base}/leased/**`] },
      });
      const frames = await raw.until((f) =>
        isTerminal(f) || (f.type === "session.error" && payloadOf(f).request_id === id)
      );
      return { frames, terminal: frames.at(-1)! };
    };
    const outside = /secret|hidden-dir/;
    for (
      const root of [
        base,
        `${base}/sibling`,
        `${base}/leased/..`,
        `${base}/leased/../sibling`,
        `${base}/leased/link-dir`,
        "/",
      ]
    ) {
      const { frames, terminal } = await walk(root);
      assert.equal(terminal.type, "job.error", root);
      assert.equal(payloadOf(terminal).code, "PERMISSION_DENIED", root);
      for (const frame of frames) assert.doesNotMatch(JSON.stringify(frame), outside, root);
    }
    // The leased directory itself is walked, its links to the outside not followed.
    const { frames, terminal } = await walk(`${base}/leased`);
    assert.equal(terminal.type, "job.result");
    const report = payloadOf(terminal).result as FilesReport & { by_extension: unknown };
    assert.deepEqual(report.by_extension, {
      ".txt": { files: 1, lines: 1, words: 3, bytes: 13 },
      ".md": { files: 1, lines: 1, words: 1, bytes: 5 },
    });
    assert.deepEqual(report.denied, []);
    for (const frame of frames) assert.doesNotMatch(JSON.stringify(frame), outside);
  }),
);

Deno.test(
  "the files agent with a full lease counts exactly what it read",
  bounded(async () => {
    await using tree = await fileTree();
    await using demo = await demoRuntime();
    const job = await demo.client.submit("files", { root: tree.root }, {
      leaseRequest: { "fs.read": [`${tree.root}/**`] },
    });
    const report = (await job.result).result as FilesReport & { by_extension: unknown };
    assert.deepEqual(
      { files: report.files, lines: report.lines, words: report.words, bytes: report.bytes },
      { files: 3, lines: 4, words: 7, bytes: 33 },
    );
    assert.deepEqual(report.by_extension, {
      ".txt": { files: 1, lines: 2, words: 3, bytes: 14 },
      ".md": { files: 1, lines: 1, words: 2, bytes: 8 },
      ".ts": { files: 1, lines: 1, words: 2, bytes: 11 },
    });
  }),
);

// Redirects, expiry, repeated keys and ended jobs, over every transport -----------

/** A local HTTP server answering `routes` and recording every path it is asked for. */
async function server(
  routes: (url: URL) => Response,
): Promise<{ port: number; paths: string[] } & AsyncDisposable> {
  const paths: string[] = [];
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const served = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: listening.resolve },
    (r) => {
      const url = new URL(r.url);
      paths.push(url.pathname);
      return routes(url);
    },
  );
  const { port } = await listening.promise;
  return { port, paths, [Symbol.asyncDispose]: () => served.shutdown() };
}

const redirectingFetcher: AgentDefinition = {
  name: "redirected",
  async handler(input: { url: string }, ctx) {
    try {
      const response = await ctx.fetch(input.url);
      return { status: response.status, text: await response.text() };
    } catch (error) {
      return { code: error instanceof ArcpError ? error.code : String(error) };
    }
  },
};

/** An agent that swallows what `operation` throws after the test moves the clock. */
function swallowingAgent(operation: (ctx: AgentContext) => unknown) {
  const started = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const definition: AgentDefinition = {
    name: "swallower",
    async handler(_input: unknown, ctx) {
      started.resolve();
      await release.promise;
      try {
        await operation(ctx);
        return { swallowed: null };
      } catch (error) {
        return { swallowed: error instanceof ArcpError ? error.code : String(error) };
      }
    },
  };
  return { definition, started, release };
}

/** Resolves once `jobId` is stored as ended and the runtime has let go of it. */
async function endedAndStored(store: RecordingStore, jobId: string): Promise<void> {
  await eventually(
    async () => (await store.getJob(jobId))?.terminal !== undefined,
    `job ${jobId} to be stored as ended`,
  );
  // The runtime forgets a live job just after its record is stored.
  await new Promise((resolve) => setTimeout(resolve, 20));
}

for (const kind of TRANSPORT_KINDS) {
  Deno.test({
    name: `a redirect out of the net.fetch lease is never followed [${kind}]`,
    fn: bounded(async () => {
      await using outside = await server(() => new Response("secret"));
      await using leased = await server((url) =>
        url.pathname === "/api/hop"
          ? Response.redirect(`http://127.0.0.1:${outside.port}/secret`, 302)
          : url.pathname === "/api/local"
          ? Response.redirect(`http://127.0.0.1:${leased.port}/private`, 307)
          : new Response(`leased ${url.pathname}`)
      );
      await using h = await startHarness(kind, { agents: [redirectingFetcher] });
      const client = await h.connect();
      const lease = { "net.fetch": [`http://127.0.0.1:${leased.port}/api/**`] };
      const results: unknown[] = [];
      for (const path of ["/api/hop", "/api/local"]) {
        const job = await client.submit("redirected", {
          url: `http://127.0.0.1:${leased.port}${path}`,
        }, { leaseRequest: lease });
        results.push((await job.result).result);
      }
      // Spec §9.1, §9.3: every outbound request must be covered by the lease.
      assert.deepEqual(
        { outside: outside.paths, leased: leased.paths },
        { outside: [], leased: ["/api/hop", "/api/local"] },
        `the agent got ${JSON.stringify(results)}`,
      );
    }),
  });

  Deno.test({
    name:
      `an expired lease ends the job with job.error LEASE_EXPIRED whatever operation found it [${kind}]`,
    fn: bounded(async () => {
      const operations: [string, (ctx: AgentContext) => unknown][] = [
        ["authorize", (ctx) => ctx.authorize("fs.read", "/data/a.txt")],
        ["useModel", (ctx) => ctx.useModel("tier-fast/small")],
      ];
      for (const [label, operation] of operations) {
        const clock = { ms: Date.parse("2030-01-01T00:00:00Z") };
        const agent = swallowingAgent(operation);
        await using h = await startHarness(kind, {
          agents: [agent.definition],
          runtime: { now: () => clock.ms, leaseExpiryGraceMs: 0 },
        });
        const raw = await h.raw();
        await raw.hello(TOKEN, { features: ["lease_expires_at", "model.use"] });
        await raw.submit("swallower", null, {
          lease_request: { "fs.read": ["/data/**"], "model.use": ["tier-fast/*"] },
          lease_constraints: { expires_at: "2030-01-01T00:01:00Z" },
        });
        await raw.expect("job.accepted");
        await agent.started.promise;
        clock.ms = Date.parse("2030-01-01T00:01:00Z");
        agent.release.resolve();
        const terminal = (await raw.until(isTerminal)).at(-1)!;
        // Spec 1.1 §9.5: the runtime MUST emit job.error LEASE_EXPIRED when the
        // agent attempts any authority-bearing operation after expiry.
        assert.equal(terminal.type, "job.error", `${label}: ${JSON.stringify(terminal)}`);
        assert.equal(payloadOf(terminal).code, "LEASE_EXPIRED", label);
        assert.equal(payloadOf(terminal).final_status, "error", label);
      }
    }),
  });

  Deno.test({
    name: `a repeated key gets the original job.accepted payload [${kind}]`,
    fn: bounded(async () => {
      const release = Promise.withResolvers<void>();
      const spender: AgentDefinition = {
        name: "spend-then-wait",
        async handler(_input: unknown, ctx) {
          await ctx.metric("cost.search", 0.42, { unit: "USD" });
          await release.promise;
          return null;
        },
      };
      await using h = await startHarness(kind, { agents: [spender] });
      const raw = await h.raw();
      await raw.hello(TOKEN, { features: ["cost.budget", "lease_expires_at"] });
      const submit = {
        lease_request: { "cost.budget": ["USD:1.00"] },
        lease_constraints: { expires_at: "2099-01-01T00:00:00Z" },
        idempotency_key: "budget-key",
      };
      const withoutRequestId = (frame: Frame) => ({ ...payloadOf(frame), request_id: undefined });
      await raw.submit("spend-then-wait", null, submit);
      const original = await raw.expect("job.accepted");
      await raw.until((f) =>
        (payloadOf(f).body as { name?: string } | undefined)?.name === "cost.budget.remaining"
      );
      const other = await h.raw();
      await other.hello(TOKEN, { features: ["cost.budget", "lease_expires_at"] });
      await other.submit("spend-then-wait", null, submit);
      const whileRunning = await other.expect("job.accepted");
      release.resolve();
      await raw.until(isTerminal);
      await other.until(isTerminal);
      await endedAndStored(h.store, original.job_id as string);
      await other.submit("spend-then-wait", null, submit);
      const afterEnd = await other.expect("job.accepted");
      await other.until(isTerminal);
      // Spec 1.1 §7.2: the same job.accepted payload for every repeat; §7.1: its
      // budget is the initial counters.
      assert.deepEqual(
        { running: withoutRequestId(whileRunning), ended: withoutRequestId(afterEnd) },
        { running: withoutRequestId(original), ended: withoutRequestId(original) },
      );
    }),
  });

  Deno.test({
    name: `job.subscribed to an ended job carries its final budget [${kind}]`,
    fn: bounded(async () => {
      const spender: AgentDefinition = {
        name: "spender",
        async handler(_input: unknown, ctx) {
          await ctx.metric("cost.search", 0.42, { unit: "USD" });
          return null;
        },
      };
      await using h = await startHarness(kind, { agents: [spender] });
      const raw = await h.raw();
      await raw.hello(TOKEN, { features: ["cost.budget", "subscribe"] });
      await raw.submit("spender", null, { lease_request: { "cost.budget": ["USD:1.00"] } });
      const accepted = await raw.expect("job.accepted");
      await raw.until(isTerminal);
      await endedAndStored(h.store, accepted.job_id as string);
      await raw.request("job.subscribe", { job_id: accepted.job_id });
      const subscribed = payloadOf(await raw.expect("job.subscribed"));
      await raw.until(isTerminal);
      // Spec 1.1 §7.6: budget, the current counters, is present when the lease has cost.budget.
      assert.deepEqual(subscribed.budget, { USD: 0.58 });
    }),
  });
}
