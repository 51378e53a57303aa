// This module is browser compatible.
/**
 * The ARCP runtime: hosts agents as plain async functions and serves
 * sessions over any {@linkcode Transport} (spec §6 to §8).
 *
 * @example Serve agents over WebSocket with Deno
 * ```ts ignore
 * import { Runtime, staticTokens } from "@arcp/arcp/runtime";
 *
 * const runtime = new Runtime({
 *   authenticate: staticTokens({ "s3cret": "alice" }),
 *   agents: [{ name: "echo", version: "1.0.0", handler: async (input) => ({ echoed: input }) }],
 *   upgradeWebSocket: Deno.upgradeWebSocket,
 * });
 * Deno.serve({ port: 7777 }, runtime.fetch);
 * ```
 *
 * @module
 */

import { ArcpError } from "./protocol/errors.ts";
import { SDK_NAME, SDK_VERSION } from "./protocol/version.ts";
import { SILENT } from "./internal/silent.ts";
import { FEATURES } from "./protocol/messages.ts";
import { MemoryStore } from "./store/memory.ts";
import { withRecords } from "./store/records.ts";
import type { CredentialRecord } from "./store/types.ts";
import type { Transport, WebSocketTransportOptions } from "./transports/types.ts";
import { webSocketTransport } from "./transports/websocket.ts";
import { httpBinding } from "./transports/http_server.ts";
import { HttpRelay } from "./runtime/_http_relay.ts";
import type { AgentDefinition } from "./runtime/context.ts";
import type { AcceptOptions, RuntimeOptions, UpgradeWebSocket } from "./runtime/options.ts";
import { CredentialLedger } from "./runtime/_credentials.ts";
import { RuntimeConnection } from "./runtime/_connection.ts";
import type { RuntimeConfig } from "./runtime/_config.ts";
import type {
  LiveState,
  RuntimeCore,
  RuntimeHooks,
  RuntimePolicies,
  RuntimeServices,
} from "./runtime/_core.ts";
import type { RuntimeJob } from "./runtime/_job.ts";
import { InstanceHeartbeat, type InstanceView } from "./runtime/_instance.ts";
import { recoverJobs, sweepSessions } from "./runtime/_recovery.ts";
import { SessionExpiry } from "./runtime/_session_expiry.ts";
import { AgentRegistry } from "./runtime/_registry.ts";
import type { RuntimeSession } from "./runtime/_session.ts";
import { sessionLogs } from "./runtime/_session_logs.ts";
import { RuntimeTelemetry } from "./runtime/_telemetry.ts";
import { PrincipalCounts } from "./runtime/_principal_counts.ts";
import { systemClock, withNow } from "./protocol/clock.ts";
import { DEFAULT_MAX_QUEUED_BYTES, DEFAULT_MAX_QUEUED_FRAMES } from "./internal/inbound.ts";

export {
  anonymous,
  type AnonymousOptions,
  type Authenticator,
  type HelloAuth,
  type Principal,
  staticTokens,
} from "./runtime/auth.ts";
export type {
  AgentContext,
  AgentDefinition,
  AgentHandler,
  DelegateOptions,
  LeasePolicy,
  LeasePolicyRequest,
  MetricOptions,
  ProgressOptions,
  SubscribeAudit,
  ToolOptions,
} from "./runtime/context.ts";

export {
  credentialConstraints,
  type CredentialHandle,
  type CredentialProvisioner,
  type CredentialRequest,
  type IssuedCredential,
  type RevocationRetry,
} from "./runtime/credentials.ts";
export type { CredentialRecord } from "./store/types.ts";
export type { AcceptOptions, RuntimeOptions, UpgradeWebSocket } from "./runtime/options.ts";
export { type Clock, type ClockTimer, systemClock } from "./protocol/clock.ts";

/**
 * An ARCP runtime. Sessions and their jobs outlive connections: a dropped
 * transport or `session.close` never stops a running job (spec §6.7).
 *
 * @example Run an agent over the memory transport
 * ```ts
 * import { Runtime, staticTokens } from "@arcp/arcp/runtime";
 * import { connect } from "@arcp/arcp/client";
 * import { memoryTransportPair } from "@arcp/arcp/transports/memory";
 * import assert from "node:assert/strict";
 *
 * await using runtime = new Runtime({
 *   authenticate: staticTokens({ t: "alice" }),
 *   agents: [{ name: "echo", handler: async (input) => ({ echoed: input }) }],
 * });
 * const [clientSide, runtimeSide] = memoryTransportPair();
 * runtime.accept(runtimeSide);
 * await using client = await connect(clientSide, { token: "t" });
 * const job = await client.submit("echo", { hi: 1 });
 * assert.deepEqual((await job.result).result, { echoed: { hi: 1 } });
 * ```
 */
export class Runtime {
  readonly #registry = new AgentRegistry();
  readonly #core: RuntimeCore;
  /** Connections being served, with the promise that settles when each ends. */
  readonly #connections = new Map<RuntimeConnection, Promise<void>>();
  readonly #upgrade: UpgradeWebSocket | undefined;
  readonly #path: string;
  /** How {@linkcode Runtime.fetch} reads each socket. */
  readonly #socketOptions: WebSocketTransportOptions;
  readonly #maxConnections: number;
  /** The HTTP binding (docs/http-binding.md): requests to the path that are not upgrades. */
  readonly #http: (request: Request) => Promise<Response>;
  /** Hands the HTTP binding's POSTs between instances; only over a shared store. */
  readonly #relay: HttpRelay | undefined;
  /** Expiry timers of sessions that have no connection (spec §6.2 resume window), by id. */
  readonly #expiry: SessionExpiry;
  #ready: Promise<void> | undefined;
  /** Store work under way (job records, expiries, followers), which close() waits for. */
  readonly #storing = new Set<Promise<void>>();
  readonly #heartbeat: InstanceHeartbeat;
  readonly #closing = new AbortController();
  /** Set once the recovery at start is done: later checks wait for it. */
  #recovered = false;
  #closed = false;

  /**
   * Creates a runtime and registers `options.agents`.
   *
   * @param options Agents, authentication, store and limits.
   * @throws {RangeError} when `recentSubmitIds` is not a non-negative integer.
   */
  constructor(options: RuntimeOptions = {}) {
    const recentSubmitIds = options.recentSubmitIds ?? 256;
    if (!(Number.isInteger(recentSubmitIds) && recentSubmitIds >= 0)) {
      throw new RangeError(
        `Cannot create a Runtime: recentSubmitIds must be a non-negative integer, got ${recentSubmitIds}`,
      );
    }
    for (const agent of options.agents ?? []) this.#registry.register(agent);
    const store = withRecords(options.store ?? new MemoryStore());
    const logger = options.logger ?? SILENT;
    const provisioner = options.provisioner;
    const clock = withNow(options.clock ?? systemClock, options.now);
    const heartbeat = this.#heartbeat = new InstanceHeartbeat(
      store,
      options.instanceTtlMs ?? 4000,
      logger,
      clock,
    );
    // Resolved once, then read-only for the runtime's life.
    const config: RuntimeConfig = Object.freeze({
      name: options.name ?? SDK_NAME,
      version: options.version ?? SDK_VERSION,
      // Every 1.1 feature; credentials only when revocation is guaranteed (spec 1.1 §14).
      features: Object.freeze(
        provisioner === undefined
          ? FEATURES.filter((feature) => feature !== "provisioned_credentials")
          : FEATURES,
      ),
      resumeWindowSec: options.resumeWindowSec ?? 600,
      heartbeatIntervalSec: options.heartbeatIntervalSec ?? 30,
      cancelGraceMs: options.cancelGraceMs ?? 30_000,
      idempotencyTtlSec: options.idempotencyTtlSec ?? 86_400,
      limits: Object.freeze({
        maxBufferedEvents: options.maxBufferedEvents ?? 100_000,
        maxBufferedBytes: options.maxBufferedBytes ?? 64 << 20,
        ackWindow: options.ackWindow ?? 65_536,
        backPressureLag: options.backPressureLag ?? 32_768,
        recentSubmitIds,
      }),
      helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
      idleSessionSec: options.idleSessionSec ?? 900,
      expiryGraceMs: options.leaseExpiryGraceMs ?? 1000,
      requireModelLease: options.requireModelLease ?? false,
      resultChunkBytes: options.resultChunkBytes ?? 64 << 10,
      maxResultBytes: options.maxResultBytes ?? 256 << 20,
      terminateOnExpiry: options.terminateOnLeaseExpiry ?? false,
      instanceId: heartbeat.id,
      storePollMs: options.storePollMs ?? 1000,
    });
    const policies: RuntimePolicies = {
      authenticate: options.authenticate,
      subscribePolicy: options.subscribePolicy ?? (() => false),
      auditSubscribe: options.onSubscribe ?? (() => {}),
      logger,
      now: clock.now,
      clock,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      leasePolicy: options.leasePolicy,
    };
    const services: RuntimeServices = {
      registry: this.#registry,
      store,
      credentials: provisioner === undefined ? undefined : new CredentialLedger({
        provisioner,
        store,
        logger,
        retry: options.revocationRetry ?? {},
        onUnrevocable: options.onUnrevocable ?? (() => {}),
        instanceId: heartbeat.id,
        clock,
      }),
      connectedSessions: new PrincipalCounts(
        options.maxSessionsPerPrincipal ?? 1024,
        "connected sessions",
        "maxSessionsPerPrincipal",
      ),
      runningJobs: new PrincipalCounts(
        options.maxRunningJobsPerPrincipal ?? 1024,
        "running jobs",
        "maxRunningJobsPerPrincipal",
      ),
      sessionLogs: sessionLogs({
        log: store,
        records: store,
        pollMs: options.storePollMs ?? 1000,
        signal: this.#closing.signal,
        clock,
      }),
      closing: this.#closing.signal,
      telemetry: new RuntimeTelemetry(heartbeat.id, () => this.#core.sessions.size),
    };
    const live: LiveState = {
      sessions: new Map<string, RuntimeSession>(),
      jobs: new Map<string, RuntimeJob>(),
    };
    const hooks: RuntimeHooks = {
      track: (task) => this.#track(task),
      ready: () => this.#ready ??= this.#recover(),
      attached: (session) => this.#expiry.cancel(session.id),
      detached: (session) => this.#expiry.detached(session),
      settled: (job, stored) => this.#settled(job, stored),
    };
    this.#core = Object.freeze({ ...config, ...policies, ...services, ...live, ...hooks });
    this.#expiry = new SessionExpiry({
      ...this.#core,
      instances: () => heartbeat.view(),
      track: (task) => this.#track(task),
    });
    // Outstanding credentials are revoked at start, not at the first connection.
    if (provisioner !== undefined) {
      this.#core.ready().catch((error) => logger.error("arcp runtime: recovery failed", error));
    }
    this.#upgrade = options.upgradeWebSocket;
    this.#path = options.path ?? "/arcp";
    this.#socketOptions = {
      maxQueuedFrames: options.maxQueuedFrames ?? DEFAULT_MAX_QUEUED_FRAMES,
      maxQueuedBytes: options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
      ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
      ...(options.maxJsonDepth === undefined ? {} : { maxJsonDepth: options.maxJsonDepth }),
    };
    this.#maxConnections = options.maxConnections ?? 4096;
    this.#relay = store.compareAndAppend === undefined
      ? undefined
      : new HttpRelay(store, heartbeat.id, {
        clock,
        pollMs: config.storePollMs,
        onError: (error) => logger.warn("arcp runtime: HTTP stream relay failed", error),
      });
    this.#http = httpBinding({
      ...this.#socketOptions,
      ...(this.#relay === undefined ? {} : { relay: this.#relay }),
      onRelayError: (error) => logger.warn("arcp runtime: HTTP stream relay failed", error),
      accept: (transport) => this.accept(transport),
      refuse: () =>
        this.#closed
          ? "Runtime is closed"
          : this.#connections.size >= this.#maxConnections
          ? this.#tooManyConnections()
          : undefined,
      ...(options.httpKeepAliveSec === undefined
        ? {}
        : { keepAliveMs: options.httpKeepAliveSec * 1000 }),
    });
  }

  /**
   * Registers an agent version (spec 1.1 §7.5).
   *
   * @param agent The agent's name, optional version and handler.
   * @throws {TypeError} when the name or version breaks the §7.5 grammar, or
   *   that version is already registered.
   */
  register(agent: AgentDefinition): void {
    this.#registry.register(agent);
  }

  /**
   * Serves one client over `transport` until it closes or `signal` aborts.
   *
   * Past `maxConnections` the transport gets `session.error`
   * (`INTERNAL_ERROR`) naming the cap and is closed.
   *
   * @param transport The runtime's end of a transport.
   * @param options An abort signal.
   * @returns Resolves when the connection has ended; never rejects.
   * @throws {TypeError} when the runtime is closed.
   */
  accept(transport: Transport, options: AcceptOptions = {}): Promise<void> {
    if (this.#closed) throw new TypeError("Cannot accept a transport: the runtime is closed");
    const connection = new RuntimeConnection(this.#core, transport);
    if (this.#connections.size >= this.#maxConnections) {
      return connection.refuse(new ArcpError("INTERNAL_ERROR", this.#tooManyConnections()));
    }
    const running = connection.run(options.signal).finally(() => {
      this.#connections.delete(connection);
    });
    this.#connections.set(connection, running);
    return running;
  }

  /**
   * A `fetch`-style handler serving both bindings at the ARCP path: a
   * WebSocket upgrade is the WebSocket binding (it requires the
   * `upgradeWebSocket` option), a `POST` is the HTTP binding
   * (docs/http-binding.md: event stream down, posted envelopes up). Usable as
   * `Deno.serve(runtime.fetch)` or as the `fetch` of a `deno serve` /
   * Deno Deploy default export.
   *
   * @param request The HTTP request.
   * @returns The upgrade response or the HTTP binding's answer; 426 for other
   *   methods without an upgrade header, 404 for other paths, 501 for an
   *   upgrade when no `upgradeWebSocket` was configured, or 503 when closed
   *   or serving `maxConnections` already.
   */
  readonly fetch = (request: Request): Response | Promise<Response> => {
    const url = new URL(request.url);
    if (url.pathname !== this.#path) return new Response("Not found\n", { status: 404 });
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      if (request.method === "POST") return this.#http(request);
      return new Response("ARCP expects a WebSocket upgrade, or a POST of its HTTP binding\n", {
        status: 426,
      });
    }
    if (this.#upgrade === undefined) {
      return new Response("WebSocket upgrade is not configured: pass upgradeWebSocket\n", {
        status: 501,
      });
    }
    if (this.#closed) return new Response("Runtime is closed\n", { status: 503 });
    if (this.#connections.size >= this.#maxConnections) {
      return new Response(`${this.#tooManyConnections()}\n`, { status: 503 });
    }
    const { socket, response } = this.#upgrade(request);
    void this.accept(webSocketTransport(socket, this.#socketOptions));
    return response;
  };

  #tooManyConnections(): string {
    return `Too many connections: maxConnections is ${this.#maxConnections}`;
  }

  /** The same function as {@linkcode Runtime.fetch}, under the name `Deno.serve` users expect. */
  get handler(): (request: Request) => Response | Promise<Response> {
    return this.fetch;
  }

  /** At start: heartbeat, then recovery of what no live instance holds (all of it, alone). */
  async #recover(): Promise<void> {
    const view = await this.#heartbeat.start(async (view) => {
      await this.#recoverLost(view, false);
      await this.#serveAwaySessions();
    });
    await this.#recoverLost(view, true);
    this.#recovered = true;
  }

  /** Recovers what the instances found dead held; at start, what no live instance holds. */
  async #recoverLost(view: InstanceView, initial: boolean): Promise<void> {
    if (this.#closed || (!initial && (!this.#recovered || view.dead.length === 0))) return;
    await recoverJobs(this.#core, view.live);
    const now = new Date(this.#core.clock.now());
    for (const record of await sweepSessions(this.#core, view.live, now)) {
      const expiresAt = Date.parse(record.detached_at!) + record.resume_window_sec * 1000;
      this.#expiry.schedule(record.session_id, expiresAt - now.getTime());
    }
    await this.#core.credentials?.recover(view.live, initial);
    await this.#relay?.sweep(view.live);
    for (const id of view.dead) await this.#core.store.deleteInstance?.(id);
  }

  /**
   * For sessions with jobs here and no connection here (their client may be
   * on another instance): cancels the jobs the session asked to (spec §7.4),
   * counts what its log lost to trimming as acknowledged, which frees the
   * session's buffer (spec 1.0 §14), and tells the session whether another
   * instance holds it, so its emitters do not wait for a delivery made there.
   */
  async #serveAwaySessions(): Promise<void> {
    for (const session of [...this.#core.sessions.values()]) {
      if (session.attached || session.jobs.size === 0) continue;
      const { first } = await this.#core.store.bounds(session.id);
      session.acknowledge(first - 1);
      const record = await this.#core.store.getSession(session.id);
      session.heldElsewhere(
        record?.detached_at === null && record.instance_id !== this.#core.instanceId,
      );
      for (const [jobId, reason] of Object.entries(record?.cancel_requests ?? {})) {
        const job = session.jobs.get(jobId);
        if (job !== undefined && !job.signal.aborted) job.abort(new ArcpError("CANCELLED", reason));
      }
    }
  }

  #settled(job: RuntimeJob, stored: boolean): void {
    this.#core.runningJobs.remove(job.principal.id);
    this.#revokeCredentials(job);
    job.ownerSession.jobs.delete(job.jobId);
    // Forgotten as live only once stored, so listings never see it running
    // again; one whose record could not be stored stays known here, so
    // listings show how it ended and recovery leaves it alone.
    if (stored) this.#core.jobs.delete(job.jobId);
  }

  /** Revokes a finished job's credentials and, at once, those of its live children (spec 1.1 §9.8.2). */
  #revokeCredentials(job: RuntimeJob): void {
    const ledger = this.#core.credentials;
    if (ledger === undefined) return;
    ledger.release(job.jobId, job.principal.id, job.takeCredentials());
    for (const child of job.children) this.#revokeCredentials(child);
  }

  /** Keeps `task` among the store work close() waits for. */
  #track(task: Promise<void>): void {
    const tracked = task.finally(() => this.#storing.delete(tracked));
    this.#storing.add(tracked);
  }

  /**
   * Shuts down: every running job is aborted and ends with a retryable
   * `INTERNAL_ERROR`, the terminal events are stored and sent, then every
   * connection is closed. A store passed in options is left open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    const shutdown = new ArcpError("INTERNAL_ERROR", "Runtime is shutting down");
    const sessions = [...this.#core.sessions.values()];
    for (const session of sessions) {
      for (const job of session.jobs.values()) job.abort(shutdown, { graceMs: 0 });
    }
    await Promise.all(sessions.map((session) => session.flushed()));
    // The store may be closed right after this resolves: let every write land.
    await Promise.all(this.#storing);
    // One revocation attempt each; what fails stays in the ledger for the next start.
    await this.#core.credentials?.close();
    // Nothing here runs any more: the heartbeat goes last.
    await this.#ready?.catch((error) => {
      this.#core.logger.warn("arcp runtime: recovery at start had failed", error);
    });
    await this.#heartbeat.stop();
    const ending = [...this.#connections.values()];
    for (const connection of this.#connections.keys()) connection.close();
    // Each connection's end stores its session as detached: that write lands too.
    await Promise.all(ending);
    await Promise.all(this.#storing);
    this.#expiry.close();
    this.#core.telemetry.close();
    this.#relay?.close();
  }

  /**
   * The credential ledger (spec 1.1 §14): provisioned credentials not yet
   * revoked at their upstream, those of running jobs included. Entries in
   * state `unrevocable` ran out of retries and need an operator.
   *
   * @returns The entries in id order; empty without a provisioner.
   * @example
   * ```ts
   * import { Runtime } from "@arcp/arcp/runtime";
   * import assert from "node:assert/strict";
   *
   * await using runtime = new Runtime();
   * assert.deepEqual(await runtime.outstandingCredentials(), []);
   * ```
   */
  async outstandingCredentials(): Promise<CredentialRecord[]> {
    return await this.#core.credentials?.outstanding() ?? [];
  }

  /** Same as {@linkcode Runtime.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
