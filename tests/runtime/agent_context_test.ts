// What an agent is handed (spec §7, §8.2): a frozen context holding the
// documented AgentContext API and no way to the job behind it; `ctx.tool`
// and `ctx.delegate` with their options objects, and the deprecated
// positional shapes still working. Over a real WebSocket.

import assert from "node:assert/strict";
import type { Client } from "../../client.ts";
import type { JobEvent } from "../../protocol/events.ts";
import type { AgentContext, AgentDefinition } from "../../runtime.ts";
import { bounded, startHarness } from "../_helpers.ts";

/** The documented AgentContext API (runtime/context.ts), and nothing else. */
const PUBLIC_API = [
  "agent",
  "artifactRef",
  "authorize",
  "budget",
  "credentials",
  "delegate",
  "emit",
  "fetch",
  "jobId",
  "lease",
  "leaseConstraints",
  "log",
  "metric",
  "principal",
  "progress",
  "resultStream",
  "rotateCredential",
  "sessionId",
  "signal",
  "status",
  "thought",
  "tool",
  "toolCall",
  "toolResult",
  "traceId",
  "useModel",
  "version",
];

/** The members of the API read from the job at each access: getters, not copies. */
const LIVE = ["budget", "credentials"];

/** What the runtime's job offers besides the agent's API: none of it may be reachable. */
const JOB_INTERNALS = [
  "abort",
  "spendBudget",
  "refundBudget",
  "takeCredentials",
  "record",
  "ownerSession",
  "session",
  "store",
  "subscribe",
  "unsubscribe",
  "endedElsewhere",
  "budgetWire",
  "children",
  "settled",
  "start",
  "terminal",
  "jobStatus",
  "lastEventSeq",
  "createdAt",
];

/** Runs `change` and names the error it threw, or says it was allowed. */
function attempt(change: () => unknown): string {
  try {
    change();
    return "allowed";
  } catch (error) {
    return (error as Error).name;
  }
}

/** Echoes the lease constraints it was delegated with. */
const constrained: AgentDefinition = {
  name: "constrained",
  handler: (_input, ctx) => Promise.resolve({ constraints: ctx.leaseConstraints ?? null }),
};

async function run(
  client: Client,
  agent: string,
  lease: Record<string, string[]>,
): Promise<{ result: Record<string, unknown>; events: JobEvent[] }> {
  const job = await client.submit(agent, null, { leaseRequest: lease });
  const events: JobEvent[] = [];
  for await (const event of job) events.push(event);
  return { result: (await job.result).result as Record<string, unknown>, events };
}

/** The bodies of the events of `kind`, in order. */
function bodies(events: JobEvent[], kind: string): Record<string, unknown>[] {
  return events.filter((event) => event.payload.kind === kind).map((event) => event.payload.body);
}

Deno.test(
  "an agent's context is a frozen object holding only the public API, with no way to the job",
  bounded(async () => {
    let seen: AgentContext | undefined;
    const inspect: AgentDefinition = {
      name: "inspect",
      async handler(_input, ctx) {
        seen = ctx;
        const loose = ctx as unknown as Record<string, unknown>;
        const { log } = ctx;
        await log("info", "destructured methods need no this");
        const methods = PUBLIC_API.filter((key) => typeof loose[key] === "function");
        return {
          keys: Object.keys(ctx).sort(),
          ownKeys: Reflect.ownKeys(ctx).map(String).sort(),
          // The live members are getters on a frozen prototype over a plain one.
          liveKeys: Reflect.ownKeys(Object.getPrototypeOf(ctx)).map(String).sort(),
          // Each only a getter: no setter, no value to replace.
          liveGetters: LIVE.map((key) => {
            const live = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(ctx), key)!;
            return typeof live.get === "function" && live.set === undefined && !("value" in live);
          }),
          liveValues: LIVE.map((key) => typeof loose[key]),
          plainObject: Object.getPrototypeOf(Object.getPrototypeOf(ctx)) === Object.prototype,
          frozen: Object.isFrozen(ctx) && Object.isFrozen(Object.getPrototypeOf(ctx)),
          reached: JOB_INTERNALS.filter((key) => key in ctx || loose[key] !== undefined),
          methodKeys: [...new Set(methods.flatMap((key) => Reflect.ownKeys(loose[key] as object)))]
            .map(String).sort(),
          attempts: {
            overwrite: attempt(() => (loose.jobId = "job_other")),
            add: attempt(() => (loose.abort = () => {})),
            define: attempt(() => Object.defineProperty(ctx, "record", { value: () => ({}) })),
            remove: attempt(() => delete loose.log),
            reprototype: attempt(() => Object.setPrototypeOf(ctx, { abort() {} })),
            widenLease: attempt(() => (ctx.lease["tool.call"] as string[]).push("*")),
            renamePrincipal: attempt(() => ((ctx.principal as { id: string }).id = "mallory")),
            // A live getter reads only the job of the context it was built for.
            borrowGetter: attempt(() =>
              Object.getOwnPropertyDescriptor(Object.getPrototypeOf(ctx), "budget")!.get!.call({})
            ),
          },
          // The lease the runtime checks is untouched by the attempts above.
          refused: attempt(() => ctx.authorize("tool.call", "shell")),
          principal: ctx.principal.id,
          lease: ctx.lease,
        };
      },
    };
    await using h = await startHarness("websocket", { agents: [inspect] });
    const client = await h.connect();
    const { result, events } = await run(client, "inspect", { "tool.call": ["noop"] });
    assert.deepEqual(result, {
      keys: PUBLIC_API.filter((key) => !LIVE.includes(key)),
      ownKeys: PUBLIC_API.filter((key) => !LIVE.includes(key)),
      liveKeys: LIVE,
      liveGetters: [true, true],
      liveValues: ["undefined", "object"],
      plainObject: true,
      frozen: true,
      reached: [],
      methodKeys: ["length", "name"],
      attempts: {
        overwrite: "TypeError",
        add: "TypeError",
        define: "TypeError",
        remove: "TypeError",
        reprototype: "TypeError",
        widenLease: "TypeError",
        renamePrincipal: "TypeError",
        borrowGetter: "TypeError",
      },
      refused: "ArcpError",
      principal: "alice",
      lease: { "tool.call": ["noop"] },
    });
    assert.deepEqual(bodies(events, "log"), [{
      level: "info",
      message: "destructured methods need no this",
    }]);
    // Kept after the job: still the same frozen facade, not a job handed out late.
    assert.ok(seen !== undefined && Object.isFrozen(seen));
  }),
);

Deno.test(
  "ctx.tool(name, run, { args, capability, target }) and ctx.delegate(agent, input, { leaseRequest, leaseConstraints })",
  bounded(async () => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const shapes: AgentDefinition = {
      name: "shapes",
      async handler(_input, ctx) {
        const split = await ctx.tool("split", () => "a b".split(" "), { args: { on: " " } });
        const bare = await ctx.tool("noop", () => null);
        const aliased = await ctx.tool("custom", () => "as noop", {
          capability: "tool.call",
          target: "noop",
        });
        const child = await ctx.delegate("echo", { hi: 1 }, {
          leaseRequest: { "tool.call": ["noop"] },
        });
        const limited = await ctx.delegate("constrained", null, {
          leaseConstraints: { expires_at: expiresAt },
        });
        const wider = await ctx.delegate("echo", null, {
          leaseRequest: { "net.fetch": ["https://**"] },
        }).then(() => "granted", (error) => error.code);
        const bareChild = await ctx.delegate("echo");
        return {
          split,
          bare,
          aliased,
          child: child.result,
          limited: limited.result,
          wider,
          bareChild: bareChild.result,
        };
      },
    };
    await using h = await startHarness("websocket", { agents: [shapes, constrained] });
    const client = await h.connect();
    const { result, events } = await run(client, "shapes", {
      "tool.call": ["split", "noop"],
      "agent.delegate": ["echo", "constrained"],
    });
    assert.deepEqual(result, {
      split: ["a", "b"],
      bare: null,
      aliased: "as noop",
      child: { echoed: { hi: 1 }, version: "2.0.0" },
      limited: { constraints: { expires_at: expiresAt } },
      wider: "LEASE_SUBSET_VIOLATION",
      bareChild: { echoed: null, version: "2.0.0" },
    });
    assert.deepEqual(
      bodies(events, "tool_call").map(({ tool, args }) => ({ tool, args })),
      [
        { tool: "split", args: { on: " " } },
        { tool: "noop", args: {} },
        { tool: "custom", args: {} },
      ],
    );
    assert.deepEqual(bodies(events, "delegate").map((body) => body.lease_request), [
      { "tool.call": ["noop"] },
      {},
      { "net.fetch": ["https://**"] },
      {},
    ]);
  }),
);

Deno.test(
  "the deprecated positional shapes of ctx.tool and ctx.delegate still work",
  bounded(async () => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const legacy: AgentDefinition = {
      name: "legacy",
      async handler(_input, ctx) {
        const plain = await ctx.tool("noop", { n: 1 }, () => "old");
        const aliased = await ctx.tool("custom", null, () => "old as noop", { target: "noop" });
        const child = await ctx.delegate("echo", { hi: 2 }, { "tool.call": ["noop"] });
        const limited = await ctx.delegate("constrained", null, {}, { expires_at: expiresAt });
        const wider = await ctx.delegate("echo", null, { "net.fetch": ["https://**"] })
          .then(() => "granted", (error) => error.code);
        return {
          plain,
          aliased,
          child: child.result,
          limited: limited.result,
          wider,
        };
      },
    };
    await using h = await startHarness("websocket", { agents: [legacy, constrained] });
    const client = await h.connect();
    const { result, events } = await run(client, "legacy", {
      "tool.call": ["noop"],
      "agent.delegate": ["echo", "constrained"],
    });
    assert.deepEqual(result, {
      plain: "old",
      aliased: "old as noop",
      child: { echoed: { hi: 2 }, version: "2.0.0" },
      limited: { constraints: { expires_at: expiresAt } },
      wider: "LEASE_SUBSET_VIOLATION",
    });
    assert.deepEqual(
      bodies(events, "tool_call").map(({ tool, args }) => ({ tool, args })),
      [{ tool: "noop", args: { n: 1 } }, { tool: "custom", args: null }],
    );
    assert.deepEqual(bodies(events, "delegate").map((body) => body.lease_request), [
      { "tool.call": ["noop"] },
      {},
      { "net.fetch": ["https://**"] },
    ]);
  }),
);

Deno.test(
  "an abort event an agent dispatches on its own ctx.signal does not stop its delegation",
  bounded(async () => {
    const started = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    const held: AgentDefinition = {
      name: "held",
      async handler() {
        started.resolve();
        await release.promise;
        return "done";
      },
    };
    const forger: AgentDefinition = {
      name: "forger",
      async handler(_input, ctx) {
        const child = ctx.delegate("held");
        await started.promise;
        // Well after the parent began waiting on the child.
        await new Promise((resolve) => setTimeout(resolve, 50));
        ctx.signal.dispatchEvent(new Event("abort"));
        release.resolve();
        return { child: (await child).result, aborted: ctx.signal.aborted };
      },
    };
    await using h = await startHarness("websocket", { agents: [held, forger] });
    const client = await h.connect();
    const { result } = await run(client, "forger", { "agent.delegate": ["held"] });
    assert.deepEqual(result, { child: "done", aborted: false });
  }),
);
