// This module is browser compatible.
/**
 * The options of {@linkcode connect} and of the `Client` methods.
 * Re-exported by `client.ts`.
 *
 * @module
 */

import type {
  Lease,
  LeaseConstraints,
  PeerInfo,
  SessionListJobsPayload,
} from "../protocol/messages.ts";
import type { Transport } from "../transports/types.ts";
import type { ResumeStateStore } from "./resume_state.ts";

/** Where to connect: a WebSocket URL, an open transport, or a function that opens one. */
export type ConnectTarget = string | URL | Transport | (() => Transport | Promise<Transport>);

/** How automatic reconnection backs off (exponential, with full jitter). */
export interface ReconnectOptions {
  /**
   * First delay in milliseconds.
   * @default {100}
   */
  initialDelayMs?: number;
  /**
   * Largest delay in milliseconds.
   * @default {10000}
   */
  maxDelayMs?: number;
  /**
   * Attempts before giving up.
   * @default {Infinity}
   */
  maxAttempts?: number;
  /**
   * Milliseconds after the connection was lost to stop trying, abandoning
   * an attempt under way; then pending requests and open jobs reject with a
   * `ConnectionClosedError` naming the bound and the last failure. Unbounded
   * by default: a runtime that comes back either resumes the session or
   * refuses with `RESUME_WINDOW_EXPIRED`, which ends it at once, and the
   * announced `resume_window_sec` is no upper bound (a session with running
   * jobs stays resumable past it), so only the application knows how long
   * an outage it will sit out. Set it (or `maxAttempts`) in a process
   * someone waits on.
   * @default {Infinity}
   */
  maxElapsedMs?: number;
}

/** Options of {@linkcode connect}. */
export interface ConnectOptions {
  /** Bearer token for `session.hello.payload.auth` (spec §6.1). */
  token?: string;
  /**
   * Who the client is.
   * @default {{ name: "@arcp/arcp", version: SDK_VERSION }}
   */
  client?: PeerInfo;
  /**
   * Cap on one incoming frame in bytes, when connecting by URL.
   * @default {1048576}
   */
  maxFrameBytes?: number;
  /**
   * The binding of a URL target (docs/http-binding.md): `"websocket"`,
   * `"http"` (event stream down, `POST`ed envelopes up), or `"auto"`, which
   * tries a WebSocket first and falls back to HTTP when the upgrade fails or
   * the socket closes before the welcome, then keeps to the binding that
   * worked. A `ws:`/`wss:` URL is always a WebSocket.
   * @default {"auto" for http: and https: URLs}
   */
  transport?: "auto" | "websocket" | "http";
  /**
   * Milliseconds to wait for each `session.welcome`; with a URL target,
   * also for each WebSocket to open, before the hello is sent.
   * @default {30000}
   */
  handshakeTimeoutMs?: number;
  /**
   * Reconnect and resume (spec §6.3) when the connection drops. Needs a
   * target that can be opened again: a URL or a function.
   * @default {true for URLs and functions, false for a transport}
   */
  reconnect?: boolean | ReconnectOptions;
  /** Keeps the session's resume state, so a new process or page resumes it. */
  resumeStore?: ResumeStateStore;
  /**
   * Key of this session's state in `resumeStore`.
   * @default {the URL, or "default"}
   */
  resumeKey?: string;
  /**
   * Acknowledge events as they are consumed (spec 1.1 §6.5).
   * @default {true}
   */
  autoAck?: boolean;
  /**
   * Unread events per job that still count as processed; past it the client
   * stops acknowledging, which slows the agent down.
   * @default {1024}
   */
  eventBufferSize?: number;
  /** Abandons the handshake. */
  signal?: AbortSignal;
  /** Where diagnostics go; silent by default. */
  logger?: Pick<Console, "debug" | "warn" | "error">;
}

/** Options of {@linkcode Client.submit} (spec §7.1). */
export interface SubmitOptions {
  /** Requested lease, as `lease_request`. */
  leaseRequest?: Lease;
  /** Lease constraints such as `expires_at` (ISO-8601 UTC). */
  leaseConstraints?: LeaseConstraints;
  /**
   * Logical idempotency key (spec §7.2). One is generated when absent, so a
   * submit resent after a reconnect never starts a second job.
   */
  idempotencyKey?: string;
  /** Wall-clock limit in seconds, after which the job ends with `TIMEOUT`. */
  maxRuntimeSec?: number;
  /** W3C trace-id or traceparent to put on the envelope (spec §11). */
  traceId?: string;
  /** Stops waiting for `job.accepted`; a job accepted later is cancelled. */
  signal?: AbortSignal;
}

/** Options of {@linkcode Client.subscribe} (spec 1.1 §7.6). */
export interface SubscribeOptions {
  /**
   * Replay the job's retained events first.
   * @default {false}
   */
  history?: boolean;
  /** With `history`, replay events after this `event_seq` of the job's session. */
  fromEventSeq?: number;
  /** Stops waiting for `job.subscribed`. */
  signal?: AbortSignal;
}

/** Options of {@linkcode Client.listJobs} (spec 1.1 §6.6). */
export interface ListJobsOptions {
  /** Filter: statuses, agent, creation-time bounds (ISO-8601). */
  filter?: SessionListJobsPayload["filter"];
  /**
   * Jobs per page.
   * @default {100}
   */
  limit?: number;
  /** Stops waiting for a page. */
  signal?: AbortSignal;
}

/** Options of {@linkcode Client.close}. */
export interface CloseOptions {
  /** Stops waiting for `session.closed`; the transport is closed regardless. */
  signal?: AbortSignal;
}
