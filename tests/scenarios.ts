// End-to-end scenarios, each a plain function of the transport kind so the
// same behaviour is proven over every transport (scenarios_test.ts runs them).
// The functions live in scenarios/*.ts; this module names and lists them.

import type { Scenario } from "./scenarios/_shared.ts";
import {
  clientCloseIsAcknowledgedAndJobsKeepRunning,
  connectRejectsWithUnauthenticated,
  framesBeforeHelloAreRefusedThenHelloWorks,
  helloWithoutAValidTokenIsRefusedAndClosed,
  jobsSurviveADroppedClient,
  sessionCloseAndByeEndTheConnectionNotTheJobs,
  welcomeDescribesTheSession,
} from "./scenarios/session.ts";
import {
  agentIgnoringCancellationIsEndedAfterGrace,
  agentReferencesResolveByVersion,
  concurrentJobsShareOneGapFreeSequence,
  concurrentJobsStreamInOrderToTheirHandles,
  everyEventKindReachesTheClient,
  jobOutcomesOnTheWire,
  jobOutcomesReachTheClient,
  refusedSubmitsAreSessionErrorsNotJobErrors,
} from "./scenarios/jobs.ts";
import {
  badFramesAreAnsweredAndTheSessionCarriesOn,
  ignorableInputIsIgnoredAndPingIsAnswered,
  oversizedFramesAreRefusedAndTheSessionCarriesOn,
  protocolVersionsOneAndOneOneAreAccepted,
  traceContextIsPropagatedToEveryJobFrame,
} from "./scenarios/input.ts";
import {
  closedClientsRefuseWork,
  idempotentSubmitsReturnTheSameJob,
  jobHandlesAreStreamsAndAsyncIterables,
  submitWithAnAbortedSignalRejectsWithItsReason,
  submitWithAnAbortedSignalStartsNoJob,
  unserialisableResultsEndTheJobNotTheSession,
} from "./scenarios/client_api.ts";

export type { Scenario } from "./scenarios/_shared.ts";
export * from "./scenarios/session.ts";
export * from "./scenarios/jobs.ts";
export * from "./scenarios/input.ts";
export * from "./scenarios/client_api.ts";

/** Every scenario, named by the behaviour it proves. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: "session.welcome carries session id, resume token, limits, features and agents",
    run: welcomeDescribesTheSession,
  },
  {
    name: "a hello with a missing or wrong token gets UNAUTHENTICATED and the transport is closed",
    run: helloWithoutAValidTokenIsRefusedAndClosed,
  },
  {
    name: "connect() rejects with UNAUTHENTICATED when the token is missing or wrong",
    run: connectRejectsWithUnauthenticated,
  },
  {
    name: "frames before session.hello get INVALID_REQUEST with request_id, then hello works",
    run: framesBeforeHelloAreRefusedThenHelloWorks,
  },
  {
    name:
      "job success, agent errors, cancellation and timeout reach the client as results/ArcpErrors",
    run: jobOutcomesReachTheClient,
  },
  {
    name: "job.result and job.error frames carry final_status, code and retryable",
    run: jobOutcomesOnTheWire,
  },
  {
    name: "an agent that ignores cancellation is ended with CANCELLED after cancelGraceMs",
    run: agentIgnoringCancellationIsEndedAfterGrace,
  },
  {
    name: "agent references resolve to the default or pinned version, or fail with the §7.5 codes",
    run: agentReferencesResolveByVersion,
  },
  {
    name: "refused submits are session.errors with request_id, never job.errors",
    run: refusedSubmitsAreSessionErrorsNotJobErrors,
  },
  {
    name: "concurrent jobs share one gap-free event_seq and keep their own event order",
    run: concurrentJobsShareOneGapFreeSequence,
  },
  {
    name: "concurrent jobs deliver their own events, in order, to their own handles",
    run: concurrentJobsStreamInOrderToTheirHandles,
  },
  {
    name: "every event kind, including vendor kinds, reaches the client with its body",
    run: everyEventKindReachesTheClient,
  },
  {
    name:
      "bad frames get INVALID_REQUEST (with request_id when parseable) and the session carries on",
    run: badFramesAreAnsweredAndTheSessionCarriesOn,
  },
  {
    name: "a frame over maxFrameBytes gets INVALID_REQUEST and the session carries on",
    run: oversizedFramesAreRefusedAndTheSessionCarriesOn,
  },
  {
    name: 'protocol versions "1" and "1.1" are both accepted',
    run: protocolVersionsOneAndOneOneAreAccepted,
  },
  {
    name: "vendor messages, pong, ack and unknown fields are ignored; ping is answered",
    run: ignorableInputIsIgnoredAndPingIsAnswered,
  },
  {
    name:
      "trace_id (bare or traceparent) is carried by every frame of the job; a bad one is refused",
    run: traceContextIsPropagatedToEveryJobFrame,
  },
  {
    name: "client.close() is acknowledged and a running job keeps running to completion",
    run: clientCloseIsAcknowledgedAndJobsKeepRunning,
  },
  {
    name:
      "session.close (answered by session.closed) and session.bye end the connection, not the jobs",
    run: sessionCloseAndByeEndTheConnectionNotTheJobs,
  },
  {
    name: "a job survives its client's transport being dropped and finishes unaborted",
    run: jobsSurviveADroppedClient,
  },
  {
    name: "job handles expose a ReadableStream and are async-iterable",
    run: jobHandlesAreStreamsAndAsyncIterables,
  },
  {
    name: "a closed client (close() or await using) rejects submit with ConnectionClosedError",
    run: closedClientsRefuseWork,
  },
  {
    name: "submit() with an already-aborted signal rejects with the signal's reason",
    run: submitWithAnAbortedSignalRejectsWithItsReason,
  },
  {
    name: "submit() with an already-aborted signal sends nothing and starts no job",
    run: submitWithAnAbortedSignalStartsNoJob,
  },
  {
    name: "an agent result JSON cannot encode ends that job with INTERNAL_ERROR, not the session",
    run: unserialisableResultsEndTheJobNotTheSession,
  },
];

/** Scenarios of features not implemented yet (see CONFORMANCE.md); registered as ignored tests. */
export const NOT_YET_IMPLEMENTED: readonly Scenario[] = [
  {
    name: "a repeated idempotency_key returns the same job, a conflicting one DUPLICATE_KEY",
    run: idempotentSubmitsReturnTheSameJob,
  },
];
