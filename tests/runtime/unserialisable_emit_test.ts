// What an agent hands over that cannot go on the wire (nested 10,000 levels,
// cyclic, a BigInt, unserialisable error details) fails when it is emitted:
// the job ends with INTERNAL_ERROR naming why, nothing is queued or stored,
// and the session, its subscribers and its resume stay healthy.

import assert from "node:assert/strict";
import { ArcpError } from "../../protocol/errors.ts";
import type { AgentDefinition } from "../../runtime.ts";
import { bounded, envelope, type RawConnection, startHarness, TOKEN } from "../_helpers.ts";
import { assertSessionWorks, isTerminal, payloadOf } from "../scenarios/_shared.ts";

/** `{a: {a: ... 1}}`, `levels` objects deep. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { a: 1 };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

function cyclic(): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  value.self = value;
  return value;
}

/** Agents that hand the runtime something JSON cannot carry, each in its own way. */
const AGENTS: AgentDefinition[] = [
  { name: "deep-result", handler: () => Promise.resolve(nested(10_000)) },
  // A Date sends JSON.stringify down its recursive path, which overflows.
  {
    name: "deep-dated-result",
    handler: () => Promise.resolve({ at: new Date(), v: nested(10_000) }),
  },
  {
    name: "deep-event",
    handler: async (_input: unknown, ctx) => {
      await ctx.log("info", "deep", { v: nested(10_000) });
      return "unreachable";
    },
  },
  {
    name: "cyclic-event",
    handler: async (_input: unknown, ctx) => {
      await ctx.progress(1, { extra: cyclic() } as Record<string, unknown>);
      return "unreachable";
    },
  },
  {
    name: "bigint-event",
    handler: async (_input: unknown, ctx) => {
      await ctx.status("counting", 10n as unknown as string);
      return "unreachable";
    },
  },
  {
    name: "bigint-details",
    handler: () => Promise.reject(new ArcpError("INVALID_REQUEST", "no", { details: { n: 1n } })),
  },
  {
    name: "deep-details",
    handler: () =>
      Promise.reject(new ArcpError("INVALID_REQUEST", "no", { details: nested(10_000) })),
  },
  {
    name: "deep-tool-result",
    // A tool's result that cannot be sent is reported as its string form.
    handler: (_input: unknown, ctx) => ctx.tool("deep", () => nested(10_000)).then(() => "ok"),
  },
];

const REASONS: Record<string, RegExp> = {
  "deep-result": /result is not JSON-serialisable: .*nested deeper than 62 levels/,
  "deep-dated-result": /result is not JSON-serialisable: .*call stack/,
  "deep-event": /Cannot emit "log".*nested deeper than 62 levels/,
  "cyclic-event": /Cannot emit "progress".*circular/,
  "bigint-event": /Cannot emit "status".*BigInt/,
  "bigint-details": /error is not JSON-serialisable: .*BigInt/,
  "deep-details": /error is not JSON-serialisable: .*nested deeper than 62 levels/,
};

async function terminalOf(raw: RawConnection, agent: string, extra: Record<string, unknown> = {}) {
  const id = await raw.submit(agent, null, extra);
  const accepted = await raw.until((f) =>
    f.type === "job.accepted" && payloadOf(f).request_id === id
  );
  const jobId = accepted.at(-1)!.job_id;
  const frames = await raw.until((f) => f.job_id === jobId && isTerminal(f));
  return { frames, terminal: frames.at(-1)! };
}

Deno.test(
  "what an agent emits that JSON cannot carry ends its job with INTERNAL_ERROR; the session, a subscriber and a resume stay healthy",
  bounded(async () => {
    await using h = await startHarness("websocket", { agents: AGENTS });
    const raw = await h.raw();
    await raw.hello(TOKEN, { features: ["subscribe"] });
    const watcher = await h.raw();
    await watcher.hello(TOKEN, { features: ["subscribe"] });

    for (const [agent, reason] of Object.entries(REASONS)) {
      const { terminal } = await terminalOf(raw, agent);
      assert.equal(terminal.type, "job.error", `${agent}: ${JSON.stringify(terminal)}`);
      assert.equal(payloadOf(terminal).code, "INTERNAL_ERROR");
      assert.match(payloadOf(terminal).message as string, reason, agent);
    }
    const tool = await terminalOf(raw, "deep-tool-result", {
      lease_request: { "tool.call": ["deep"] },
    });
    assert.equal(tool.terminal.type, "job.result", JSON.stringify(tool.terminal));
    const toolResult = tool.frames.find((f) => payloadOf(f).kind === "tool_result")!;
    assert.equal((payloadOf(toolResult).body as { result: unknown }).result, "[object Object]");
    await assertSessionWorks(raw);

    // A subscriber of a job whose event is refused sees the job end, and carries on.
    const gate = Promise.withResolvers<void>();
    h.runtime.register({
      name: "gated-deep",
      handler: async (_input: unknown, ctx) => {
        await gate.promise;
        await ctx.log("info", "deep", { v: nested(10_000) });
      },
    });
    await raw.submit("gated-deep");
    const jobId = (await raw.expect("job.accepted")).job_id;
    await watcher.request("job.subscribe", { job_id: jobId });
    await watcher.expect("job.subscribed");
    gate.resolve();
    const seen = await watcher.until((f) => f.job_id === jobId && isTerminal(f));
    assert.equal(seen.at(-1)!.type, "job.error");
    assert.match(payloadOf(seen.at(-1)!).message as string, /nested deeper than 62 levels/);
    await assertSessionWorks(watcher);
    await raw.until((f) => f.job_id === jobId && isTerminal(f));

    // Nothing unsendable was stored: a resume from the start replays every event.
    const through = raw.lastEventSeq;
    await raw.close();
    const again = await h.raw();
    await again.handshake(envelope("session.resume", {
      session_id: raw.sessionId,
      resume_token: raw.resumeToken,
      last_event_seq: 0,
    }));
    const replayed = await again.until((f) => f.event_seq === through);
    assert.deepEqual(
      replayed.map((f) => f.event_seq),
      Array.from({ length: through }, (_, i) => i + 1),
    );
    await assertSessionWorks(again);
  }),
);
