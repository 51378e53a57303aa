// This module is browser compatible.
/**
 * `@arcp/arcp`: the Agent Runtime Control Protocol for Deno, Bun and
 * browsers. This entrypoint re-exports the portable surface: the client, the
 * runtime, the protocol types and errors, and the memory and WebSocket
 * transports. Runtime-specific adapters have entrypoints of their own.
 *
 * @example A runtime and a client in one process
 * ```ts
 * import { connect, memoryTransportPair, Runtime, staticTokens } from "@arcp/arcp";
 * import assert from "node:assert/strict";
 *
 * await using runtime = new Runtime({
 *   authenticate: staticTokens({ t: "alice" }),
 *   agents: [{
 *     name: "count",
 *     handler: async (input: { n: number }, ctx) => {
 *       for (let i = 1; i <= input.n; i++) await ctx.progress(i, { total: input.n });
 *       return { count: input.n };
 *     },
 *   }],
 * });
 * const [clientSide, runtimeSide] = memoryTransportPair();
 * runtime.accept(runtimeSide);
 * await using client = await connect(clientSide, { token: "t" });
 * const job = await client.submit("count", { n: 3 });
 * const kinds = [];
 * for await (const event of job) kinds.push(event.payload.kind);
 * assert.deepEqual(kinds, ["progress", "progress", "progress"]);
 * assert.deepEqual((await job.result).result, { count: 3 });
 * ```
 *
 * @module
 */

export {
  type CancelOptions,
  Client,
  type CloseOptions,
  connect,
  type ConnectOptions,
  JobHandle,
  type SubmitOptions,
} from "./client.ts";
export {
  type AcceptOptions,
  type AgentContext,
  type AgentDefinition,
  type AgentHandler,
  anonymous,
  type AnonymousOptions,
  type Authenticator,
  type DelegateOptions,
  type HelloAuth,
  type MetricOptions,
  type Principal,
  type ProgressOptions,
  Runtime,
  type RuntimeOptions,
  staticTokens,
  type ToolOptions,
  type UpgradeWebSocket,
} from "./runtime.ts";
export {
  ArcpError,
  type ArcpErrorOptions,
  ConnectionClosedError,
  type ConnectionClosedErrorOptions,
  ERROR_CODES,
  type ErrorCode,
  type ErrorPayload,
  isErrorCode,
  retryableFor,
} from "./protocol/errors.ts";
export {
  EVENT_KINDS,
  type EventKind,
  type EventPayload,
  isEventKind,
  type JobEvent,
} from "./protocol/events.ts";
export {
  type AgentInfo,
  type Envelope,
  type Feature,
  FEATURES,
  type FinalStatus,
  type JobAcceptedPayload,
  type JobErrorPayload,
  type JobResultPayload,
  type JobStatus,
  type Lease,
  type LeaseConstraints,
  type PeerInfo,
  PROTOCOL_VERSION,
} from "./protocol/messages.ts";
export { SDK_VERSION } from "./protocol/version.ts";
export { type MemoryTransportOptions, memoryTransportPair } from "./transports/memory.ts";
export {
  type WebSocketLike,
  webSocketTransport,
  type WebSocketTransportOptions,
} from "./transports/websocket.ts";
export { type Frame, MalformedFrame, type Transport } from "./transports/types.ts";
