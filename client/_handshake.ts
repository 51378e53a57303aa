// This module is browser compatible.
// Sending `session.hello` and waiting for `session.welcome` (spec §6.2, §6.3),
// for a first connection and for every reconnect.

import { decodeMessage } from "../protocol/envelope.ts";
import { ArcpError, ConnectionClosedError } from "../protocol/errors.ts";
import type { Envelope, SessionHelloPayload, SessionWelcomePayload } from "../protocol/messages.ts";
import { type Frame, MalformedFrame, type Transport } from "../transports/types.ts";

/** One open connection: its transport's writer and reader. */
export interface Link {
  writer: WritableStreamDefaultWriter<Frame>;
  reader: ReadableStreamDefaultReader<Frame | MalformedFrame>;
}

/** A welcomed connection. */
export interface Welcomed {
  link: Link;
  welcome: Envelope<"session.welcome", SessionWelcomePayload>;
}

/**
 * Sends `hello` and resolves with the welcome.
 *
 * @throws {ArcpError} the code of a `session.error` answer.
 * @throws {ConnectionClosedError} when the transport closes or `timeoutMs` passes.
 */
export async function handshake(
  transport: Transport,
  hello: Envelope<"session.hello", SessionHelloPayload>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Welcomed> {
  const link: Link = {
    writer: transport.writable.getWriter(),
    reader: transport.readable.getReader(),
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const abort = Promise.withResolvers<never>();
  const onAbort = () => abort.reject(signal!.reason);
  const exchange = async () => {
    await link.writer.write(hello);
    for (;;) {
      const { value, done } = await link.reader.read();
      if (done) throw new ConnectionClosedError("Transport closed before session.welcome");
      if (value instanceof MalformedFrame) continue;
      const message = decodeMessage(value);
      if (message?.type === "session.welcome") return { link, welcome: message };
      if (message?.type === "session.error") throw ArcpError.fromPayload(message.payload);
    }
  };
  try {
    signal?.throwIfAborted();
    signal?.addEventListener("abort", onAbort, { once: true });
    timer = setTimeout(
      () => abort.reject(new ConnectionClosedError(`No session.welcome within ${timeoutMs} ms`)),
      timeoutMs,
    );
    return await Promise.race([exchange(), abort.promise]);
  } catch (error) {
    // The handshake's own failure is thrown below; the link is dropped, and
    // a failure to drop it has nothing to add.
    link.writer.abort(error).catch(() => {});
    link.reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}
