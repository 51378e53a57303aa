// This module is browser compatible.
/**
 * The ARCP jobs dashboard, the page `cli.ts serve --dashboard` serves at `/`:
 * connects with a bearer token to the runtime at the page's own `/arcp`,
 * lists the principal's jobs (refreshed every few seconds, all pages of the
 * listing cursor; spec 1.1 §6.6), follows the selected one (a subscription
 * with history, spec 1.1 §7.6) and shows its events, progress, budget, lease
 * expiry and result. Jobs submitted from this page belong to its session,
 * the only one that may cancel them (spec §7.4): only those get a cancel
 * button.
 *
 * @module
 */

import { type Client, connect, type JobHandle, type JobSubscription } from "../../client.ts";
import {
  ArcpError,
  type JobStatus,
  type JobSummary,
  type Lease,
  type LeaseConstraints,
  SDK_VERSION,
} from "../../protocol/mod.ts";
import { follow, formatCountdown, isTerminal, JobState } from "./job_model.ts";

/** How often the job list is fetched again. */
const REFRESH_MS = 2000;
/** Listing page size; `?page_size=N` overrides it. */
const DEFAULT_PAGE_SIZE = 100;
/** The list stops after this many jobs. */
const MAX_LISTED = 1000;

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`The page has no #${id}`);
  return found as T;
}

const ui = {
  connectForm: byId<HTMLFormElement>("connect-form"),
  url: byId<HTMLInputElement>("url"),
  token: byId<HTMLInputElement>("token"),
  connection: byId<HTMLParagraphElement>("connection"),
  main: document.querySelector("main")!,
  filter: byId<HTMLSelectElement>("status-filter"),
  jobsSummary: byId<HTMLParagraphElement>("jobs-summary"),
  jobs: byId<HTMLTableElement>("jobs").tBodies[0]!,
  submitForm: byId<HTMLFormElement>("submit-form"),
  submitAgent: byId<HTMLSelectElement>("submit-agent"),
  submitInput: byId<HTMLTextAreaElement>("submit-input"),
  submitLease: byId<HTMLTextAreaElement>("submit-lease"),
  submitExpires: byId<HTMLInputElement>("submit-expires"),
  submitError: byId<HTMLParagraphElement>("submit-error"),
  detailHeading: byId<HTMLHeadingElement>("detail-heading"),
  detailBody: byId<HTMLDivElement>("detail-body"),
  agent: byId<HTMLElement>("detail-agent"),
  status: byId<HTMLSpanElement>("detail-status"),
  authority: byId<HTMLElement>("detail-authority"),
  expiry: byId<HTMLElement>("lease-expiry"),
  progressBar: byId<HTMLProgressElement>("progress-bar"),
  progressText: byId<HTMLSpanElement>("progress-text"),
  budget: byId<HTMLDivElement>("budget"),
  cancel: byId<HTMLButtonElement>("cancel"),
  cancelError: byId<HTMLSpanElement>("cancel-error"),
  result: byId<HTMLPreElement>("result"),
  eventCount: byId<HTMLSpanElement>("event-count"),
  events: byId<HTMLOListElement>("events"),
};

/** A job this page's session submitted: it may cancel it. */
interface OwnJob {
  handle: JobHandle;
  state: JobState;
}

/** The job on display; `state` is unset until its subscription is answered. */
interface Selection {
  jobId: string;
  state?: JobState;
  subscription?: JobSubscription;
  problem?: string;
}

let client: Client | undefined;
let refreshTimer: ReturnType<typeof setInterval> | undefined;
let refreshing = false;
let listed: JobSummary[] = [];
const own = new Map<string, OwnJob>();
let selection: Selection | undefined;
let renderPending = false;

function describe(error: unknown): string {
  if (error instanceof ArcpError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function pageSize(): number {
  const asked = Number(new URLSearchParams(location.search).get("page_size"));
  return Number.isInteger(asked) && asked > 0 ? asked : DEFAULT_PAGE_SIZE;
}

/** The state the page follows for `jobId`, if any: fresher than the listing. */
function followed(jobId: string): JobState | undefined {
  return own.get(jobId)?.state ??
    (selection?.jobId === jobId ? selection.state : undefined);
}

function statusBadge(status: JobStatus): HTMLSpanElement {
  const badge = document.createElement("span");
  badge.className = `status status-${status}`;
  badge.textContent = status;
  return badge;
}

function cell(row: HTMLTableRowElement, ...content: (string | Node)[]): void {
  row.insertCell().append(...content);
}

function renderJobs(): void {
  const rows = listed.map((job) => {
    const row = document.createElement("tr");
    row.dataset.jobId = job.job_id;
    row.setAttribute("aria-selected", String(selection?.jobId === job.job_id));
    const id = document.createElement("span");
    id.className = "job-id";
    id.textContent = job.job_id;
    const mine = document.createElement("span");
    if (own.has(job.job_id)) {
      mine.className = "own";
      mine.textContent = " · yours";
    }
    cell(row, id, mine);
    cell(row, job.agent);
    cell(row, statusBadge(followed(job.job_id)?.status ?? job.status));
    cell(row, new Date(job.created_at).toLocaleTimeString());
    row.addEventListener("click", () => void select(job.job_id));
    return row;
  });
  ui.jobs.replaceChildren(...rows);
}

async function refreshJobs(): Promise<void> {
  const current = client;
  if (current === undefined || refreshing) return;
  refreshing = true;
  try {
    const filter = ui.filter.value === ""
      ? undefined
      : { status: ui.filter.value.split(",") as JobStatus[] };
    const jobs: JobSummary[] = [];
    let pages = 0;
    let truncated = false;
    for await (const page of current.listJobs({ limit: pageSize(), ...filter && { filter } })) {
      pages++;
      jobs.push(...page.jobs);
      if (jobs.length >= MAX_LISTED && page.next_cursor !== null) {
        truncated = true;
        break;
      }
    }
    if (current !== client) return;
    // Whatever order the runtime lists in, the newest go on top.
    listed = jobs.sort((a, b) =>
      a.created_at === b.created_at
        ? (a.job_id < b.job_id ? 1 : -1)
        : (a.created_at < b.created_at ? 1 : -1)
    );
    ui.jobsSummary.textContent = `${jobs.length}${truncated ? "+" : ""} job${
      jobs.length === 1 ? "" : "s"
    } in ${pages} page${pages === 1 ? "" : "s"} · updated ${new Date().toLocaleTimeString()}`;
    renderJobs();
  } catch (error) {
    ui.jobsSummary.textContent = `Cannot list jobs: ${describe(error)}`;
  } finally {
    refreshing = false;
  }
}

function scheduleRender(): void {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    renderDetail();
  });
}

function renderExpiry(state: JobState): void {
  if (state.expiresAt === undefined) {
    ui.expiry.textContent = "never";
    return;
  }
  const left = formatCountdown(state.expiresAt, Date.now());
  // An ended job's lease grants nothing any more: no countdown then.
  const note = isTerminal(state.status)
    ? "the job has ended"
    : left === "expired"
    ? left
    : `in ${left}`;
  ui.expiry.textContent = `${new Date(state.expiresAt).toISOString()} (${note})`;
}

function renderProgress(state: JobState): void {
  const progress = state.progress;
  if (progress === undefined) {
    ui.progressBar.max = 1;
    ui.progressBar.value = 0;
    ui.progressText.textContent = "no progress reported";
    return;
  }
  if (progress.total === undefined) ui.progressBar.removeAttribute("value");
  else {
    ui.progressBar.max = Math.max(progress.total, 1);
    ui.progressBar.value = Math.min(progress.current, progress.total);
  }
  ui.progressText.textContent = `${progress.current}${
    progress.total === undefined ? "" : ` / ${progress.total}`
  }${progress.units === undefined ? "" : ` ${progress.units}`}${
    progress.message === undefined ? "" : ` · ${progress.message}`
  }`;
}

function renderBudget(state: JobState): void {
  const gauges = [...state.budget.values()].map((gauge) => {
    const row = document.createElement("div");
    row.className = "gauge";
    row.dataset.currency = gauge.currency;
    const label = document.createElement("span");
    label.className = "gauge-label";
    label.textContent = `Budget ${gauge.currency}`;
    const meter = document.createElement("meter");
    meter.min = 0;
    meter.max = gauge.cap ?? Math.max(gauge.remaining, 1);
    meter.low = meter.max * 0.25;
    meter.optimum = meter.max;
    meter.value = Math.max(0, gauge.remaining);
    const text = document.createElement("span");
    text.className = "budget-text";
    text.textContent = gauge.cap === undefined
      ? `${gauge.remaining} ${gauge.currency} left`
      : `${gauge.remaining} of ${gauge.cap} ${gauge.currency} left`;
    row.append(label, meter, text);
    return row;
  });
  ui.budget.replaceChildren(...gauges);
}

function renderOutcome(state: JobState): void {
  const outcome = state.outcome;
  if (outcome === undefined) {
    ui.result.textContent = isTerminal(state.status) ? "(ended)" : "(running)";
  } else if (outcome.kind === "result") {
    ui.result.textContent = outcome.streamed
      ? `streamed, ${outcome.bytes} bytes:\n${outcome.text}`
      : outcome.text;
  } else if (outcome.kind === "error") {
    ui.result.textContent = `${outcome.code}: ${outcome.message}`;
  } else {
    ui.result.textContent = `Stopped following: ${outcome.message}`;
  }
}

function renderDetail(): void {
  for (const row of ui.jobs.rows) {
    row.setAttribute("aria-selected", String(row.dataset.jobId === selection?.jobId));
  }
  const state = selection?.state;
  if (selection === undefined || state === undefined) {
    ui.detailHeading.textContent = selection === undefined
      ? "Select a job"
      : `Job ${selection.jobId}: ${selection.problem ?? "subscribing…"}`;
    ui.detailBody.hidden = true;
    return;
  }
  ui.detailHeading.textContent = `Job ${state.jobId}`;
  ui.detailBody.hidden = false;
  ui.agent.textContent = state.agent;
  ui.status.className = `status status-${state.status}`;
  ui.status.textContent = state.status;
  const mine = own.has(state.jobId);
  ui.authority.textContent = mine
    ? "submitted by this page's session, which may cancel it"
    : "observed: a subscription confers no cancel authority";
  ui.cancel.hidden = !mine || isTerminal(state.status);
  renderExpiry(state);
  renderProgress(state);
  renderBudget(state);
  renderOutcome(state);
  ui.eventCount.textContent = state.eventCount > state.events.length
    ? `(${state.eventCount}, the latest ${state.events.length} shown)`
    : `(${state.eventCount})`;
  ui.events.replaceChildren(...state.events.map((line) => {
    const item = document.createElement("li");
    const seq = document.createElement("span");
    seq.className = "seq";
    seq.textContent = `#${line.seq}`;
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = line.kind;
    item.append(seq, kind, line.text);
    return item;
  }));
  ui.events.scrollTop = ui.events.scrollHeight;
  // A job the listing still shows as running may have ended here.
  const row = [...ui.jobs.rows].find((r) => r.dataset.jobId === state.jobId);
  const badge = row?.cells[2]?.firstElementChild;
  if (badge !== undefined && badge !== null && badge.textContent !== state.status) {
    badge.replaceWith(statusBadge(state.status));
  }
}

/** Stops observing the selected job, unless this session submitted it. */
function leaveSelection(): void {
  const subscription = selection?.subscription;
  if (subscription !== undefined && !subscription.done) {
    subscription.unsubscribe().catch(() => {});
  }
  selection = undefined;
}

async function select(jobId: string): Promise<void> {
  if (selection?.jobId === jobId || client === undefined) return;
  leaveSelection();
  ui.cancelError.textContent = "";
  const mine = own.get(jobId);
  const chosen: Selection = mine === undefined ? { jobId } : { jobId, state: mine.state };
  selection = chosen;
  renderDetail();
  if (mine !== undefined) return;
  try {
    const subscription = await client.subscribe(jobId, { history: true });
    if (selection !== chosen) {
      await subscription.unsubscribe();
      return;
    }
    const subscribed = subscription.subscribed;
    const state = new JobState({
      jobId,
      agent: subscribed.agent,
      status: subscribed.current_status,
      lease: subscribed.lease,
      leaseConstraints: subscribed.lease_constraints,
      budget: subscribed.budget,
    });
    chosen.subscription = subscription;
    chosen.state = state;
    void follow(subscription, state, scheduleRender);
  } catch (error) {
    chosen.problem = describe(error);
  }
  renderDetail();
}

async function cancelSelected(): Promise<void> {
  const jobId = selection?.jobId;
  if (jobId === undefined || client === undefined) return;
  ui.cancel.disabled = true;
  ui.cancelError.textContent = "";
  try {
    // The runtime is the judge: it answers PERMISSION_DENIED to any other session.
    await client.cancel(jobId, { reason: "cancelled from the dashboard" });
  } catch (error) {
    ui.cancelError.textContent = `Not cancelled: ${describe(error)}`;
  } finally {
    ui.cancel.disabled = false;
  }
}

function parseJson(text: string, what: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TypeError(`${what} is not JSON: ${(error as Error).message}`);
  }
}

async function submitJob(): Promise<void> {
  if (client === undefined) return;
  ui.submitError.textContent = "";
  try {
    const input = parseJson(ui.submitInput.value, "Input");
    const leaseRequest = parseJson(ui.submitLease.value, "Lease request") as Lease | undefined;
    const expiresIn = ui.submitExpires.valueAsNumber;
    const leaseConstraints: LeaseConstraints | undefined = Number.isFinite(expiresIn)
      ? { expires_at: new Date(Date.now() + expiresIn * 1000).toISOString() }
      : undefined;
    const handle = await client.submit(ui.submitAgent.value, input, {
      ...leaseRequest && { leaseRequest },
      ...leaseConstraints && { leaseConstraints },
    });
    const state = JobState.submitted(handle);
    own.set(handle.jobId, { handle, state });
    // Read to the end whether shown or not: unread events hold back acknowledgement.
    void follow(handle, state, scheduleRender);
    await select(handle.jobId);
    await refreshJobs();
  } catch (error) {
    ui.submitError.textContent = describe(error);
  }
}

function fillAgents(current: Client): void {
  const options = current.agents.flatMap((agent) => {
    const option = document.createElement("option");
    option.value = agent.name;
    option.textContent = agent.default === undefined
      ? agent.name
      : `${agent.name} (${agent.default})`;
    return [option];
  });
  ui.submitAgent.replaceChildren(...options);
}

async function connectToRuntime(): Promise<void> {
  if (refreshTimer !== undefined) clearInterval(refreshTimer);
  leaveSelection();
  own.clear();
  listed = [];
  const previous = client;
  client = undefined;
  await previous?.close().catch(() => {});
  ui.main.hidden = true;
  ui.connection.textContent = `Connecting to ${ui.url.value}…`;
  try {
    client = await connect(ui.url.value, {
      token: ui.token.value,
      client: { name: "arcp-dashboard", version: SDK_VERSION },
    });
  } catch (error) {
    ui.connection.textContent = `Cannot connect: ${describe(error)}`;
    return;
  }
  ui.connection.textContent = `Connected, session ${client.sessionId}`;
  fillAgents(client);
  ui.main.hidden = false;
  renderJobs();
  renderDetail();
  await refreshJobs();
  refreshTimer = setInterval(() => void refreshJobs(), REFRESH_MS);
}

ui.url.value = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/arcp`;
ui.connectForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void connectToRuntime();
});
ui.submitForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void submitJob();
});
ui.filter.addEventListener("change", () => void refreshJobs());
ui.cancel.addEventListener("click", () => void cancelSelected());
setInterval(() => {
  if (selection?.state !== undefined) renderExpiry(selection.state);
}, 1000);
