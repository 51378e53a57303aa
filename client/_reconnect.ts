// This module is browser compatible.
// Reconnect-and-resume (spec §6.3): after a lost connection, new connections
// with exponential backoff, each sending a resuming `session.hello`, until one
// is welcomed, the session closes, or resuming becomes pointless.

import { ArcpError, ConnectionClosedError } from "../protocol/errors.ts";
import type { Envelope, SessionHelloPayload } from "../protocol/messages.ts";
import type { Transport } from "../transports/types.ts";
import type { ReconnectOptions } from "../client.ts";
import type { ResumeState } from "./resume_state.ts";
import { handshake, type Welcomed } from "./_handshake.ts";

/** How to reconnect: a new transport, the hello to send on it, and the pace of attempts. */
export interface ReconnectPlan {
  open(signal?: AbortSignal): Promise<Transport>;
  hello(resume?: ResumeState): Envelope<"session.hello", SessionHelloPayload>;
  timeoutMs: number;
  backoff: ReconnectOptions;
}

/** Codes after which resuming is pointless. */
const FINAL = new Set(["RESUME_WINDOW_EXPIRED", "UNAUTHENTICATED", "INVALID_REQUEST"]);

/**
 * The first connection that resumes the session.
 *
 * @throws `options.signal.reason` when the session closes meanwhile; the
 *   `ArcpError` of a refusal that makes resuming pointless (the only
 *   `ArcpError` it throws); a `ConnectionClosedError` after the last attempt.
 */
export async function reconnect(
  plan: ReconnectPlan,
  options: {
    resume: () => ResumeState;
    signal: AbortSignal;
    logger: Pick<Console, "debug">;
  },
): Promise<Welcomed> {
  const { open, hello, timeoutMs, backoff } = plan;
  const { resume, signal, logger } = options;
  const initial = backoff.initialDelayMs ?? 100;
  const max = backoff.maxDelayMs ?? 10_000;
  const attempts = backoff.maxAttempts ?? Number.POSITIVE_INFINITY;
  let delay = initial;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    // Full jitter spreads the reconnects of many clients after an outage.
    const wait = Math.random() * delay;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wait);
      signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
    });
    if (signal.aborted) throw signal.reason;
    try {
      const state = resume();
      const welcomed = await handshake(await open(signal), hello(state), timeoutMs, signal);
      logger.debug(
        `arcp client: resumed ${state.session_id} after event_seq ${state.last_event_seq}`,
      );
      return welcomed;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof ArcpError && FINAL.has(error.code)) throw error;
      logger.debug(`arcp client: reconnect attempt ${attempt} failed`, error);
      delay = Math.min(delay * 2, max);
    }
  }
  throw new ConnectionClosedError(
    `Cannot resume session ${resume().session_id}: gave up after ${attempts} attempts`,
  );
}
