// This module is browser compatible.
// Local errors stay local: an exception that is not an ArcpError (a store,
// an authenticator or a registry throwing, a bug) reaches the client as
// INTERNAL_ERROR with a generic message and an id; the runtime's logger gets
// the id with the cause, stack included, so an operator can match the two.
// An ArcpError the runtime raised on purpose keeps its message.

import { ArcpError } from "../protocol/errors.ts";
import { newId } from "../protocol/ids.ts";

/**
 * What the wire may carry of `error`: an `ArcpError` as is; anything else
 * as `INTERNAL_ERROR` "Internal error (err_…)" with `details.error_id`,
 * logged with its cause.
 *
 * @param error Anything that was thrown.
 * @param logger Where the cause goes.
 * @param context What failed, for the log line, e.g. "failed to handle a frame".
 */
export function wireError(
  error: unknown,
  logger: Pick<Console, "error">,
  context: string,
): ArcpError {
  if (error instanceof ArcpError) return error;
  const errorId = newId("err");
  logger.error(`arcp runtime: ${context} (${errorId})`, error);
  return new ArcpError("INTERNAL_ERROR", `Internal error (${errorId})`, {
    details: { error_id: errorId },
    cause: error,
  });
}
