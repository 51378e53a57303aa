// This module is browser compatible.
// How a server closes a WebSocket it aborts: a protocol error (a limit,
// typically) is named in the close frame, for a peer that never read the
// `session.error` queued before it.

import { ArcpError } from "../protocol/errors.ts";

/** RFC 6455 close code "policy violation": the peer broke a limit. */
const POLICY_VIOLATION = 1008;

/** A close frame's reason holds at most 123 bytes of UTF-8. */
const MAX_REASON_BYTES = 123;
const encoder = new TextEncoder();

/** Closes `socket` because of `reason`: 1008 naming an {@linkcode ArcpError}, else 1000. */
export function closeSocketFor(
  socket: { close(code?: number, reason?: string): void },
  reason: unknown,
): void {
  if (!(reason instanceof ArcpError)) return socket.close(1000);
  let text = `${reason.code}: ${reason.message}`;
  while (encoder.encode(text).length > MAX_REASON_BYTES) text = text.slice(0, -1);
  socket.close(POLICY_VIOLATION, text);
}
