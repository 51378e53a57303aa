// A seeded fuzzer for a runtime at a WebSocket URL: each connection sends
// the frames of tests/_fuzz_frames.ts, before a hello or after a good one,
// then proves the runtime still answers it (or closed it), never answered
// INTERNAL_ERROR, and that its session can still be resumed and lists every
// job whose end it delivered with that final status. Every wait has a
// deadline, so a runtime that hangs shows up as a failure, never a stuck run.

import { connect } from "../client.ts";
import {
  authenticates,
  BEARER,
  type FuzzFrame,
  JOB,
  planFrames,
  preview,
  RESUME_TOKEN,
  SESSION,
} from "./_fuzz_frames.ts";
import { type Received, Socket } from "./_fuzz_socket.ts";

export { planFrames, preview } from "./_fuzz_frames.ts";

/** Options of {@linkcode fuzz}. */
export interface FuzzOptions {
  /** The runtime's WebSocket URL, e.g. `ws://127.0.0.1:7777/arcp`. */
  url: string;
  /**
   * A bearer token the runtime accepts, or several: connection `i` uses
   * token `i` modulo their number, so per-principal limits bound no single
   * principal with the whole run.
   */
  token: string | readonly string[];
  /** Seeds the frames: the same seed sends the same frames. */
  seed: number;
  /** Connections to open, each with its own frames. */
  connections: number;
  /** Fuzz frames per connection. */
  framesPerConnection: number;
  /** Connections open at a time. @default {4} */
  concurrency?: number;
  /** Deadline of every wait for the runtime, in milliseconds. @default {10000} */
  deadlineMs?: number;
  /**
   * Replays one connection of the run instead of all, optionally only some
   * of its frames (indices): to narrow a failure down to the frame causing it.
   */
  only?: { connection: number; frames?: number[] };
}

/** Something the runtime did wrong on one connection. */
export interface FuzzFailure {
  seed: number;
  connection: number;
  authenticated: boolean;
  /** What went wrong, e.g. `hang: no reply to the probe and no close within 10000 ms`. */
  symptom: string;
  /** The frames the connection sent, labelled and previewed. */
  frames: string[];
}

/** What a fuzz run did and found. */
export interface FuzzReport {
  seed: number;
  connections: number;
  framesSent: number;
  /** Frames the runtime sent back, all connections together. */
  replies: number;
  /** `session.error` replies, by code. */
  errorCodes: Record<string, number>;
  /** Connections the runtime closed before the fuzzer did. */
  closes: number;
  failures: FuzzFailure[];
}

const requestIdOf = (frame: Received) => frame.payload?.request_id;
const describe = (frame: Received | "closed" | "timeout") =>
  typeof frame === "string" ? frame : JSON.stringify(frame).slice(0, 300);

function hello(token: string, id: string, resume?: Record<string, unknown>): string {
  return JSON.stringify({
    arcp: "1.1",
    id,
    type: "session.hello",
    payload: {
      client: { name: "fuzz", version: "0.0.0" },
      auth: { scheme: "bearer", token },
      capabilities: { encodings: ["json"], features: ["list_jobs", "subscribe", "agent_versions"] },
      ...(resume === undefined ? {} : { resume }),
    },
  });
}

function submit(id: string, sessionId: string, agent: string, input: unknown): string {
  return JSON.stringify({
    arcp: "1.1",
    id,
    type: "job.submit",
    session_id: sessionId,
    payload: { agent, input },
  });
}

type Settings = FuzzOptions & Required<Pick<FuzzOptions, "concurrency" | "deadlineMs">>;

function tokenOf(options: FuzzOptions, connection: number): string {
  const tokens = typeof options.token === "string" ? [options.token] : options.token;
  return tokens[connection % tokens.length]!;
}

interface Session {
  token: string;
  sessionId: string;
  resumeToken: string;
  /** The long job {@linkcode greet} submitted. */
  jobId?: string;
}

function sessionOf(frames: readonly Received[], token: string): Session | undefined {
  const welcome = frames.find((frame) => frame.type === "session.welcome");
  if (typeof welcome?.session_id !== "string") return undefined;
  return {
    token,
    sessionId: welcome.session_id,
    resumeToken: String(welcome.payload?.resume_token),
  };
}

/** Runs one connection; returns its symptoms (none when the runtime behaved). */
async function fuzzConnection(
  options: Settings,
  connection: number,
  report: FuzzReport,
): Promise<string[]> {
  const { url, seed, deadlineMs } = options;
  const token = tokenOf(options, connection);
  const tag = `fuzz_${seed}_${connection}`;
  const socket = new Socket(url);
  const symptoms: string[] = [];
  try {
    if (!await socket.opened(deadlineMs)) {
      symptoms.push("the WebSocket did not open");
      return symptoms;
    }
    let session: Session | undefined;
    if (authenticates(seed, connection)) {
      const result = await greet(socket, token, tag, deadlineMs);
      if (typeof result === "string") {
        symptoms.push(result);
        return symptoms;
      }
      session = result;
    }
    const frames = planFrames(seed, connection, options.framesPerConnection)
      .filter((_, i) => options.only?.frames?.includes(i) ?? true);
    // What the connection acknowledged may have been trimmed from the log.
    let acked = 0;
    for (const frame of frames) {
      const text = splice(frame, token, session);
      if (!socket.send(text)) break;
      report.framesSent++;
      acked = Math.max(acked, ackedSeq(text));
    }
    const probed = socket.frames.length;
    const probe = `${tag}_probe`;
    const sent = socket.send(
      session === undefined
        ? hello(token, probe)
        : submit(probe, session.sessionId, "echo", { probe: connection }),
    );
    const answer = !sent ? "closed" : await socket.waitFor(
      (frame) =>
        requestIdOf(frame) === probe || (session === undefined && frame.type === "session.welcome"),
      deadlineMs,
      probed,
    );
    if (answer === "timeout") {
      symptoms.push(`hang: no reply to the probe and no close within ${deadlineMs} ms`);
    }
    // A session some fuzz frame opened (a valid hello) is checked the same way.
    session ??= sessionOf(socket.frames, token);
    const ended = socket.frames.some((frame) => frame.type === "session.closed");
    if (session !== undefined && !ended) {
      const lastSeq = Math.max(0, ...socket.frames.map((f) => Number(f.event_seq) || 0));
      if (!await socket.close(deadlineMs)) symptoms.push("close: the runtime never closed");
      const delivered = deliveredStatuses(socket.frames);
      const resumed = await resumeCheck(options, tag, session, { lastSeq, acked }, delivered);
      if (resumed !== undefined) symptoms.push(resumed);
    }
  } finally {
    if (!await socket.close(deadlineMs)) symptoms.push("close: the runtime never closed");
    report.replies += socket.frames.length;
    if (socket.closedByRuntime) report.closes++;
    for (const frame of socket.frames) {
      if (frame.type !== "session.error") continue;
      const code = String(frame.payload?.code);
      report.errorCodes[code] = (report.errorCodes[code] ?? 0) + 1;
      // Bad input deserves a protocol error naming the problem, not a runtime failure.
      if (code === "INTERNAL_ERROR") {
        const request = frame.payload?.request_id;
        symptoms.push(`INTERNAL_ERROR in reply to frame ${request}: ${frame.payload?.message}`);
      }
    }
    symptoms.push(...socket.problems);
  }
  return symptoms;
}

/** A good hello and a long job whose id the fuzz frames can name. */
async function greet(
  socket: Socket,
  token: string,
  tag: string,
  deadlineMs: number,
): Promise<Session | string> {
  socket.send(hello(token, `${tag}_hello`));
  const welcome = await socket.waitFor((f) => f.type === "session.welcome", deadlineMs);
  if (typeof welcome === "string" || typeof welcome.session_id !== "string") {
    return `handshake: no welcome to a good hello (${describe(welcome)})`;
  }
  const sessionId = welcome.session_id;
  const resumeToken = String(welcome.payload?.resume_token);
  socket.send(submit(`${tag}_job`, sessionId, "sleep", { ms: 1_500 }));
  const accepted = await socket.waitFor((f) => requestIdOf(f) === `${tag}_job`, deadlineMs);
  if (typeof accepted === "string" || accepted.type !== "job.accepted") {
    return `handshake: a good job.submit was not accepted (${describe(accepted)})`;
  }
  return { token, sessionId, resumeToken, jobId: String(accepted.job_id) };
}

function splice(
  frame: FuzzFrame,
  token: string,
  session: Session | undefined,
): string | Uint8Array {
  if (typeof frame.data !== "string") return frame.data;
  return frame.data
    .replaceAll(BEARER, token)
    .replaceAll(SESSION, session?.sessionId ?? "sess_01J00000000000000000000000")
    .replaceAll(JOB, session?.jobId ?? "job_01J00000000000000000000000")
    .replaceAll(RESUME_TOKEN, session?.resumeToken ?? "rt_none");
}

/**
 * Resumes the session on a fresh connection and checks it still takes a
 * job, and that the jobs it saw end are listed as they ended.
 */
/** The `last_processed_seq` of a well-formed `session.ack` frame, else 0. */
function ackedSeq(text: string | Uint8Array): number {
  if (typeof text !== "string" || !text.includes('"session.ack"')) return 0;
  try {
    const frame = JSON.parse(text);
    const seq = frame?.type === "session.ack" ? frame.payload?.last_processed_seq : undefined;
    return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
  } catch {
    return 0;
  }
}

/**
 * Resumes `session` after the last event received; when the log was trimmed
 * past that by an ack the fuzz frames sent, after the log's first event.
 */
async function resumeCheck(
  options: Settings,
  tag: string,
  session: Session,
  seqs: { lastSeq: number; acked: number },
  delivered: ReadonlyMap<string, string>,
): Promise<string | undefined> {
  const refused = await resumeFrom(options, tag, session, seqs.lastSeq, delivered);
  if (typeof refused !== "object") return refused;
  const details = refused.payload?.details as { first_available_seq?: number } | undefined;
  const first = Number(details?.first_available_seq);
  const trimmedByAck = refused.payload?.code === "RESUME_WINDOW_EXPIRED" && first - 1 <= seqs.acked;
  if (!trimmedByAck) return `resume: refused (${describe(refused)})`;
  const again = await resumeFrom(options, tag, session, first - 1, delivered);
  return typeof again === "object" ? `resume: refused (${describe(again)})` : again;
}

/** One resume attempt: a symptom, the refusal frame, or `undefined` when healthy. */
async function resumeFrom(
  options: Settings,
  tag: string,
  session: Session,
  lastSeq: number,
  delivered: ReadonlyMap<string, string>,
): Promise<string | Received | undefined> {
  const { url, deadlineMs } = options;
  const token = session.token;
  const socket = new Socket(url);
  try {
    if (!await socket.opened(deadlineMs)) return "resume: the WebSocket did not open";
    socket.send(hello(token, `${tag}_resume`, {
      session_id: session.sessionId,
      resume_token: session.resumeToken,
      last_event_seq: lastSeq,
    }));
    const welcome = await socket.waitFor(
      (f) => f.type === "session.welcome" || f.type === "session.error",
      deadlineMs,
    );
    if (typeof welcome === "string") return `resume: refused (${describe(welcome)})`;
    if (welcome.type !== "session.welcome") return welcome;
    const probe = `${tag}_resume_probe`;
    socket.send(submit(probe, session.sessionId, "echo", { probe: "resumed" }));
    const answer = await socket.waitFor((f) => requestIdOf(f) === probe, deadlineMs);
    if (typeof answer === "string") {
      return `resume: the resumed session did not answer a job.submit (${answer})`;
    }
    const seen = new Map([...delivered, ...deliveredStatuses(socket.frames)]);
    return await listedAsDelivered(socket, session, seen, `${tag}_list`, deadlineMs);
  } finally {
    await socket.close(deadlineMs);
  }
}

/** The final status of every job whose `job.result` or `job.error` arrived, by job id. */
function deliveredStatuses(frames: readonly Received[]): Map<string, string> {
  const statuses = new Map<string, string>();
  for (const frame of frames) {
    if (frame.type !== "job.result" && frame.type !== "job.error") continue;
    statuses.set(String(frame.job_id), String(frame.payload?.final_status));
  }
  return statuses;
}

/**
 * Lists the session's jobs until each one whose end was delivered is listed
 * with that status: a result the client saw must never be contradicted by
 * the store. Retried until `deadlineMs`, as the record may trail the event.
 */
async function listedAsDelivered(
  socket: Socket,
  session: Session,
  delivered: ReadonlyMap<string, string>,
  tag: string,
  deadlineMs: number,
): Promise<string | undefined> {
  if (delivered.size === 0) return undefined;
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 0;; attempt++) {
    const id = `${tag}_${attempt}`;
    socket.send(JSON.stringify({
      arcp: "1.1",
      id,
      type: "session.list_jobs",
      session_id: session.sessionId,
      payload: { limit: 1000 },
    }));
    const page = await socket.waitFor((f) => requestIdOf(f) === id, deadlineMs);
    if (typeof page === "string" || page.type !== "session.jobs") {
      return `list_jobs: no listing (${describe(page)})`;
    }
    const jobs = (page.payload?.jobs ?? []) as { job_id: string; status: string }[];
    const listed = new Map(jobs.map((job) => [job.job_id, job.status]));
    const wrong = [...delivered].filter(([job, status]) =>
      listed.has(job) && listed.get(job) !== status
    );
    if (wrong.length === 0) return undefined;
    if (Date.now() > deadline) {
      const which = wrong.map(([job, status]) =>
        `${job} ended ${status}, listed ${listed.get(job)}`
      );
      return `lost result: ${which.join("; ")} after ${deadlineMs} ms`;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs `connections` fuzz connections against `url` and reports what the
 * runtime did; never hangs (each wait is bounded by `deadlineMs`).
 */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const full: Settings = { concurrency: 4, deadlineMs: 10_000, ...options };
  const connections = full.only === undefined
    ? Array.from({ length: full.connections }, (_, i) => i)
    : [full.only.connection];
  const report: FuzzReport = {
    seed: full.seed,
    connections: connections.length,
    framesSent: 0,
    replies: 0,
    errorCodes: {},
    closes: 0,
    failures: [],
  };
  const worker = async () => {
    for (
      let connection = connections.shift();
      connection !== undefined;
      connection = connections.shift()
    ) {
      const symptoms = await fuzzConnection(full, connection, report);
      if (symptoms.length === 0) continue;
      const frames = planFrames(full.seed, connection, full.framesPerConnection)
        .map((frame, i) => `#${i} ${frame.label} ${preview(frame)}`);
      const authenticated = authenticates(full.seed, connection);
      for (const symptom of symptoms) {
        report.failures.push({ seed: full.seed, connection, authenticated, symptom, frames });
      }
    }
  };
  await Promise.all(Array.from({ length: full.concurrency }, worker));
  return report;
}

/**
 * Whether the runtime still serves a fresh client: connects with the SDK,
 * runs `echo` and checks the result. Resolves to a symptom, or `undefined`.
 */
export async function healthCheck(
  url: string,
  token: string,
  deadlineMs = 10_000,
): Promise<string | undefined> {
  const signal = AbortSignal.timeout(deadlineMs);
  try {
    await using client = await connect(url, { token, reconnect: false, signal });
    const job = await client.submit("echo", { health: "check" });
    await job.events.cancel();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${deadlineMs} ms`)), deadlineMs);
    });
    const { result } = await Promise.race([job.result, timeout]).finally(() => clearTimeout(timer));
    const echoed = (result as { echoed?: { health?: string } })?.echoed?.health;
    return echoed === "check" ? undefined : `health: echo returned ${JSON.stringify(result)}`;
  } catch (error) {
    return `health: a fresh client failed: ${error instanceof Error ? error.message : error}`;
  }
}

/** A report as lines of text: counts, then each failure with its frames. */
export function formatReport(report: FuzzReport): string {
  const lines = [
    `seed ${report.seed}: ${report.connections} connections, ${report.framesSent} frames sent, ` +
    `${report.replies} replies, ${sum(report.errorCodes)} error replies ` +
    `${JSON.stringify(report.errorCodes)}, ${report.closes} closed by the runtime, ` +
    `${report.failures.length} failures`,
  ];
  for (const failure of report.failures) {
    lines.push(
      `  seed ${failure.seed} connection ${failure.connection} ` +
        `(${failure.authenticated ? "after hello" : "before hello"}): ${failure.symptom}`,
      ...failure.frames.map((frame) => `    ${frame}`),
    );
  }
  return lines.join("\n");
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
