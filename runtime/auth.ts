// This module is browser compatible.
/**
 * Bearer authentication of `session.hello` (spec §6.1): the authenticator
 * contract and the built-in static token map.
 *
 * @module
 */

import { digestsEqual, sha256Hex } from "./_digest.ts";

/** Who a session acts for, as established by its bearer token. */
export interface Principal {
  /**
   * Stable principal id; jobs, listings and subscriptions are scoped by it.
   * At most 256 bytes in UTF-8, since stores key records by it: a longer one
   * refuses the hello with `UNAUTHENTICATED` naming the limit (and is logged
   * as an error, the authenticator being misconfigured).
   */
  id: string;
  /**
   * Claims the authenticator verified, e.g. a JWT's payload (see
   * `jwtAuthenticator` in `@arcp/arcp/runtime/jwt`). Only `id` is kept with
   * the session, so a resumed session's principal has no claims.
   */
  claims?: Record<string, unknown>;
}

/** What an authenticator sees of `session.hello.payload.auth`. */
export interface HelloAuth {
  /** The auth scheme; `bearer` is the only one spec §6.1 defines. */
  scheme: string | undefined;
  /** The token, if one was sent. */
  token: string | undefined;
}

/**
 * Decides who a `session.hello` speaks for. Resolves to the principal, or to
 * `null` to refuse the session with `UNAUTHENTICATED` (spec §6.1). To tell
 * the client why, reject with an `ArcpError` of code `UNAUTHENTICATED`: its
 * message becomes the `session.error`'s.
 */
export type Authenticator = (auth: HelloAuth) => Promise<Principal | null>;

/**
 * An {@linkcode Authenticator} backed by a fixed token → principal map.
 * Tokens are compared as SHA-256 digests in constant time, against every
 * entry, so neither a token's content nor its length leaks through timing.
 *
 * @param tokens Map of bearer token to principal id.
 * @returns The authenticator.
 * @throws {TypeError} when `tokens` is empty or holds an empty token.
 * @example
 * ```ts
 * import { staticTokens } from "@arcp/arcp/runtime";
 * import assert from "node:assert/strict";
 *
 * const authenticate = staticTokens({ "s3cret": "alice" });
 * assert.deepEqual(await authenticate({ scheme: "bearer", token: "s3cret" }), { id: "alice" });
 * assert.equal(await authenticate({ scheme: "bearer", token: "guess" }), null);
 * ```
 */
export function staticTokens(tokens: Record<string, string>): Authenticator {
  const entries = Object.entries(tokens);
  if (entries.length === 0) throw new TypeError("Cannot create staticTokens: no tokens given");
  if (entries.some(([token]) => token === "")) {
    throw new TypeError("Cannot create staticTokens: a token is empty");
  }
  const table = entries.map(([token, id]) => ({ digest: sha256Hex(token), id }));
  return ({ scheme, token }) => {
    if (token === undefined || (scheme !== undefined && scheme.toLowerCase() !== "bearer")) {
      return Promise.resolve(null);
    }
    const presented = sha256Hex(token);
    let principal: Principal | null = null;
    for (const entry of table) {
      if (digestsEqual(entry.digest, presented)) principal = { id: entry.id };
    }
    return Promise.resolve(principal);
  };
}

/** Options of {@linkcode anonymous}. */
export interface AnonymousOptions {
  /**
   * The principal id every session gets.
   * @default {"anonymous"}
   */
  principal?: string;
}

/**
 * An opt-in {@linkcode Authenticator} that lets everyone in: every
 * `session.hello`, with or without a token and whatever the token, becomes
 * the same principal. The token is never looked at.
 *
 * Use it only where the transport is already trusted (a local stdio agent, a
 * test, a demo): it waives bearer authentication (spec §6.1). Everything the
 * runtime scopes by principal is then shared by all anonymous sessions. Each
 * may list (`session.list_jobs`) and subscribe to (`job.subscribe`) every job
 * any other anonymous session submitted, since the default subscription
 * policy (spec §14) admits the same principal, and idempotency keys (spec
 * §7.2) share one namespace. Cancelling stays limited to the submitting
 * session, and resuming still needs the session's resume token (spec §6.3).
 *
 * @param options The principal id to use.
 * @returns The authenticator.
 * @throws {TypeError} when `options.principal` is empty.
 * @example Every hello becomes the same principal
 * ```ts
 * import { anonymous } from "@arcp/arcp/runtime";
 * import assert from "node:assert/strict";
 *
 * const authenticate = anonymous();
 * assert.deepEqual(await authenticate({ scheme: "bearer", token: undefined }), { id: "anonymous" });
 * assert.deepEqual(await authenticate({ scheme: "bearer", token: "anything" }), { id: "anonymous" });
 *
 * const guest = anonymous({ principal: "guest" });
 * assert.deepEqual(await guest({ scheme: undefined, token: undefined }), { id: "guest" });
 * ```
 */
export function anonymous(options: AnonymousOptions = {}): Authenticator {
  const id = options.principal ?? "anonymous";
  if (id === "") throw new TypeError("Cannot create anonymous: the principal is empty");
  return () => Promise.resolve({ id });
}
