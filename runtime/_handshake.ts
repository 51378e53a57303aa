// This module is browser compatible.
// Opening and resuming sessions (spec §6.1 to §6.3). Resume accepts all three
// encodings in the wild (see CONFORMANCE.md): a `resume` block on
// `session.hello`, flat `resume_token`/`last_event_seq` on the hello, and a
// `session.resume` message. A resume names its session (spec 1.0 §3: the
// client keeps `session_id`, `resume_token` and `last_event_seq`); only one
// that also carries a valid bearer token may leave it out, and is then found
// by its token's hash and must belong to that principal.

import type { Message } from "../protocol/envelope.ts";
import { ArcpError } from "../protocol/errors.ts";
import { newResumeToken, newSessionId } from "../protocol/ids.ts";
import type { Capabilities, Feature } from "../protocol/messages.ts";
import { isoAt } from "../protocol/clock.ts";
import type { SessionRecord } from "../store/types.ts";
import type { Principal } from "./auth.ts";
import type { LiveState, RuntimePolicies, RuntimeServices } from "./_core.ts";
import type { RuntimeConfig } from "./_config.ts";
import { digestsEqual, sha256Hex } from "./_digest.ts";
import { bytesOver, MAX_PRINCIPAL_ID_BYTES } from "./_key_fields.ts";
import { RuntimeSession } from "./_session.ts";
import { jobsElsewhere, windowPassed } from "./_recovery.ts";

/** What the handshake reads of the runtime. */
export interface HandshakeScope
  extends
    RuntimeConfig,
    Pick<RuntimePolicies, "authenticate" | "logger" | "clock">,
    Pick<RuntimeServices, "store" | "closing" | "sessionLogs" | "telemetry">,
    LiveState {}

/** A resume request, whichever encoding it came in. */
export interface ResumeRequest {
  sessionId: string | undefined;
  token: string;
  lastEventSeq: number;
}

/** The resume request a handshake message carries, if any. */
export function resumeRequestOf(message: Message): ResumeRequest | undefined {
  if (message.type === "session.resume") {
    const { payload } = message;
    return {
      sessionId: payload.session_id ?? message.session_id,
      token: payload.resume_token,
      lastEventSeq: payload.last_event_seq,
    };
  }
  if (message.type !== "session.hello") return undefined;
  const { resume, resume_token, last_event_seq } = message.payload;
  if (resume !== undefined) {
    return {
      sessionId: resume.session_id,
      token: resume.resume_token,
      lastEventSeq: resume.last_event_seq,
    };
  }
  if (resume_token !== undefined) {
    return {
      sessionId: message.session_id,
      token: resume_token,
      lastEventSeq: last_event_seq ?? 0,
    };
  }
  return undefined;
}

/** The features both sides declared (spec 1.1 §6.2). */
export function negotiate(core: HandshakeScope, capabilities: Capabilities | undefined): Feature[] {
  const requested = new Set(capabilities?.features ?? []);
  return core.features.filter((feature) => requested.has(feature));
}

/** Authenticates a fresh `session.hello`, or throws `UNAUTHENTICATED` (spec §6.1). */
export async function authenticate(
  core: HandshakeScope,
  message: Message & { type: "session.hello" },
): Promise<Principal> {
  const { auth } = message.payload;
  const principal = core.authenticate === undefined
    ? null
    : await core.authenticate({ scheme: auth?.scheme, token: auth?.token });
  if (principal === null) {
    throw new ArcpError(
      "UNAUTHENTICATED",
      auth?.token === undefined ? "Missing bearer token" : "Invalid bearer token",
    );
  }
  const bytes = bytesOver(principal.id, MAX_PRINCIPAL_ID_BYTES);
  if (bytes !== undefined) {
    // The operator's authenticator is at fault, not the client: say so in the log.
    core.logger.error(
      `arcp runtime: refusing a session: the authenticator returned a principal id of ${bytes} ` +
        `bytes, over the limit of ${MAX_PRINCIPAL_ID_BYTES} (principal ids key stored records)`,
    );
    throw new ArcpError(
      "UNAUTHENTICATED",
      `Invalid principal: its principal id is ${bytes} bytes, over the limit of ${MAX_PRINCIPAL_ID_BYTES}`,
    );
  }
  return principal;
}

function sessionFor(
  core: HandshakeScope,
  record: SessionRecord,
  restored?: { lastSeq: number; trimmedSeq: number },
): RuntimeSession {
  const shared = {
    instanceId: core.instanceId,
    logs: core.sessionLogs,
    telemetry: core.telemetry,
  };
  return new RuntimeSession(
    record,
    { id: record.principal },
    core.store,
    core.limits,
    (error) => {
      core.logger.error(`arcp runtime: the store failed for session ${record.session_id}`, error);
    },
    shared,
    restored,
  );
}

/** Creates a session; returns it with its first resume token. */
export async function openSession(
  core: HandshakeScope,
  principal: Principal,
): Promise<[RuntimeSession, string]> {
  const token = newResumeToken();
  const session = sessionFor(core, {
    session_id: newSessionId(),
    principal: principal.id,
    resume_token_sha256: sha256Hex(token),
    previous_token_sha256: null,
    resume_window_sec: core.resumeWindowSec,
    created_at: isoAt(core.clock),
    detached_at: null,
    acked_seq: 0,
    instance_id: core.instanceId,
  });
  // No client is welcomed into a session the store does not hold.
  await session.updateRecord({}, true);
  core.sessions.set(session.id, session);
  return [session, token];
}

/**
 * The session a resume names (or, without a name, the authenticated
 * principal's session whose token it presents), loaded from the store if
 * this process does not hold it: it may have been opened on another runtime
 * instance, or before a restart. One this process holds is refreshed, since
 * another instance may have moved it on. Either way it is found by key (its
 * id, or its token's hash), never by going through other sessions.
 */
async function findSession(
  core: HandshakeScope,
  request: ResumeRequest,
  tokenHash: string,
  principal: Principal | undefined,
): Promise<RuntimeSession | undefined> {
  let sessionId = request.sessionId;
  let record: SessionRecord | undefined;
  if (sessionId === undefined) {
    if (principal === undefined) {
      // Only a bearer token may stand in for the session id (see CONFORMANCE.md).
      throw new ArcpError(
        "INVALID_REQUEST",
        'A resume without a bearer token must name its session: "session_id" is missing',
      );
    }
    record = await core.store.getSessionByToken(tokenHash);
    // Another principal's session is as unknown to this one as no session.
    if (record === undefined || record.principal !== principal.id) return undefined;
    sessionId = record.session_id;
  }
  const live = core.sessions.get(sessionId);
  if (live !== undefined) {
    if (await live.refresh()) return live;
    forget(core, live);
    return undefined;
  }
  record ??= await core.store.getSession(sessionId);
  if (record === undefined) return undefined;
  const bounds = await core.store.bounds(record.session_id);
  // Another resume may have loaded it meanwhile: there must be one object per session.
  const loaded = core.sessions.get(record.session_id) ??
    sessionFor(core, record, { lastSeq: bounds.last, trimmedSeq: bounds.first - 1 });
  core.sessions.set(loaded.id, loaded);
  return loaded;
}

/** Drops a session this process holds but the store no longer has. */
function forget(core: HandshakeScope, session: RuntimeSession): void {
  if (session.attached || session.jobs.size > 0) return;
  for (const subscription of session.subscriptions.values()) subscription.end();
  if (core.sessions.get(session.id) === session) core.sessions.delete(session.id);
}

/**
 * Validates a resume request and rotates the session's token (spec §6.3).
 * Returns the session (restored from the store after a restart) and its new
 * token; the caller sends the welcome and then replays.
 *
 * @throws {ArcpError} `INVALID_REQUEST` for a resume naming no session and
 *   carrying no bearer token, `UNAUTHENTICATED` for a wrong token or principal,
 *   `RESUME_WINDOW_EXPIRED` for an unknown or expired session or a sequence
 *   the log no longer covers, `INVALID_REQUEST` for a sequence never sent.
 */
export async function resumeSession(
  core: HandshakeScope,
  request: ResumeRequest,
  principal: Principal | undefined,
): Promise<[RuntimeSession, string]> {
  const tokenHash = sha256Hex(request.token);
  const session = await findSession(core, request, tokenHash, principal);
  if (session === undefined) {
    throw new ArcpError(
      "RESUME_WINDOW_EXPIRED",
      `Session "${request.sessionId ?? "?"}" is unknown or has expired`,
    );
  }
  const { record } = session;
  if (!tokenMatches(record, tokenHash)) {
    throw new ArcpError("UNAUTHENTICATED", "Invalid resume token");
  }
  if (principal !== undefined && principal.id !== record.principal) {
    throw new ArcpError(
      "UNAUTHENTICATED",
      "The bearer token belongs to another principal than the session",
    );
  }
  // Jobs running here or elsewhere keep a session alive past its window, as
  // the expiry timer does.
  const elsewhere = await jobsElsewhere(core, session.id);
  if (
    !session.attached && session.jobs.size === 0 && elsewhere.length === 0 &&
    windowPassed(record, core.clock.now())
  ) {
    core.sessions.delete(session.id);
    await core.store.deleteSession(session.id);
    throw new ArcpError("RESUME_WINDOW_EXPIRED", `Session "${session.id}" has expired`);
  }
  if (request.lastEventSeq > session.lastSeq) {
    throw new ArcpError(
      "INVALID_REQUEST",
      `Cannot resume after event_seq ${request.lastEventSeq}: the session has sent ${session.lastSeq}`,
    );
  }
  const { first } = await core.store.bounds(session.id);
  if (request.lastEventSeq < first - 1) {
    throw new ArcpError(
      "RESUME_WINDOW_EXPIRED",
      `Cannot resume after event_seq ${request.lastEventSeq}: the log starts at ${first}`,
      { details: { first_available_seq: first } },
    );
  }
  // Checked again after the awaits above: a concurrent resume may have rotated it.
  if (!tokenMatches(session.record, tokenHash)) {
    throw new ArcpError("UNAUTHENTICATED", "Invalid resume token");
  }
  const token = newResumeToken();
  // The presented token stays valid until the client proves it got the new
  // one (confirmRotation); if it used the previous one, the one it never
  // received is dropped. The session is held here from now on, unless a
  // resume on another instance rotated the token first.
  const presentedCurrent = digestsEqual(session.record.resume_token_sha256, tokenHash);
  const taken = await session.takeOver({
    resume_token_sha256: sha256Hex(token),
    previous_token_sha256: presentedCurrent
      ? session.record.resume_token_sha256
      : session.record.previous_token_sha256 ?? null,
    detached_at: null,
  });
  if (!taken) throw new ArcpError("UNAUTHENTICATED", "Invalid resume token");
  // Events may have been trimmed to make room since the log was checked.
  session.claimForResume(request.lastEventSeq);
  session.followElsewhere(elsewhere);
  return [session, token];
}

/**
 * The client spoke on the connection its new token was welcomed on, so it
 * has that token: the one it replaced is refused from now on (spec §6.3).
 */
export function confirmRotation(session: RuntimeSession): Promise<void> {
  if (!session.record.previous_token_sha256) return Promise.resolve();
  return session.updateRecord({ previous_token_sha256: null });
}

function tokenMatches(record: SessionRecord, tokenHash: string): boolean {
  const current = digestsEqual(record.resume_token_sha256, tokenHash);
  const previous = !!record.previous_token_sha256 &&
    digestsEqual(record.previous_token_sha256, tokenHash);
  return current || previous;
}
