// This module is browser compatible.
// One job: runs its agent, turns its emissions into job.event envelopes, and
// ends it with exactly one terminal job.result or job.error (spec §7.3, §7.4).

import { ArcpError } from "../protocol/errors.ts";
import { newId, newMessageId } from "../protocol/ids.ts";
import { isoTimestamp } from "../internal/time.ts";
import type { Clock, ClockTimer } from "../protocol/clock.ts";
import {
  type Credential,
  type Envelope,
  type FinalStatus,
  type JobErrorPayload,
  type JobResultPayload,
  type JobStatus,
  type Lease,
  type LeaseConstraints,
  PROTOCOL_VERSION,
} from "../protocol/messages.ts";
import type { AgentDefinition } from "./context.ts";
import type { Principal } from "./auth.ts";
import { agentContext } from "./_agent_context.ts";
import type { JobAuthority } from "./_authority.ts";
import { MAX_CHUNK_BYTES, ResultStream } from "./_result_stream.ts";
import type { JobRecord, TerminalEnvelope } from "../store/types.ts";
import { encodedMember, resultPayload, sendableError } from "./_job_payload.ts";
import { JobEmitters, refused } from "./_job_emitters.ts";
import { leasedFetch } from "./_job_fetch.ts";
import { delegateAndWait, type DelegateRequest } from "./_job_delegate.ts";
import { storeEnd } from "./_job_end.ts";
import type { JobTrace } from "./_telemetry.ts";

/** What a job uses of the session that submitted it (see `RuntimeSession`). */
export interface JobSession {
  readonly id: string;
  readonly principal: Principal;
  /** The session's jobs: an ended job leaves them. */
  readonly jobs: { delete(jobId: string): boolean };
  /** Sequences and sends one of the job's envelopes; see `RuntimeSession.emit`. */
  emit(
    envelope: Envelope & { job_id: string },
    size: number,
    force?: boolean,
    stored?: () => Promise<void>,
    onStored?: (stored: boolean) => void,
  ): Promise<void>;
  /** The lag to report in a `back_pressure` status, once per episode. */
  takeBackPressureNotice(): number | undefined;
}

/** Another session observing the job (see `Subscription`). */
export interface JobSubscriber {
  deliver(envelope: Envelope & { job_id: string }, size: number): void;
  /** The job's end will never be stored: observing stops. */
  lost(): void;
}

/** What a job is made of, from a submit or a delegation: what `job.accepted` says of it. */
export interface JobIdentity {
  id: string;
  definition: AgentDefinition;
  agent: string;
  input: unknown;
  lease: Lease;
  leaseConstraints: LeaseConstraints | undefined;
  traceId: string;
  maxRuntimeSec: number | undefined;
  createdAt: string;
  idempotencyKey: string | undefined;
}

/** What a job needs to start: its identity and what the runtime gives it. */
export interface JobSpec extends JobIdentity {
  session: JobSession;
  cancelGraceMs: number;
  /** The job's lease, expiry and budget, checked before every operation. */
  authority: JobAuthority;
  /** What `ctx.fetch` calls after authorising. */
  fetch: typeof fetch;
  /** Bytes per `result_chunk` (spec 1.1 §8.4). */
  resultChunkBytes: number;
  /** Cap on a streamed result's total size. */
  maxResultBytes: number;
  /** The delegating job, for a delegated one (spec §10). */
  parentJobId: string | null;
  /** Starts a child job for `ctx.delegate`. */
  delegate(parent: RuntimeJob, request: DelegateRequest): Promise<RuntimeJob>;
  /** Stores the job's record, retrying a failing store (see `_retry.ts`). */
  storeRecord(record: JobRecord): Promise<void>;
  /** Told why a job's end could not be stored. */
  logger: Pick<Console, "error">;
  /**
   * Called once the job's end is stored, or could not be; `stored` says
   * which: a job whose record still says it runs must stay known as live.
   */
  onSettled(job: RuntimeJob, stored: boolean): void;
  /** Provisioned credentials (spec 1.1 §9.8), issued before acceptance. */
  credentials: Credential[];
  /** Asks the upstream for a credential's new value; absent without a provisioner. */
  rotateCredential: ((credential: Credential, job: RuntimeJob) => Promise<string>) | undefined;
  /** Whether the job is ended as soon as its lease expires, not at its next operation. */
  terminateOnExpiry: boolean;
  /** The runtime's clock: event timestamps and the job's timers. */
  clock: Clock;
  /** The runtime instance running it, named in its record (see `runtime/_instance.ts`). */
  instanceId: string;
  /** The job's span, which the runtime ends once the job settles. */
  trace: JobTrace;
}

const RESOLVED: Promise<void> = Promise.resolve();
/** Longest wait between two looks at the lease clock, for proactive expiry. */
const EXPIRY_RECHECK_MS = 1000;
/** Bytes an envelope adds around its payload, for buffer accounting. */
const ENVELOPE_OVERHEAD = 200;

/**
 * A running job. Its agent is handed a frozen `AgentContext` facade, never
 * the job itself (see `_agent_context.ts`).
 */
export class RuntimeJob extends JobEmitters {
  readonly jobId: string;
  readonly agent: string;
  readonly lease: Lease;
  readonly leaseConstraints: LeaseConstraints | undefined;
  readonly traceId: string;
  readonly createdAt: string;
  readonly #spec: JobSpec;
  readonly #session: JobSession;
  readonly #abort = new AbortController();
  #status: JobStatus = "pending";
  /** Its latest envelope: the session may still renumber it (after another instance's events). */
  #lastEvent: Envelope | undefined;
  #timers: ClockTimer[] = [];
  #expiryTimer: ClockTimer | undefined;
  readonly #subscriptions = new Set<JobSubscriber>();
  #terminal: TerminalEnvelope | undefined;
  /** Whether the terminal envelope is in the session's log (until then, the record says it is pending). */
  #terminalLogged = false;
  readonly #children = new Set<RuntimeJob>();
  #resultStream: { resultId: string; stream: ResultStream } | undefined;
  readonly #settled = Promise.withResolvers<void>();

  constructor(spec: JobSpec) {
    super(spec.authority.budget);
    this.#spec = spec;
    this.#session = spec.session;
    this.jobId = spec.id;
    this.agent = spec.agent;
    this.lease = spec.lease;
    this.leaseConstraints = spec.leaseConstraints;
    this.traceId = spec.traceId;
    this.createdAt = spec.createdAt;
  }

  get sessionId(): string {
    return this.#session.id;
  }
  /** The submitting session: the only one that may cancel the job. */
  get ownerSession(): JobSession {
    return this.#session;
  }
  get principal(): Principal {
    return this.#session.principal;
  }
  get version(): string | undefined {
    return this.#spec.definition.version;
  }
  get signal(): AbortSignal {
    return this.#abort.signal;
  }
  get trace(): JobTrace {
    return this.#spec.trace;
  }
  get jobStatus(): JobStatus {
    return this.#status;
  }
  get lastEventSeq(): number {
    return this.#lastEvent?.event_seq ?? 0;
  }
  get terminal(): boolean {
    return this.#status !== "pending" && this.#status !== "running";
  }
  /** Resolves once the job's end is stored (or could not be) and shown to observers. */
  get settled(): Promise<void> {
    return this.#settled.promise;
  }

  /** Runs the agent; its outcome becomes the terminal event. */
  start(): void {
    this.#status = "running";
    const { maxRuntimeSec } = this.#spec;
    if (maxRuntimeSec !== undefined) {
      this.#timers.push(this.#spec.clock.setTimeout(() => {
        this.abort(new ArcpError("TIMEOUT", `Job exceeded max_runtime_sec of ${maxRuntimeSec}s`));
      }, maxRuntimeSec * 1000));
    }
    if (this.#spec.terminateOnExpiry) this.#watchExpiry();
    let running: Promise<unknown>;
    try {
      const context = agentContext(this);
      running = Promise.resolve(this.#spec.definition.handler(this.#spec.input as never, context));
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (result) => {
        const reason = this.#abort.signal.reason;
        if (this.#abort.signal.aborted) this.#fail(ArcpError.from(reason));
        else this.#succeed(result);
      },
      (error) => {
        const reason = this.#abort.signal.reason;
        this.#fail(ArcpError.from(this.#abort.signal.aborted ? reason : error));
      },
    );
  }

  /**
   * Signals the agent to stop with `reason`; if it has not finished within
   * the grace period, the job ends with `reason` anyway (spec 1.0 §7.4).
   */
  abort(reason: ArcpError, options: { graceMs?: number } = {}): void {
    if (this.terminal) return;
    const graceMs = options.graceMs ?? this.#spec.cancelGraceMs;
    if (!this.#abort.signal.aborted) this.#abort.abort(reason);
    if (graceMs <= 0) this.#fail(this.#abort.signal.reason as ArcpError);
    else this.#timers.push(this.#spec.clock.setTimeout(() => this.#fail(reason), graceMs));
  }

  /**
   * Ends the job when its lease expires, without waiting for its next
   * operation (spec 1.1 §9.5 allows proactive termination). The clock may
   * be injected or jump, so it is re-read at least every second.
   */
  #watchExpiry(): void {
    const expiry = this.#spec.authority.expiryMs;
    if (expiry === undefined || this.terminal) return;
    const error = this.#spec.authority.expiredError();
    if (error !== undefined) return this.abort(error);
    const delay = Math.min(expiry - this.#spec.authority.nowMs(), EXPIRY_RECHECK_MS);
    this.#expiryTimer = this.#spec.clock.setTimeout(
      () => this.#watchExpiry(),
      Math.max(delay, 10),
    );
  }

  #clearTimers(): void {
    const clock = this.#spec.clock;
    for (const timer of this.#timers) clock.clearTimeout(timer);
    this.#timers = [];
    clock.clearTimeout(this.#expiryTimer);
  }

  #succeed(result: unknown): void {
    if (this.terminal) return;
    const outcome = resultPayload(result, this.#resultStream);
    if (outcome instanceof ArcpError) return this.#fail(outcome);
    this.#status = "success";
    this.#clearTimers();
    this.#emitTerminal("job.result", outcome.payload, outcome.size);
  }

  #fail(error: ArcpError): void {
    if (this.terminal) return;
    const { payload, size } = sendableError(error);
    this.#status = payload.final_status;
    this.#clearTimers();
    this.#emitTerminal("job.error", payload, size);
  }

  #emitTerminal(type: "job.result" | "job.error", payload: unknown, size: number): void {
    const envelope = this.#envelope(type, payload) as TerminalEnvelope;
    // Terminal envelopes bypass the buffer caps: each job has exactly one.
    // It is sequenced now; the job's record holds it once the job's earlier
    // events are in the log, and it reaches the log, and so any client, only
    // then: no client sees an end the store contradicts, and no crash loses
    // events of a job whose record says it ended.
    this.#lastEvent = envelope;
    this.#terminal = envelope;
    const replace = (payload: JobErrorPayload) => {
      envelope.type = "job.error";
      envelope.payload = payload as unknown as Record<string, unknown>;
      this.#status = payload.final_status;
    };
    const storeRecord = () =>
      storeEnd(this, this.#spec, replace).then((durable) => {
        this.#settle(envelope, size + ENVELOPE_OVERHEAD, durable);
      });
    const deliver = this.#deliverOnceStored(envelope, size + ENVELOPE_OVERHEAD);
    void this.#session.emit(envelope, size + ENVELOPE_OVERHEAD, true, storeRecord, (stored) => {
      deliver?.(stored);
      if (stored) this.#endLogged();
    });
  }

  /**
   * The terminal envelope is in the log: the record stops saying it is
   * pending. Until this write lands, recovery would find the end in the
   * log, should this instance be lost, and not append it again.
   */
  #endLogged(): void {
    this.#terminalLogged = true;
    this.#spec.storeRecord(this.record()).catch((error) => {
      this.#spec.logger.error(`arcp runtime: cannot store job ${this.jobId} as ended`, error);
    });
  }

  /**
   * `foreign`: the end came from another instance's append to the log, so
   * the subscriptions are handed it here; otherwise they get it once it is
   * stored (see `#deliverOnceStored`).
   */
  #settle(terminal: TerminalEnvelope, size: number, stored = true, foreign = false): void {
    this.#lastEvent = terminal;
    this.#terminal = terminal;
    // Children do not outlive their parent (spec §10; 1.1 §9.8.2).
    for (const child of this.#children) {
      child.abort(new ArcpError("CANCELLED", `Parent job ${this.jobId} ended`));
    }
    if (foreign) this.#deliver(terminal, size);
    this.#subscriptions.clear();
    this.#spec.onSettled(this, stored);
    this.#settled.resolve();
  }

  /**
   * Another runtime instance ended the job in the shared log (it took this
   * instance for dead): the agent is stopped and nothing more is emitted.
   */
  endedElsewhere(terminal: TerminalEnvelope): void {
    if (this.terminal) return;
    this.#status = (terminal.payload as { final_status: FinalStatus }).final_status;
    this.#clearTimers();
    this.#abort.abort(ArcpError.fromPayload(terminal.payload as JobErrorPayload));
    this.#lastEvent = terminal;
    this.#terminal = terminal;
    this.#terminalLogged = true;
    // Its record too, in case that instance had not stored it yet.
    void this.#spec.storeRecord(this.record()).then(() => true, (error) => {
      this.#spec.logger.error(`arcp runtime: cannot store the end of job ${this.jobId}`, error);
      return false;
    }).then((stored) => this.#settle(terminal, 0, stored, true));
  }

  /** Live child jobs (spec §10): they end when this job does. */
  get children(): ReadonlySet<RuntimeJob> {
    return this.#children;
  }

  /** Hands the job's credentials over for revocation; it has none afterwards. */
  takeCredentials(): Credential[] {
    return this.#spec.credentials.splice(0);
  }

  get credentials(): readonly Credential[] {
    return this.#spec.credentials.map((credential) => ({ ...credential }));
  }

  async rotateCredential(id: string): Promise<Credential> {
    const credential = this.#spec.credentials.find((c) => c.id === id);
    if (credential === undefined) {
      throw new ArcpError("INVALID_REQUEST", `Job ${this.jobId} has no credential "${id}"`);
    }
    const rotate = this.#spec.rotateCredential;
    if (rotate === undefined) {
      throw new ArcpError("INVALID_REQUEST", "This runtime does not provision credentials");
    }
    credential.value = await rotate(credential, this);
    await this.emit("status", {
      phase: "credential_rotated",
      credential_id: id,
      value: credential.value,
    });
    return { ...credential };
  }

  /** Adds an observer from another session (spec 1.1 §7.6). */
  subscribe(subscription: JobSubscriber): void {
    this.#subscriptions.add(subscription);
  }

  unsubscribe(subscription: JobSubscriber): void {
    this.#subscriptions.delete(subscription);
  }

  #deliver(envelope: Envelope & { job_id: string }, size: number): void {
    for (const subscription of this.#subscriptions) subscription.deliver(envelope, size);
  }

  /**
   * What hands an envelope to the current subscriptions once it is stored:
   * they never see what the log does not hold (spec 1.1 §7.6). An end that
   * will never be stored ends them instead, so none waits for it.
   */
  #deliverOnceStored(
    envelope: Envelope & { job_id: string },
    size: number,
  ): ((stored: boolean) => void) | undefined {
    if (this.#subscriptions.size === 0) return undefined;
    const subscriptions = [...this.#subscriptions];
    return (stored) => {
      for (const subscription of subscriptions) {
        if (stored) subscription.deliver(envelope, size);
        else if (this.#terminal === envelope) subscription.lost();
      }
    };
  }

  /** The job as `session.list_jobs` and the store see it. */
  record(): JobRecord {
    const record: JobRecord = {
      job_id: this.jobId,
      session_id: this.#session.id,
      principal: this.#session.principal.id,
      agent: this.agent,
      status: this.#status,
      lease: this.lease,
      parent_job_id: this.#spec.parentJobId,
      trace_id: this.traceId,
      created_at: this.createdAt,
      last_event_seq: this.lastEventSeq,
      instance_id: this.#spec.instanceId,
    };
    if (this.leaseConstraints !== undefined) record.lease_constraints = this.leaseConstraints;
    if (this.#spec.idempotencyKey !== undefined) record.idempotency_key = this.#spec.idempotencyKey;
    if (this.#terminal !== undefined) record.terminal = this.#terminal;
    if (this.#terminal !== undefined && !this.#terminalLogged) record.terminal_pending = true;
    const budget = this.budgetWire();
    if (budget !== undefined) record.budget = budget;
    return record;
  }

  #envelope(type: string, payload: unknown): Envelope & { job_id: string } {
    // Built by hand in wire order: this is the hottest allocation of the SDK.
    return {
      arcp: PROTOCOL_VERSION,
      id: newMessageId(),
      type,
      session_id: this.#session.id,
      job_id: this.jobId,
      trace_id: this.traceId,
      event_seq: 0,
      payload: payload as Record<string, unknown>,
    };
  }

  // AgentContext (its typed emitters are in JobEmitters) ----------------

  emit(kind: string, body: Record<string, unknown>): Promise<void> {
    if (this.terminal) return RESOLVED;
    // Checked here, where the agent can be told: once queued, an event that
    // cannot be encoded would break the transport for every job of the session.
    const payload = { kind, ts: isoTimestamp(this.#spec.clock.now()), body };
    const length = encodedMember(payload, "body");
    if (typeof length === "string") {
      return refused(
        new TypeError(`Cannot emit "${kind}": its body is not JSON-serialisable: ${length}`),
      );
    }
    const envelope = this.#envelope("job.event", payload);
    const size = length + ENVELOPE_OVERHEAD;
    let pending: Promise<void>;
    try {
      pending = this.#session.emit(
        envelope,
        size,
        false,
        undefined,
        this.#deliverOnceStored(envelope, size),
      );
    } catch (error) {
      // The session's buffer is full: the job ends with the cap's INTERNAL_ERROR.
      this.abort(error as ArcpError, { graceMs: 0 });
      return refused(error as ArcpError);
    }
    this.#lastEvent = envelope;
    const lag = this.#session.takeBackPressureNotice();
    if (lag !== undefined) void this.status("back_pressure", `consumer lag ${lag} events`);
    return pending;
  }

  /** The budget counters for `job.accepted` / `job.subscribed` (spec 1.1 §9.6). */
  budgetWire(): Record<string, number> | undefined {
    return this.#spec.authority.budget?.toWire();
  }

  authorize(capability: string, target: string): string {
    try {
      return this.#spec.authority.check(capability, target);
    } catch (error) {
      this.#spec.trace.refused(error, capability, target);
      // Attempting anything after expiry ends the job, however the agent
      // handles the error (spec 1.1 §9.5).
      if (error instanceof ArcpError && error.code === "LEASE_EXPIRED") this.abort(error);
      throw error;
    }
  }

  /** The remaining budget per currency as exact decimal strings, when the lease has `cost.budget`. */
  get budget(): Readonly<Record<string, string>> | undefined {
    return this.#spec.authority.budget?.snapshot();
  }

  fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    return leasedFetch(this, this.#spec.fetch, input, init);
  }

  resultStream(
    options: { encoding?: "utf8" | "base64" } = {},
  ): WritableStream<Uint8Array | string> {
    if (this.#resultStream !== undefined) {
      throw new TypeError("Cannot open a second result stream: a job has one result");
    }
    const resultId = newId("res");
    const stream = new ResultStream({
      resultId,
      encoding: options.encoding ?? "base64",
      chunkBytes: Math.min(this.#spec.resultChunkBytes, MAX_CHUNK_BYTES),
      maxBytes: this.#spec.maxResultBytes,
      emit: (body) => this.emit("result_chunk", body),
    });
    this.#resultStream = { resultId, stream };
    return stream.writable;
  }

  /** Moves `value` of `currency` out of this job's budget (to a child's). */
  spendBudget(currency: string, value: string): void {
    this.#spec.authority.budget?.spend(currency, value);
  }

  /** Gives back what {@linkcode RuntimeJob.spendBudget} moved out for a child that was refused. */
  refundBudget(currency: string, value: string): void {
    this.#spec.authority.budget?.refund(currency, value);
  }

  delegate(
    agent: string,
    input: unknown,
    leaseRequest: Lease,
    constraints?: LeaseConstraints,
  ): Promise<JobResultPayload> {
    return delegateAndWait(this, { agent, input, leaseRequest, constraints }, {
      start: (request: DelegateRequest) => this.#spec.delegate(this, request),
      children: this.#children,
      logger: this.#spec.logger,
    });
  }

  useModel(model: string): void {
    this.#spec.trace.model(model, () => this.authorize("model.use", model));
  }
}
