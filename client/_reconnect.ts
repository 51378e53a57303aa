// This module is browser compatible.
// Reconnect-and-resume (spec §6.3): after a lost connection, new connections
// with exponential backoff, each sending a resuming `session.hello`, until one
// is welcomed, the session closes, or resuming becomes pointless.

import { ArcpError, ConnectionClosedError } from "../protocol/errors.ts";
import type { Envelope, SessionHelloPayload } from "../protocol/messages.ts";
import type { Transport } from "../transports/types.ts";
import type { ReconnectOptions } from "./options.ts";
import type { ResumeState } from "./resume_state.ts";
import { handshake, type Welcomed } from "./_handshake.ts";

/** How to reconnect: a new transport, the hello to send on it, and the pace of attempts. */
export interface ReconnectPlan {
  open(signal?: AbortSignal): Promise<Transport>;
  hello(resume?: ResumeState): Envelope<"session.hello", SessionHelloPayload>;
  timeoutMs: number;
  backoff: ReconnectOptions;
}

/** The longest delay timers honour; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Codes after which resuming is pointless. */
const FINAL = new Set(["RESUME_WINDOW_EXPIRED", "UNAUTHENTICATED", "INVALID_REQUEST"]);

/**
 * The first connection that resumes the session, within the attempts and the
 * time `plan.backoff` allows.
 *
 * @throws `options.signal.reason` when the session closes meanwhile; the
 *   `ArcpError` of a refusal that makes resuming pointless (the only
 *   `ArcpError` it throws); a `ConnectionClosedError` naming the attempts, the
 *   time and the last failure once the attempts or the time run out.
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
  const giveUpMs = backoff.maxElapsedMs ?? Number.POSITIVE_INFINITY;
  const deadline = Date.now() + giveUpMs;
  let delay = initial;
  let attempt = 0;
  let last: unknown;
  while (attempt < attempts && Date.now() < deadline) {
    // Full jitter spreads the reconnects of many clients after an outage.
    const wait = Math.min(Math.random() * delay, deadline - Date.now());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wait);
      signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
    });
    if (signal.aborted) throw signal.reason;
    attempt++;
    // The attempt under way when the time runs out is abandoned then.
    const bounded = giveUpMs === Number.POSITIVE_INFINITY ? signal : AbortSignal.any([
      signal,
      AbortSignal.timeout(Math.min(Math.max(0, deadline - Date.now()), MAX_TIMER_MS)),
    ]);
    try {
      const state = resume();
      const welcomed = await handshake(await open(bounded), hello(state), timeoutMs, bounded);
      logger.debug(
        `arcp client: resumed ${state.session_id} after event_seq ${state.last_event_seq}`,
      );
      return welcomed;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof ArcpError && FINAL.has(error.code)) throw error;
      logger.debug(`arcp client: reconnect attempt ${attempt} failed`, error);
      if (!bounded.aborted) last = error;
      delay = Math.min(delay * 2, max);
    }
  }
  const limit = attempt >= attempts
    ? `gave up after ${attempts} attempt${attempts === 1 ? "" : "s"}`
    : `no connection within ${seconds(giveUpMs)} (${attempt} attempt${attempt === 1 ? "" : "s"})`;
  const why = last instanceof Error ? `; the last failed: ${last.message}` : "";
  throw new ConnectionClosedError(`Cannot resume session ${resume().session_id}: ${limit}${why}`, {
    cause: last,
  });
}

/** A duration for a message: seconds, or milliseconds below one second. */
function seconds(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
