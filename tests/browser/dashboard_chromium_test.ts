// The jobs dashboard end to end: a real `cli.ts serve --demo --dashboard`
// process, a Deno client submitting jobs to it, and the page the process
// serves at `/`, driven in headless Chromium. The page lists the jobs (over
// several listing pages), follows one's progress and lease countdown live, a
// budget and a streamed result, and cancels the one job its own session
// submitted; the Deno client sees that job end CANCELLED. Screenshots go to
// reports/dashboard/.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { ArcpError } from "../../protocol/errors.ts";
import { startServe } from "../_serve.ts";
import { launchChromium, type Page, skipWithoutChromium } from "./_chromium.ts";

const TOKEN = "t-dashboard";
const SHOTS = new URL("../../reports/dashboard/", import.meta.url);
/** Two minutes of counting: still going when the test cancels it, whatever the machine's pace. */
const LONG_COUNT = { n: 2400, delay_ms: 50 };

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: new URL(name, SHOTS).pathname, fullPage: true });
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).textContent()) ?? "";
}

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** A pattern for exactly `text`. */
function literal(text: string): RegExp {
  return new RegExp(`^${escaped(text)}$`);
}

/** Waits until `selector`'s (whitespace-normalised) text matches `pattern`, and returns it. */
async function textMatching(page: Page, selector: string, pattern: RegExp): Promise<string> {
  const found = page.locator(selector, { hasText: pattern });
  await found.waitFor();
  return (await found.textContent()) ?? "";
}

/** Waits until `selector`'s text is no longer `before`, and returns it. */
async function textChangedFrom(page: Page, selector: string, before: string): Promise<string> {
  const found = page.locator(selector, { hasNotText: literal(before) });
  await found.waitFor();
  return (await found.textContent()) ?? "";
}

function stepsOf(progress: string): number {
  const match = /^(\d+) \/ 2400 steps/.exec(progress);
  assert.ok(match, `unexpected progress text "${progress}"`);
  return Number(match[1]);
}

async function selectJob(page: Page, jobId: string): Promise<void> {
  await page.locator(`tr[data-job-id="${jobId}"]`).click();
  await textMatching(page, "#detail-heading", literal(`Job ${jobId}`));
}

Deno.test({
  name:
    "the dashboard lists jobs, follows progress, budget, lease and result live, and cancels only its own",
  ignore: skipWithoutChromium("the dashboard in Chromium"),
  async fn() {
    await Deno.mkdir(SHOTS, { recursive: true });
    const served = await startServe(TOKEN, undefined, ["--dashboard"]);
    const cleanup = new AsyncDisposableStack();
    cleanup.defer(async () => {
      await served.stop();
    });
    try {
      // It acknowledges nothing, so the runtime keeps its jobs' events and the
      // page's subscriptions replay them: subscribers' history is bounded by
      // what the submitter has not yet acknowledged (spec 1.1 §7.6).
      const client = await connect(served.url, { token: TOKEN, autoAck: false });
      cleanup.defer(() => client.close());
      const expiresAt = new Date(Date.now() + 10 * 60_000).toISOString();
      const counting = await client.submit("count", LONG_COUNT, {
        leaseConstraints: { expires_at: expiresAt },
      });
      // Only the outcomes matter to this client.
      await counting.events.cancel();

      const browser = await launchChromium();
      cleanup.defer(() => browser.close());
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console error: ${message.text()}`);
      });
      const origin = served.url.replace(/^ws:/, "http:").replace(/\/arcp$/, "/");
      // Two jobs per listing page, so the list needs the cursor.
      await page.goto(`${origin}?page_size=2`);
      assert.equal(await page.inputValue("#url"), served.url, "the runtime is the page's own host");
      await page.fill("#token", TOKEN);
      await page.click("#connect");
      await textMatching(page, "#connection", /^Connected, session sess_/);
      await page.locator(`tr[data-job-id="${counting.jobId}"]`).waitFor();

      // Jobs submitted after the page connected appear with the next refresh.
      const spending = await client.submit("spend", { costs: [0.1, 0.2, 0.3], currency: "USD" }, {
        leaseRequest: { "tool.call": ["noop"], "cost.budget": ["USD:1.00"] },
      });
      const reporting = await client.submit("report", { bytes: 300 });
      await spending.events.cancel();
      await reporting.events.cancel();
      assert.deepEqual(await spending.result, { final_status: "success", result: { spent: 0.6 } });
      await textMatching(page, "#jobs-summary", /^3 jobs in 2 pages/);
      for (const job of [counting, spending, reporting]) {
        await page.locator(`tr[data-job-id="${job.jobId}"]`).waitFor();
      }
      assert.equal(await page.locator(".own").count(), 0, "no job of the page's session yet");

      // Progress and the lease countdown advance while the page watches.
      await selectJob(page, counting.jobId);
      assert.match(await text(page, "#detail-authority"), /^observed/);
      assert.equal(await page.isHidden("#cancel"), true, "a subscriber may not cancel");
      const first = stepsOf(await textMatching(page, "#progress-text", /^[1-9]\d* \/ 2400/));
      const later = stepsOf(await textChangedFrom(page, "#progress-text", `${first} / 2400 steps`));
      assert.ok(later > first, `progress went from ${first} to ${later}`);
      const countdown = await textMatching(
        page,
        "#lease-expiry",
        new RegExp(`^${escaped(expiresAt)} \\(in \\d+m \\d\\ds\\)$`),
      );
      await textChangedFrom(page, "#lease-expiry", countdown);
      assert.ok(
        Number(await page.getAttribute("#progress-bar", "value")) > 0,
        "the progress bar moved",
      );
      await screenshot(page, "1-progress.png");

      // The budget gauge: the cap from the lease, the rest from cost.budget.remaining.
      await selectJob(page, spending.jobId);
      await textMatching(page, "#result", literal(JSON.stringify({ spent: 0.6 }, null, 2)));
      // Replayed history: each cost, then what is left of the budget.
      const events = await textMatching(page, "#events", /cost\.budget\.remaining = 0\.4 USD/);
      assert.match(events, /cost\.demo = 0\.1 USD.*cost\.budget\.remaining = 0\.9 USD/);
      assert.equal(await text(page, "#detail-status"), "success");
      assert.equal(await text(page, "#budget .budget-text"), "0.4 of 1 USD left");
      assert.equal(await page.getAttribute("#budget meter", "value"), "0.4");
      assert.equal(await page.getAttribute("#budget meter", "max"), "1");
      await screenshot(page, "2-budget.png");

      // A streamed result, reassembled from its chunks.
      await selectJob(page, reporting.jobId);
      const result = await textMatching(page, "#result", /^streamed, 300 bytes:/);
      assert.match(result, /\nARCP demo report, line 1\nARCP demo report, line 2\n/);

      // A job the page's own session submits is the one it may cancel.
      await page.selectOption("#submit-agent", "sleep");
      await page.fill("#submit-input", JSON.stringify({ ms: 600_000 }));
      await page.click("#submit");
      await textMatching(page, "#detail-status", /^running$/);
      const heading = await text(page, "#detail-heading");
      const ownJobId = heading.replace(/^Job /, "");
      assert.match(ownJobId, /^job_/);
      assert.match(await text(page, "#detail-authority"), /^submitted by this page's session/);
      assert.equal(await page.isVisible("#cancel"), true);
      await page.locator(`tr[data-job-id="${ownJobId}"] .own`).waitFor();

      // The Deno client sees the page's job: same principal, another session.
      const listed = [];
      for await (const listing of client.listJobs({ filter: { agent: "sleep" } })) {
        listed.push(...listing.jobs.map((job) => job.job_id));
      }
      assert.deepEqual(listed, [ownJobId]);
      const watched = await client.subscribe(ownJobId, { history: true });
      await assert.rejects(
        client.cancel(ownJobId),
        (error) => error instanceof ArcpError && error.code === "PERMISSION_DENIED",
        "only the submitting session may cancel (spec §7.4, §7.6)",
      );
      await screenshot(page, "3-own-job.png");

      await page.click("#cancel");
      await assert.rejects(
        watched.result,
        (error) => error instanceof ArcpError && error.code === "CANCELLED",
      );
      await textMatching(page, "#detail-status", /^cancelled$/);
      assert.match(await text(page, "#result"), /^CANCELLED: cancelled from the dashboard/);
      assert.equal(await page.isHidden("#cancel"), true);
      assert.equal(await text(page, "#cancel-error"), "");

      // The Deno client ends its own job; the page watching it sees that too.
      await counting.cancel();
      await assert.rejects(counting.result, { code: "CANCELLED" });
      await selectJob(page, counting.jobId);
      await textMatching(page, "#detail-status", /^cancelled$/);
      await textMatching(page, `tr[data-job-id="${counting.jobId}"] .status`, /^cancelled$/);
      assert.match(await text(page, "#lease-expiry"), /\(the job has ended\)$/);
      await screenshot(page, "4-cancelled.png");

      assert.deepEqual(problems, [], "errors in the page");
    } finally {
      await cleanup.disposeAsync();
    }
  },
});
