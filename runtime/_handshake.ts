// This module is browser compatible.
// Opening and resuming sessions (spec §6.1 to §6.3). Resume accepts all three
// encodings in the wild (see CONFORMANCE.md): a `resume` block on
// `session.hello`, flat `resume_token`/`last_event_seq` on the hello, and a
// `session.resume` message.

import type { Message } from "../protocol/envelope.ts";
import { ArcpError } from "../protocol/errors.ts";
import { newResumeToken, newSessionId } from "../protocol/ids.ts";
import type { Capabilities, Feature } from "../protocol/messages.ts";
import type { SessionRecord } from "../store/types.ts";
import type { Principal } from "./auth.ts";
import type { RuntimeCore } from "./_core.ts";
import { digestsEqual, sha256Hex } from "./_digest.ts";
import { RuntimeSession } from "./_session.ts";

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
export function negotiate(core: RuntimeCore, capabilities: Capabilities | undefined): Feature[] {
  const requested = new Set(capabilities?.features ?? []);
  return core.features.filter((feature) => requested.has(feature));
}

/** Authenticates a fresh `session.hello`, or throws `UNAUTHENTICATED` (spec §6.1). */
export async function authenticate(
  core: RuntimeCore,
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
  return principal;
}

function sessionFor(
  core: RuntimeCore,
  id: string,
  principal: Principal,
  lastSeq = 0,
  trimmedSeq = lastSeq,
) {
  return new RuntimeSession(id, principal, core.store, core.limits, (error) => {
    core.logger.error(`arcp runtime: event store failed for session ${id}`, error);
  }, { lastSeq, trimmedSeq });
}

/** Creates a session; returns it with its first resume token. */
export async function openSession(
  core: RuntimeCore,
  principal: Principal,
): Promise<[RuntimeSession, string]> {
  const session = sessionFor(core, newSessionId(), principal);
  const token = newResumeToken();
  const record: SessionRecord = {
    session_id: session.id,
    principal: principal.id,
    resume_token_sha256: sha256Hex(token),
    resume_window_sec: core.resumeWindowSec,
    created_at: new Date().toISOString(),
    detached_at: null,
    acked_seq: 0,
  };
  await core.store.putSession(record);
  core.sessions.set(session.id, session);
  return [session, token];
}

async function findRecord(core: RuntimeCore, request: ResumeRequest, tokenHash: string) {
  if (request.sessionId !== undefined) return await core.store.getSession(request.sessionId);
  // Flat resume without a session id: find the session by its token.
  for await (const record of core.store.listSessions()) {
    if (digestsEqual(record.resume_token_sha256, tokenHash)) return record;
  }
  return undefined;
}

function expired(record: SessionRecord, now: number): boolean {
  return record.detached_at !== null &&
    Date.parse(record.detached_at) + record.resume_window_sec * 1000 <= now;
}

/**
 * Validates a resume request and rotates the session's token (spec §6.3).
 * Returns the session (restored from the store after a restart) and its new
 * token; the caller sends the welcome and then replays.
 *
 * @throws {ArcpError} `UNAUTHENTICATED` for a wrong token or principal,
 *   `RESUME_WINDOW_EXPIRED` for an unknown or expired session or a sequence
 *   the log no longer covers, `INVALID_REQUEST` for a sequence never sent.
 */
export async function resumeSession(
  core: RuntimeCore,
  request: ResumeRequest,
  principal: Principal | undefined,
): Promise<[RuntimeSession, string]> {
  const tokenHash = sha256Hex(request.token);
  const record = await findRecord(core, request, tokenHash);
  if (record === undefined) {
    throw new ArcpError(
      "RESUME_WINDOW_EXPIRED",
      `Session "${request.sessionId ?? "?"}" is unknown or has expired`,
    );
  }
  if (!digestsEqual(record.resume_token_sha256, tokenHash)) {
    throw new ArcpError("UNAUTHENTICATED", "Invalid resume token");
  }
  if (principal !== undefined && principal.id !== record.principal) {
    throw new ArcpError(
      "UNAUTHENTICATED",
      "The bearer token belongs to another principal than the session",
    );
  }
  if (expired(record, Date.now())) {
    await core.store.deleteSession(record.session_id);
    throw new ArcpError("RESUME_WINDOW_EXPIRED", `Session "${record.session_id}" has expired`);
  }
  const bounds = await core.store.bounds(record.session_id);
  let session = core.sessions.get(record.session_id);
  if (session === undefined) {
    session = sessionFor(
      core,
      record.session_id,
      { id: record.principal },
      bounds.last,
      bounds.first - 1,
    );
    core.sessions.set(session.id, session);
  }
  if (request.lastEventSeq > session.lastSeq) {
    throw new ArcpError(
      "INVALID_REQUEST",
      `Cannot resume after event_seq ${request.lastEventSeq}: the session has sent ${session.lastSeq}`,
    );
  }
  if (request.lastEventSeq < bounds.first - 1) {
    throw new ArcpError(
      "RESUME_WINDOW_EXPIRED",
      `Cannot resume after event_seq ${request.lastEventSeq}: the log starts at ${bounds.first}`,
      { details: { first_available_seq: bounds.first } },
    );
  }
  const token = newResumeToken();
  await core.store.putSession({
    ...record,
    resume_token_sha256: sha256Hex(token),
    detached_at: null,
  });
  return [session, token];
}
