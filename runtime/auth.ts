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
  /** Stable principal id; jobs, listings and subscriptions are scoped by it. */
  id: string;
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
 * `null` to refuse the session with `UNAUTHENTICATED` (spec §6.1).
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
