// A page reload in headless Chromium resumes the session from the resume
// state the client kept in IndexedDB (resume_page.ts), against a runtime in
// this Deno process over a real WebSocket on 127.0.0.1. The job emits ticks
// 0-2 to the first page, 3-5 while the page is away, and 6-8 once the
// reloaded page has its job back: the two pages together see every tick
// once, in order, then the result.

import assert from "node:assert/strict";
import { type AgentContext, Runtime, staticTokens } from "../../runtime.ts";
import { openPage, skipWithoutChromium } from "./_chromium.ts";
import type { VisitResult } from "./resume_page.ts";

const TOKEN = "t-browser";

Deno.test({
  name: "a reloaded page resumes its session from IndexedDB and gets the rest of its job",
  ignore: skipWithoutChromium("resuming after a reload in Chromium"),
  async fn() {
    const away = Promise.withResolvers<void>();
    const emittedWhileAway = Promise.withResolvers<void>();
    const back = Promise.withResolvers<void>();
    let runs = 0;
    let upgrades = 0;
    await using runtime = new Runtime({
      authenticate: staticTokens({ [TOKEN]: "browser" }),
      agents: [{
        name: "ticker",
        async handler(_input: unknown, ctx: AgentContext) {
          runs++;
          for (let i = 0; i < 3; i++) await ctx.log("info", "tick", { i });
          await away.promise;
          for (let i = 3; i < 6; i++) await ctx.log("info", "tick", { i });
          emittedWhileAway.resolve();
          await back.promise;
          for (let i = 6; i < 9; i++) await ctx.log("info", "tick", { i });
          return { ticks: 9 };
        },
      }],
      upgradeWebSocket(request) {
        upgrades++;
        return Deno.upgradeWebSocket(request);
      },
    });
    try {
      await using host = await openPage(new URL("./resume_page.ts", import.meta.url), {
        title: "ARCP resume after reload",
        handler: runtime.fetch,
      });
      await host.page.goto(new URL(`?token=${TOKEN}`, host.url).href);
      const first = await host.result<VisitResult>();
      assert.equal(first.visit, "first");
      assert.equal(first.resumedFrom, undefined);
      assert.deepEqual(first.events.map((event) => event.tick), [0, 1, 2]);

      // The reloaded page waits for us, so ticks 3-5 happen with no page connected.
      await host.page.reload();
      away.resolve();
      await emittedWhileAway.promise;
      await host.release("resume");
      await host.phase("resubmitted");
      back.resolve();
      const reloaded = await host.result<VisitResult>();

      assert.equal(reloaded.visit, "reloaded");
      assert.equal(reloaded.sessionId, first.sessionId, "the same session, resumed");
      assert.equal(reloaded.resumedFrom, first.lastEventSeq);
      assert.equal(reloaded.jobId, first.jobId, "the same job, not a second one");
      const events = [...first.events, ...reloaded.events];
      assert.deepEqual(events.map((event) => event.tick), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
      const seqs = events.map((event) => event.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => seqs[0]! + i), "event_seq without gap");
      assert.deepEqual(reloaded.result, { ticks: 9 });
      assert.equal(runs, 1);
      assert.equal(upgrades, 2, "one WebSocket per page");
      assert.deepEqual(host.problems, [], "errors in the page");
    } finally {
      away.resolve();
      back.resolve();
    }
  },
});
