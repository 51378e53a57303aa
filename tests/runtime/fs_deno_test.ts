// The Deno file adapter (runtime/fs_deno.ts) on real temporary trees: every
// call is a tool call authorised against the job's fs.read / fs.write lease,
// before the disk is touched and again on the path's real location.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { ArcpError } from "../../protocol/errors.ts";
import type { JobEvent } from "../../protocol/events.ts";
import type { Lease, LeaseConstraints } from "../../protocol/messages.ts";
import { type AgentDefinition, Runtime, type RuntimeOptions, staticTokens } from "../../runtime.ts";
import { type DenoFs, denoFs } from "../../runtime/fs_deno.ts";
import { memoryTransportPair } from "../../transports/memory.ts";
import { bounded } from "../_helpers.ts";

/** One step of the scripted agent. */
type Op =
  | { op: "read" | "readText" | "readDir" | "stat"; path: string }
  | { op: "writeText"; path: string; text: string; append?: boolean }
  | { op: "spend"; usd: number }
  | { op: "expire" };

/** What one step gave the agent: its value, or the code of the `ArcpError` it threw. */
type Outcome = { ok: unknown } | { code: string };

const decoder = new TextDecoder();

async function perform(fs: DenoFs, op: Exclude<Op, { op: "spend" | "expire" }>): Promise<unknown> {
  switch (op.op) {
    case "read":
      return decoder.decode(await fs.readFile(op.path));
    case "readText":
      return await fs.readTextFile(op.path);
    case "readDir":
      return (await fs.readDir(op.path)).map((entry) => entry.name).sort();
    case "stat": {
      const info = await fs.stat(op.path);
      return { isFile: info.isFile, size: info.size };
    }
    case "writeText":
      await fs.writeTextFile(op.path, op.text, { append: op.append ?? false });
      return null;
  }
}

/**
 * A tree under a fresh temporary directory (its real path), removed on
 * dispose. The lease used throughout grants `fs.read` on `in/**` and
 * `out/**` and `fs.write` on `out/**`; everything else is outside it.
 */
async function tree(): Promise<{ root: string; lease: Lease } & AsyncDisposable> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "arcp-fs-deno-test-" }));
  for (const dir of ["in/sub", "in-evil", "out", "outside/%2e%2e/in"]) {
    await Deno.mkdir(`${root}/${dir}`, { recursive: true });
  }
  await Deno.writeTextFile(`${root}/in/a.txt`, "alpha");
  await Deno.writeTextFile(`${root}/in/sub/b.txt`, "beta");
  await Deno.writeTextFile(`${root}/in-evil/secret.txt`, "lookalike");
  await Deno.writeTextFile(`${root}/outside/secret.txt`, "secret");
  // Its real path is outside, but percent-decoded it reads `${root}/in/a.txt`.
  await Deno.writeTextFile(`${root}/outside/%2e%2e/in/a.txt`, "decoded");
  await Deno.symlink(`${root}/in/a.txt`, `${root}/in/link-in`);
  await Deno.symlink(`${root}/outside/secret.txt`, `${root}/in/link-out`);
  await Deno.symlink(`${root}/outside`, `${root}/in/dir-out`);
  await Deno.symlink(`${root}/outside/%2e%2e/in/a.txt`, `${root}/in/decodes-in`);
  await Deno.symlink(`${root}/outside/secret.txt`, `${root}/out/link-out`);
  await Deno.symlink(`${root}/outside`, `${root}/out/dir-out`);
  await Deno.symlink(`${root}/outside/created.txt`, `${root}/out/dangling`);
  return {
    root,
    lease: { "fs.read": [`${root}/in/**`, `${root}/out/**`], "fs.write": [`${root}/out/**`] },
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

/** Runs `ops` as one job of a scripted agent and returns what it saw and emitted. */
async function runScript(
  ops: Op[],
  leaseRequest: Lease,
  options: { constraints?: LeaseConstraints; runtime?: Partial<RuntimeOptions> } = {},
): Promise<{ outcomes: Outcome[]; events: JobEvent[]; error: ArcpError | undefined }> {
  const clock = { ms: Date.parse("2030-01-01T00:00:00Z") };
  const scripted: AgentDefinition = {
    name: "fs-script",
    async handler(input: { ops: Op[] }, ctx) {
      const fs = denoFs(ctx);
      const outcomes: Outcome[] = [];
      for (const op of input.ops) {
        if (op.op === "spend") await ctx.metric("cost.test", op.usd, { unit: "USD" });
        else if (op.op === "expire") clock.ms = Date.parse(options.constraints!.expires_at!);
        else {
          try {
            outcomes.push({ ok: await perform(fs, op) });
          } catch (error) {
            outcomes.push({ code: error instanceof ArcpError ? error.code : `not ARCP: ${error}` });
          }
        }
      }
      return outcomes;
    },
  };
  await using runtime = new Runtime({
    authenticate: staticTokens({ t: "alice" }),
    agents: [scripted],
    now: () => clock.ms,
    ...options.runtime,
  });
  const [clientSide, runtimeSide] = memoryTransportPair();
  runtime.accept(runtimeSide);
  await using client = await connect(clientSide, { token: "t" });
  const job = await client.submit("fs-script", { ops }, {
    leaseRequest,
    ...(options.constraints === undefined ? {} : { leaseConstraints: options.constraints }),
  });
  const events: JobEvent[] = [];
  for await (const event of job) events.push(event);
  try {
    return { outcomes: (await job.result).result as Outcome[], events, error: undefined };
  } catch (error) {
    return { outcomes: [], events, error: error as ArcpError };
  }
}

/** The tool_call / tool_result pairs of `events`, in order, checked to alternate. */
function toolCalls(
  events: JobEvent[],
): { call: Record<string, unknown>; result: Record<string, unknown> }[] {
  const tools = events.filter((e) =>
    e.payload.kind === "tool_call" || e.payload.kind === "tool_result"
  );
  const pairs = [];
  for (let i = 0; i < tools.length; i += 2) {
    assert.equal(tools[i]!.payload.kind, "tool_call");
    assert.equal(tools[i + 1]?.payload.kind, "tool_result", "every tool_call is answered next");
    const call = tools[i]!.payload.body as Record<string, unknown>;
    const result = tools[i + 1]!.payload.body as Record<string, unknown>;
    assert.equal(result.call_id, call.call_id);
    pairs.push({ call, result });
  }
  return pairs;
}

Deno.test(
  "denoFs reads and writes what the lease covers, on the canonical real path",
  bounded(async () => {
    await using t = await tree();
    const { root } = t;
    const { outcomes } = await runScript([
      { op: "readText", path: `${root}/in/a.txt` },
      { op: "read", path: `${root}/in/sub/b.txt` },
      { op: "readText", path: `${root}/in/sub/../a.txt` },
      { op: "readText", path: `${root}/in/./sub//b.txt` },
      { op: "readText", path: `${root}/in/%61.txt` },
      { op: "readText", path: `${root}/in/link-in` },
      { op: "readDir", path: `${root}/in/sub` },
      { op: "readDir", path: `${root}/in` },
      { op: "stat", path: `${root}/in/a.txt` },
      { op: "writeText", path: `${root}/out/new.txt`, text: "one" },
      { op: "writeText", path: `${root}/out/new.txt`, text: "+two", append: true },
      { op: "readText", path: `${root}/out/new.txt` },
    ], t.lease);
    assert.deepEqual(outcomes, [
      { ok: "alpha" },
      { ok: "beta" },
      { ok: "alpha" },
      { ok: "beta" },
      { ok: "alpha" },
      { ok: "alpha" },
      { ok: ["b.txt"] },
      { ok: ["a.txt", "decodes-in", "dir-out", "link-in", "link-out", "sub"] },
      { ok: { isFile: true, size: 5 } },
      { ok: null },
      { ok: null },
      { ok: "one+two" },
    ]);
    assert.equal(await Deno.readTextFile(`${root}/out/new.txt`), "one+two");
  }),
);

Deno.test(
  "denoFs refuses with PERMISSION_DENIED what the lease does not cover, however it is spelt",
  bounded(async () => {
    await using t = await tree();
    const { root } = t;
    const denied: [string, Op][] = [
      ["outside the lease", { op: "readText", path: `${root}/outside/secret.txt` }],
      ["a system file", { op: "readText", path: "/etc/passwd" }],
      ["a lookalike prefix", { op: "readText", path: `${root}/in-evil/secret.txt` }],
      ["the leased directory itself", { op: "stat", path: `${root}/in` }],
      ["a `..` traversal", { op: "readText", path: `${root}/in/../outside/secret.txt` }],
      ["an encoded `..`", { op: "readText", path: `${root}/in/%2e%2e/outside/secret.txt` }],
      ["an encoded slash", { op: "readText", path: `${root}/in/..%2foutside/secret.txt` }],
      ["a double encoding", { op: "readText", path: `${root}/in/%252e%252e/outside/secret.txt` }],
      ["`..` above the root", { op: "readText", path: `/../../${root}/in/a.txt` }],
      ["a relative path", { op: "readText", path: "in/a.txt" }],
      ["a NUL byte", { op: "readText", path: `${root}/in/a.txt\u0000.png` }],
      ["a backslash", { op: "readText", path: `${root}/in\\..\\outside\\secret.txt` }],
      ["a file link out of the lease", { op: "readText", path: `${root}/in/link-out` }],
      ["a directory link out of the lease", { op: "read", path: `${root}/in/dir-out/secret.txt` }],
      ["listing through a directory link", { op: "readDir", path: `${root}/in/dir-out` }],
      ["listing the leased directory's parent", { op: "readDir", path: root }],
      ["listing a sibling", { op: "readDir", path: `${root}/in-evil` }],
      ["listing it as `in/..`", { op: "readDir", path: `${root}/in/..` }],
      ["listing /", { op: "readDir", path: "/" }],
      ["stat through a link", { op: "stat", path: `${root}/in/link-out` }],
      ["a link whose real path decodes into the lease", {
        op: "readText",
        path: `${root}/in/decodes-in`,
      }],
      ["a write with only fs.read", { op: "writeText", path: `${root}/in/new.txt`, text: "x" }],
      ["a write over a link out", { op: "writeText", path: `${root}/out/link-out`, text: "x" }],
      ["a write through a dangling link", {
        op: "writeText",
        path: `${root}/out/dangling`,
        text: "x",
      }],
      ["a write through a directory link", {
        op: "writeText",
        path: `${root}/out/dir-out/created.txt`,
        text: "x",
      }],
    ];
    const { outcomes, events, error } = await runScript(denied.map(([, op]) => op), t.lease);
    assert.equal(error, undefined, "a refusal does not end the job");
    for (const [index, [label]] of denied.entries()) {
      assert.deepEqual(outcomes[index], { code: "PERMISSION_DENIED" }, label);
    }
    const pairs = toolCalls(events);
    assert.equal(pairs.length, denied.length);
    for (const [index, { result }] of pairs.entries()) {
      const refusal = result.error as { code: string; retryable: boolean } | undefined;
      assert.deepEqual(
        { code: refusal?.code, retryable: refusal?.retryable, result: result.result },
        { code: "PERMISSION_DENIED", retryable: false, result: undefined },
        denied[index]![0],
      );
    }
    // Nothing was written anywhere, in the tree or through its links.
    assert.equal(await Deno.readTextFile(`${root}/outside/secret.txt`), "secret");
    for (const path of [`${root}/in/new.txt`, `${root}/outside/created.txt`]) {
      await assert.rejects(Deno.lstat(path), Deno.errors.NotFound, path);
    }
  }),
);

Deno.test(
  "denoFs lists a directory when the lease covers it or every name directly inside it",
  bounded(async () => {
    await using t = await tree();
    const { root } = t;
    const names = ["a.txt", "decodes-in", "dir-out", "link-in", "link-out", "sub"];
    const list = { op: "readDir", path: `${root}/in` } as const;
    const cases: [string, Lease, Outcome][] = [
      ["the tree under it", { "fs.read": [`${root}/in/**`] }, { ok: names }],
      ["its names", { "fs.read": [`${root}/in/*`] }, { ok: names }],
      ["the directory itself", { "fs.read": [`${root}/in`] }, { ok: names }],
      ["some of its names", { "fs.read": [`${root}/in/*.txt`] }, { code: "PERMISSION_DENIED" }],
      ["one-letter names", { "fs.read": [`${root}/in/?`] }, { code: "PERMISSION_DENIED" }],
      ["a subdirectory", { "fs.read": [`${root}/in/sub/**`] }, { code: "PERMISSION_DENIED" }],
    ];
    for (const [label, lease, expected] of cases) {
      const { outcomes } = await runScript([list], lease);
      assert.deepEqual(outcomes, [expected], label);
    }
  }),
);

Deno.test(
  "denoFs calls are tool_call / tool_result pairs, and the job goes on after a refusal",
  bounded(async () => {
    await using t = await tree();
    const { root } = t;
    const { outcomes, events, error } = await runScript([
      { op: "read", path: `${root}/in/link-in` },
      { op: "readText", path: `${root}/outside/secret.txt` },
      { op: "writeText", path: `${root}/out/later.txt`, text: "after" },
      { op: "readDir", path: `${root}/in/sub` },
      { op: "stat", path: `${root}/out/later.txt` },
    ], t.lease);
    assert.equal(error, undefined);
    assert.deepEqual(outcomes, [
      { ok: "alpha" },
      { code: "PERMISSION_DENIED" },
      { ok: null },
      { ok: ["b.txt"] },
      { ok: { isFile: true, size: 5 } },
    ]);
    const pairs = toolCalls(events);
    assert.deepEqual(
      pairs.map(({ call }) => ({ tool: call.tool, args: call.args })),
      [
        { tool: "fs.read", args: { path: `${root}/in/link-in` } },
        { tool: "fs.read", args: { path: `${root}/outside/secret.txt` } },
        { tool: "fs.write", args: { path: `${root}/out/later.txt` } },
        { tool: "fs.read_dir", args: { path: `${root}/in/sub` } },
        { tool: "fs.stat", args: { path: `${root}/out/later.txt` } },
      ],
    );
    const callIds = pairs.map(({ call }) => call.call_id);
    assert.equal(new Set(callIds).size, callIds.length, "call ids are distinct");
    // A result names the real path acted on: the link's target, not the link.
    assert.deepEqual(pairs.map(({ result }) => result.result), [
      { path: `${root}/in/a.txt`, bytes: 5 },
      undefined,
      { path: `${root}/out/later.txt`, bytes: 5 },
      { path: `${root}/in/sub`, entries: 1 },
      { path: `${root}/out/later.txt`, is_file: true, is_directory: false, size: 5 },
    ]);
    assert.equal((pairs[1]!.result.error as { code: string }).code, "PERMISSION_DENIED");
  }),
);

Deno.test(
  "denoFs refuses with BUDGET_EXHAUSTED once the budget is spent, and the job goes on",
  bounded(async () => {
    await using t = await tree();
    const { root } = t;
    const { outcomes, events, error } = await runScript([
      { op: "readText", path: `${root}/in/a.txt` },
      { op: "spend", usd: 1 },
      { op: "readText", path: `${root}/in/a.txt` },
      { op: "writeText", path: `${root}/out/x.txt`, text: "x" },
    ], { ...t.lease, "cost.budget": ["USD:1.00"] });
    assert.equal(error, undefined);
    assert.deepEqual(outcomes, [
      { ok: "alpha" },
      { code: "BUDGET_EXHAUSTED" },
      { code: "BUDGET_EXHAUSTED" },
    ]);
    const codes = toolCalls(events).map(({ result }) => (result.error as { code?: string })?.code);
    assert.deepEqual(codes, [undefined, "BUDGET_EXHAUSTED", "BUDGET_EXHAUSTED"]);
    await assert.rejects(Deno.lstat(`${root}/out/x.txt`), Deno.errors.NotFound);
  }),
);

Deno.test(
  "denoFs refuses with LEASE_EXPIRED after expiry, and the job ends with it",
  bounded(async () => {
    await using t = await tree();
    const { root } = t;
    const { outcomes, events, error } = await runScript(
      [
        { op: "readText", path: `${root}/in/a.txt` },
        { op: "expire" },
        { op: "readText", path: `${root}/in/a.txt` },
      ],
      t.lease,
      {
        constraints: { expires_at: "2030-01-01T00:01:00Z" },
        runtime: { leaseExpiryGraceMs: 0 },
      },
    );
    assert.deepEqual(outcomes, []);
    assert.equal(error?.code, "LEASE_EXPIRED");
    const codes = toolCalls(events).map(({ result }) => (result.error as { code?: string })?.code);
    assert.deepEqual(codes, [undefined, "LEASE_EXPIRED"]);
  }),
);
