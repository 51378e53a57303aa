// This module is browser compatible.
// Checks of sessions: hello and welcome, authentication, malformed input,
// heartbeats, acknowledgement and close (spec 1.0 §5, §6; 1.1 §6).

import { type Check, type CheckContext, expectSessionError, payloadOf, show } from "./_context.ts";
import { expect, messageId } from "./_wire.ts";

/** The agents every target must host for the job checks (docs/conformance.md). */
const KIT_AGENTS = ["echo", "count", "sleep", "fail"] as const;

const VERSION = /^1(\.\d+)?$/;

/** An echo job on a new session of the kit's principal: the session still serves. */
async function stillServes(ctx: CheckContext, wire: Awaited<ReturnType<CheckContext["open"]>>) {
  const run = await ctx.run(wire, "echo", { still: "serving" });
  expect(
    run.terminal.type === "job.result",
    `after that, an echo job did not succeed: ${show(run.terminal)}`,
  );
}

export const SESSION_CHECKS: Check[] = [
  {
    id: "session.welcome",
    section: "1.1 §6.2",
    title: "session.welcome carries session_id, resume_token, resume_window_sec, capabilities",
    async run(ctx) {
      const wire = await ctx.open();
      const welcome = await ctx.hello(wire);
      expect(
        typeof welcome.arcp === "string" && VERSION.test(welcome.arcp),
        `welcome "arcp" must be "1" or "1.x", got ${show(welcome)}`,
      );
      expect(typeof welcome.id === "string", `welcome has no string "id"`);
      const payload = payloadOf(welcome);
      expect(
        typeof payload.resume_token === "string" && payload.resume_token.length > 0,
        `welcome has no resume_token: ${show(welcome)}`,
      );
      expect(
        typeof payload.resume_window_sec === "number" && payload.resume_window_sec > 0,
        `welcome has no positive resume_window_sec: ${show(welcome)}`,
      );
      const capabilities = payload.capabilities as Record<string, unknown> | undefined;
      expect(
        Array.isArray(capabilities?.features) &&
          capabilities.features.every((f) => typeof f === "string"),
        `welcome capabilities.features is not a list of strings: ${show(welcome)}`,
      );
      expect(
        Array.isArray(capabilities?.agents),
        `welcome capabilities.agents is not a list: ${show(welcome)}`,
      );
    },
  },
  {
    id: "session.kit-agents",
    section: "docs/conformance.md",
    title: `the inventory lists the kit's agents (${KIT_AGENTS.join(", ")})`,
    run(ctx) {
      const missing = KIT_AGENTS.filter((agent) => !ctx.target.agents.has(agent));
      expect(missing.length === 0, `the target hosts no ${missing.join(", ")} agent`);
      return Promise.resolve();
    },
  },
  {
    id: "session.unknown-fields",
    section: "1.1 §5",
    title: "unknown top-level envelope fields are ignored",
    async run(ctx) {
      const wire = await ctx.open();
      wire.send("session.hello", ctx.helloPayload(ctx.target.token), { x_future_field: 1 });
      await ctx.welcome(wire, "a hello with an unknown top-level field");
      ctx.needAgents("echo");
      const run = await ctx.run(wire, "echo", 1, {});
      expect(run.terminal.type === "job.result", `echo did not succeed: ${show(run.terminal)}`);
    },
  },
  {
    id: "session.version-1",
    section: "1.0 §5.1",
    title: 'a hello with arcp "1" is welcomed',
    required: false,
    async run(ctx) {
      const wire = await ctx.open();
      wire.send("session.hello", ctx.helloPayload(ctx.target.token), { arcp: "1" });
      await ctx.welcome(wire, 'a hello with arcp "1"');
    },
  },
  {
    id: "session.wrong-version",
    section: "1.1 §5, §12",
    title: 'a hello with arcp "2.0" gets INVALID_REQUEST, no welcome',
    async run(ctx) {
      const wire = await ctx.open();
      wire.send("session.hello", ctx.helloPayload(ctx.target.token), { arcp: "2.0" });
      expectSessionError(await wire.refusal("the hello"), ["INVALID_REQUEST"], 'arcp "2.0"');
    },
  },
  {
    id: "auth.bad-token",
    section: "1.0 §6.1",
    title: "an invalid token gets UNAUTHENTICATED and the transport closes",
    async run(ctx) {
      const wire = await ctx.open();
      wire.send("session.hello", ctx.helloPayload(`wrong-${messageId()}`));
      expectSessionError(await wire.refusal("the hello"), ["UNAUTHENTICATED"], "a bad token");
      const after = await wire.next();
      expect(
        after === undefined,
        `the transport stayed open after UNAUTHENTICATED: ${show(after)}`,
      );
    },
  },
  {
    id: "auth.missing-token",
    section: "1.0 §6.1",
    title: "a hello without a token gets UNAUTHENTICATED and the transport closes",
    async run(ctx) {
      const wire = await ctx.open();
      wire.send("session.hello", ctx.helloPayload(undefined));
      expectSessionError(await wire.refusal("the hello"), ["UNAUTHENTICATED"], "no token");
      const after = await wire.next();
      expect(
        after === undefined,
        `the transport stayed open after UNAUTHENTICATED: ${show(after)}`,
      );
    },
  },
  {
    id: "auth.before-hello",
    section: "1.0 §6.1",
    title: "a job.submit before session.hello is refused, no job starts",
    async run(ctx) {
      const wire = await ctx.open();
      wire.send("job.submit", { agent: "echo", input: 1 });
      const refusal = await wire.refusal("a submit before hello");
      if (refusal !== undefined) {
        expectSessionError(
          refusal,
          ["INVALID_REQUEST", "UNAUTHENTICATED"],
          "a submit before hello",
        );
      }
    },
  },
  {
    id: "malformed.json",
    section: "1.1 §12",
    title: "a frame that is not JSON gets INVALID_REQUEST",
    async run(ctx) {
      const wire = await ctx.session();
      wire.sendText("{this is not json");
      expectSessionError(await wire.refusal("bad JSON"), ["INVALID_REQUEST"], "bad JSON");
    },
  },
  {
    id: "malformed.unknown-type",
    section: "1.1 §12",
    title: "an unknown message type gets INVALID_REQUEST",
    async run(ctx) {
      const wire = await ctx.session();
      wire.send("job.frobnicate", {});
      expectSessionError(
        await wire.refusal("job.frobnicate"),
        ["INVALID_REQUEST"],
        "an unknown type",
      );
    },
  },
  {
    id: "malformed.wrong-version",
    section: "1.1 §5, §12",
    title: 'a job.submit with arcp "2.0" gets INVALID_REQUEST, no job starts',
    async run(ctx) {
      const wire = await ctx.session();
      wire.send("job.submit", { agent: "echo", input: 1 }, { arcp: "2.0" });
      expectSessionError(await wire.refusal('arcp "2.0"'), ["INVALID_REQUEST"], 'arcp "2.0"');
    },
  },
  {
    id: "malformed.missing-field",
    section: "1.1 §7.1, §12",
    title: "a job.submit without an agent gets INVALID_REQUEST",
    async run(ctx) {
      const wire = await ctx.session();
      wire.send("job.submit", { input: 1 });
      expectSessionError(
        await wire.refusal("no agent"),
        ["INVALID_REQUEST"],
        "a submit without agent",
      );
    },
  },
  {
    id: "malformed.session-goes-on",
    section: "1.1 §12",
    title: "after INVALID_REQUEST the session goes on or is closed, never hangs",
    async run(ctx) {
      ctx.needAgents("echo");
      const wire = await ctx.session();
      wire.sendText("[1, 2, 3]");
      expectSessionError(await wire.refusal("a JSON array"), ["INVALID_REQUEST"], "a JSON array");
      if (wire.ended) return;
      await stillServes(ctx, wire);
    },
  },
  {
    id: "heartbeat.ping",
    section: "1.1 §6.4",
    title: "session.ping is answered by session.pong with its nonce, outside event_seq",
    feature: "heartbeat",
    async run(ctx) {
      const wire = await ctx.open();
      const welcome = await ctx.hello(wire);
      const interval = payloadOf(welcome).heartbeat_interval_sec;
      expect(
        typeof interval === "number" && interval > 0,
        `welcome has no positive heartbeat_interval_sec: ${show(welcome)}`,
      );
      const nonce = `p_${messageId()}`;
      wire.send("session.ping", { nonce, sent_at: new Date().toISOString() });
      const pong = await wire.expect("session.pong", "the pong");
      expect(payloadOf(pong).ping_nonce === nonce, `the pong names another nonce: ${show(pong)}`);
      expect(pong.event_seq === undefined, `the pong carries an event_seq: ${show(pong)}`);
    },
  },
  {
    id: "ack.accepted",
    section: "1.1 §6.5",
    title: "session.ack after each event is taken silently; every event arrives",
    feature: "ack",
    async run(ctx) {
      ctx.needAgents("count");
      const wire = await ctx.session();
      const { jobId } = await ctx.submit(wire, "count", { n: 50 });
      let progress = 0;
      for (;;) {
        const frame = await wire.next();
        expect(frame !== undefined, "the connection closed during the job");
        expect(frame.type !== "session.error", `an ack was refused: ${show(frame)}`);
        if (typeof frame.event_seq === "number") {
          wire.send("session.ack", { last_processed_seq: frame.event_seq });
        }
        if (frame.type === "job.event" && payloadOf(frame).kind === "progress") progress++;
        if (frame.type === "job.result" || frame.type === "job.error") {
          expect(frame.job_id === jobId && frame.type === "job.result", `${show(frame)}`);
          break;
        }
      }
      if (ctx.target.features.has("progress")) {
        expect(progress === 50, `expected 50 progress events, got ${progress}`);
      }
      await stillServes(ctx, wire);
    },
  },
  {
    id: "session.close",
    section: "1.1 §6.7",
    title: "session.close is acknowledged with session.closed",
    async run(ctx) {
      const wire = await ctx.session();
      wire.send("session.close", {});
      await wire.expect("session.closed", "session.closed");
    },
  },
];
