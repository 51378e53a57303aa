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
import {
  aSessionWithARunningJobStaysResumablePastItsWindow,
  aSubmitPendingAtADropStartsOneJob,
  aSubmitResentAfterItsJobEndedStillStreamsItsEvents,
  cancelAuthoritySurvivesResume,
  cancelByIdFromANewClientThatResumedTheSession,
  reconnectingClientsDeliverEveryEventOnce,
  resumeByFlatHelloFieldsReplaysTheRest,
  resumeByHelloBlockReplaysTheRest,
  resumeBySessionResumeReplaysTheRest,
  resumeTokensRotateAndAreChecked,
  resumingWhenCaughtUpReplaysNothing,
  savedResumeStateResumesTheSessionInANewClient,
  sessionResumeKeepsTheNegotiatedFeatures,
  unknownOrExpiredSessionsCannotBeResumed,
} from "./scenarios/resume.ts";
import {
  acknowledgedEventsAreFreedAndCannotBeReplayed,
  aConsumerThatStopsReadingHoldsTheAgent,
  aSilentPeerIsClosedWithHeartbeatLost,
  aTalkingPeerIsNeverClosed,
  clientAndRuntimeExchangePingsAndPongs,
  overflowingTheBufferEndsTheJobWithInternalError,
  theClientAcknowledgesAsItsConsumerReads,
  unacknowledgedEventsHoldTheAgentUntilAcked,
} from "./scenarios/flow.ts";
import {
  aConflictingKeyIsADuplicateKeySessionError,
  aJobEndingWhileItsRecordIsWrittenStillSettlesObservers,
  aRepeatedKeyFromAnotherSessionStreamsTheSameJob,
  aSubscriberOfAnotherPrincipalCannotCancel,
  clientSubscriptionsStreamEventsAndResult,
  listJobsFiltersThePrincipalsJobs,
  listJobsPagesWithAKeysetCursor,
  subscribePermissionsFollowThePolicy,
  subscribersReplayHistoryThenFollowLive,
  subscribingToAFinishedJobReplaysItAndEnds,
  unsubscribingStopsTheEvents,
} from "./scenarios/observe.ts";
import {
  budgetsAreSpentByCostMetricsAndEnforced,
  costMetricsAreExactAndOnlyValidOnesDecrement,
  eachCurrencyIsItsOwnCounter,
  expiredLeasesEndTheJobWithLeaseExpired,
  expiryIsCheckedByEveryOperation,
  fetchGoesThroughTheLeaseWithTraceparent,
  leaseRequestsAreValidatedAtSubmission,
  modelUseFollowsTheLeaseAndThePolicy,
  subscribersSeeARunningJobsBudget,
  toolCallsAndAuthorizeFollowTheLease,
} from "./scenarios/authority.ts";

export type { Scenario } from "./scenarios/_shared.ts";
export * from "./scenarios/session.ts";
export * from "./scenarios/jobs.ts";
export * from "./scenarios/input.ts";
export * from "./scenarios/client_api.ts";
export * from "./scenarios/resume.ts";
export * from "./scenarios/flow.ts";
export * from "./scenarios/observe.ts";
export * from "./scenarios/authority.ts";

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
  {
    name: "a repeated idempotency_key returns the same job, a conflicting one DUPLICATE_KEY",
    run: idempotentSubmitsReturnTheSameJob,
  },
  // Resume (spec §6.3, DIALECTS.md)
  {
    name:
      "resume by session.hello payload.resume: same session, new token, then every later event once",
    run: resumeByHelloBlockReplaysTheRest,
  },
  {
    name:
      "resume by flat resume_token/last_event_seq on session.hello, no session_id, replays every later event once",
    run: resumeByFlatHelloFieldsReplaysTheRest,
  },
  {
    name: "resume by a session.resume first frame, no bearer token, replays every later event once",
    run: resumeBySessionResumeReplaysTheRest,
  },
  {
    name: "resuming at the newest last_event_seq replays nothing and the sequence carries on",
    run: resumingWhenCaughtUpReplaysNothing,
  },
  {
    name:
      "a resume with a superseded token (once the new one is in use), a wrong one or another principal's bearer gets UNAUTHENTICATED and is closed",
    run: resumeTokensRotateAndAreChecked,
  },
  {
    name:
      "resuming an unknown session or one past its resume window gets RESUME_WINDOW_EXPIRED and is closed",
    run: unknownOrExpiredSessionsCannotBeResumed,
  },
  {
    name: "a job submitted before a drop can be cancelled from the resumed connection",
    run: cancelAuthoritySurvivesResume,
  },
  {
    name:
      "client.cancel(jobId) cancels from a new client that resumed the submitting session, and only there",
    run: cancelByIdFromANewClientThatResumedTheSession,
  },
  {
    name: "a reconnecting client delivers 2,000 events exactly once, in order, across two drops",
    run: reconnectingClientsDeliverEveryEventOnce,
  },
  {
    name: "a submit pending when the connection drops resolves to the one job the agent ran",
    run: aSubmitPendingAtADropStartsOneJob,
  },
  {
    name:
      "a new client with the same resume store and key resumes the session and gets what it missed",
    run: savedResumeStateResumesTheSessionInANewClient,
  },
  // Acknowledgement, buffers and heartbeats (spec 1.1 §6.4, §6.5; 1.0 §14)
  {
    name:
      "session.ack frees the log: resuming below the acked seq gets RESUME_WINDOW_EXPIRED, from it replays",
    run: acknowledgedEventsAreFreedAndCannotBeReplayed,
  },
  {
    name: "unacknowledged events bring a back_pressure status and hold the agent until acks arrive",
    run: unacknowledgedEventsHoldTheAgentUntilAcked,
  },
  {
    name: "the client acknowledges as its consumer reads: 500 events pass an ackWindow of 50",
    run: theClientAcknowledgesAsItsConsumerReads,
  },
  {
    name: "a consumer that stops reading holds the agent, and reading again lets it finish",
    run: aConsumerThatStopsReadingHoldsTheAgent,
  },
  {
    name:
      "an agent that does not await its emitters and outruns maxBufferedEvents ends with INTERNAL_ERROR naming the cap",
    run: overflowingTheBufferEndsTheJobWithInternalError,
  },
  {
    name: "a silent peer is closed with HEARTBEAT_LOST; its job runs on and the session resumes",
    run: aSilentPeerIsClosedWithHeartbeatLost,
  },
  {
    name: "a peer that answers the runtime's pings is never closed",
    run: aTalkingPeerIsNeverClosed,
  },
  {
    name: "the client answers the runtime's pings, pings an idle runtime, and is answered",
    run: clientAndRuntimeExchangePingsAndPongs,
  },
  // Idempotency, listing and subscription (spec §7.2, 1.1 §6.6, §7.6)
  {
    name:
      "a repeated idempotency_key from another session streams the same job, live or finished, per principal",
    run: aRepeatedKeyFromAnotherSessionStreamsTheSameJob,
  },
  {
    name: "a key reused with other parameters is a DUPLICATE_KEY session.error with request_id",
    run: aConflictingKeyIsADuplicateKeySessionError,
  },
  {
    name: "session.list_jobs lists the principal's jobs, finished ones included, with every filter",
    run: listJobsFiltersThePrincipalsJobs,
  },
  {
    name:
      "session.list_jobs pages by limit and keyset cursor; client.listJobs() iterates the pages",
    run: listJobsPagesWithAKeysetCursor,
  },
  {
    name:
      "job.subscribe describes the job, replays history then live events in the subscriber's own sequence",
    run: subscribersReplayHistoryThenFollowLive,
  },
  {
    name:
      "subscribing to a finished job replays it and delivers its outcome, so the handle settles",
    run: subscribingToAFinishedJobReplaysItAndEnds,
  },
  {
    name:
      "another principal's subscribe is PERMISSION_DENIED unless subscribePolicy allows; all audited",
    run: subscribePermissionsFollowThePolicy,
  },
  {
    name: "job.unsubscribe stops the job's events",
    run: unsubscribingStopsTheEvents,
  },
  {
    name: "client.subscribe() returns a JobSubscription whose events and result work",
    run: clientSubscriptionsStreamEventsAndResult,
  },
  {
    name: "a session.resume keeps the session's negotiated features",
    run: sessionResumeKeepsTheNegotiatedFeatures,
  },
  {
    name: "a session whose job still runs can be resumed after its window",
    run: aSessionWithARunningJobStaysResumablePastItsWindow,
  },
  {
    name: "a submit resent after its job ended streams the job's events",
    run: aSubmitResentAfterItsJobEndedStillStreamsItsEvents,
  },
  {
    name: "a policy-allowed subscriber of another principal gets PERMISSION_DENIED on job.cancel",
    run: aSubscriberOfAnotherPrincipalCannotCancel,
  },
  {
    name: "subscribe or a repeated key just after a job ends settles the handle",
    run: aJobEndingWhileItsRecordIsWrittenStillSettlesObservers,
  },
  // Leases, budgets, expiry and models (spec §9, §11)
  {
    name:
      "invalid lease_request or expires_at is an INVALID_REQUEST session.error, no job; a valid lease, constraints and budget are echoed",
    run: leaseRequestsAreValidatedAtSubmission,
  },
  {
    name:
      "ctx.tool emits tool_call/tool_result; calls outside the lease are PERMISSION_DENIED results the agent survives; authorize returns canonical targets",
    run: toolCallsAndAuthorizeFollowTheLease,
  },
  {
    name:
      "ctx.fetch reaches only leased URLs, with the job's traceparent; denied URLs never leave the runtime",
    run: fetchGoesThroughTheLeaseWithTraceparent,
  },
  {
    name:
      "seq-budget-enforcement: cost metrics decrement the budget exactly, remaining metrics follow, then BUDGET_EXHAUSTED tool_results",
    run: budgetsAreSpentByCostMetricsAndEnforced,
  },
  {
    name:
      "cost metrics add up without float drift; negative, unbudgeted or non-cost metrics decrement nothing; zero is exhausted",
    run: costMetricsAreExactAndOnlyValidOnesDecrement,
  },
  {
    name: "each cost.budget currency is its own counter and exhausting one stops the job's tools",
    run: eachCurrencyIsItsOwnCounter,
  },
  {
    name:
      "job.subscribed to a running job carries its lease, constraints and budget as spent so far",
    run: subscribersSeeARunningJobsBudget,
  },
  {
    name:
      "seq-lease-expiration: past expires_at plus grace, by the injected clock, a tool call is a LEASE_EXPIRED tool_result and the job a LEASE_EXPIRED job.error",
    run: expiredLeasesEndTheJobWithLeaseExpired,
  },
  {
    name: "an expired lease refuses every operation with LEASE_EXPIRED: authorize, useModel, fetch",
    run: expiryIsCheckedByEveryOperation,
  },
  {
    name:
      "model.use patterns allow or deny models; without model.use any model is allowed unless requireModelLease",
    run: modelUseFollowsTheLeaseAndThePolicy,
  },
];
