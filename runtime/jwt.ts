// This module is browser compatible.
/**
 * Bearer authentication of `session.hello` with JSON Web Tokens (spec §6.1),
 * verified with [jose](https://github.com/panva/jose): an HS256 shared secret
 * or the public keys of a JWKS endpoint.
 *
 * @example Accept JWTs issued by an identity provider
 * ```ts ignore
 * import { Runtime } from "@arcp/arcp/runtime";
 * import { jwtAuthenticator } from "@arcp/arcp/runtime/jwt";
 *
 * const runtime = new Runtime({
 *   authenticate: jwtAuthenticator({
 *     jwksUrl: "https://idp.example.com/.well-known/jwks.json",
 *     issuer: "https://idp.example.com/",
 *     audience: "arcp",
 *   }),
 * });
 * ```
 *
 * @module
 */

import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyOptions,
} from "jose";
import { ArcpError } from "../protocol/errors.ts";
import { SILENT } from "../internal/silent.ts";
import type { Authenticator, Principal } from "./auth.ts";

export type { Authenticator, HelloAuth, Principal } from "./auth.ts";

/**
 * Fetches a JWKS; the global `fetch` has this shape. Must answer HTTP 200
 * with a JSON JWK set.
 */
export type JwksFetch = (
  url: string,
  init: { headers: Headers; method: "GET"; redirect: "manual"; signal: AbortSignal },
) => Promise<Response>;

/** Options of {@linkcode jwtAuthenticator}; give exactly one of `secret` and `jwksUrl`. */
export interface JwtAuthenticatorOptions {
  /** HS256 shared secret; a string is used as its UTF-8 bytes. */
  secret?: string | Uint8Array;
  /** URL of a JSON Web Key Set whose public keys sign the tokens. */
  jwksUrl?: string | URL;
  /** Accepted `iss` values; unchecked when absent. */
  issuer?: string | string[];
  /** Accepted `aud` values; unchecked when absent. */
  audience?: string | string[];
  /**
   * Seconds of clock skew tolerated when checking `exp` and `nbf`.
   * @default {5}
   */
  clockToleranceSec?: number;
  /**
   * Accepted `alg` header values.
   * @default {["HS256"] with a secret, the RS, PS, ES and EdDSA families with a JWKS}
   */
  algorithms?: string[];
  /**
   * Whether a token must carry an `exp` claim. A token without one never
   * expires, so a leaked token would be valid forever; it is refused unless
   * this is `false`.
   * @default {true}
   */
  requireExp?: boolean;
  /**
   * The longest lifetime, in seconds, a token may claim: `exp - iat`, or
   * `exp - now` when it has no `iat`. A longer-lived token is refused. No
   * maximum when absent.
   */
  maxLifetimeSec?: number;
  /**
   * The claim holding the principal id; it must be a non-empty string.
   * @default {"sub"}
   */
  principalClaim?: string;
  /**
   * Fetches the JWKS, e.g. a proxying or caching fetch on edge runtimes.
   * @default {globalThis.fetch}
   */
  fetch?: JwksFetch;
  /** Where diagnostics go (JWKS failures as warnings); silent by default. */
  logger?: Pick<Console, "debug" | "warn" | "error">;
}

const ASYMMETRIC_ALGORITHMS: readonly string[] = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

/** Failures of fetching or reading the key set, as opposed to a bad token. */
const KEY_SOURCE_FAILURES: ReadonlySet<string> = new Set([
  errors.JWKSTimeout.code,
  errors.JWKSInvalid.code,
  errors.JOSEError.code,
]);

type KeySource = Uint8Array | ReturnType<typeof createRemoteJWKSet>;

function keySource(options: JwtAuthenticatorOptions): KeySource {
  const { secret, jwksUrl } = options;
  if ((secret === undefined) === (jwksUrl === undefined)) {
    throw new TypeError("Cannot create jwtAuthenticator: give exactly one of secret and jwksUrl");
  }
  if (secret !== undefined) {
    const bytes = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
    if (bytes.byteLength === 0) {
      throw new TypeError("Cannot create jwtAuthenticator: the secret is empty");
    }
    return bytes;
  }
  let url: URL;
  try {
    url = new URL(jwksUrl!);
  } catch {
    throw new TypeError(`Cannot create jwtAuthenticator: jwksUrl "${jwksUrl}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError(
      `Cannot create jwtAuthenticator: jwksUrl "${url}" is not an http(s) URL`,
    );
  }
  return options.fetch === undefined
    ? createRemoteJWKSet(url)
    : createRemoteJWKSet(url, { [customFetch]: options.fetch });
}

/**
 * Why a verified token's lifetime is refused, or `undefined` when it is not.
 * jose has already checked that `exp`, `iat` and `nbf` are numbers when
 * present, and that `exp` has not passed.
 */
function lifetimeRefusal(
  payload: JWTPayload,
  requireExp: boolean,
  maxLifetimeSec: number | undefined,
): string | undefined {
  const { exp, iat } = payload;
  const limit = maxLifetimeSec === undefined ? "" : `: maxLifetimeSec is ${maxLifetimeSec}`;
  if (exp === undefined) {
    return requireExp || maxLifetimeSec !== undefined
      ? `Invalid bearer token: the JWT has no "exp" claim, so it never expires${limit}`
      : undefined;
  }
  if (maxLifetimeSec === undefined) return undefined;
  // An `iat` in the future must not shorten the lifetime that remains.
  const now = Date.now() / 1000;
  const lifetime = exp - Math.min(iat ?? now, now);
  if (lifetime <= maxLifetimeSec) return undefined;
  return `Invalid bearer token: the JWT is valid for ${Math.ceil(lifetime)} s ` +
    `(${iat !== undefined && iat <= now ? "exp - iat" : "exp - now"}), longer than allowed${limit}`;
}

/**
 * An {@linkcode Authenticator} that accepts a bearer token when it is a JWT
 * with a valid signature, within its `exp`/`nbf` window (give or take the
 * clock tolerance), from an accepted issuer and audience and signed with an
 * accepted algorithm. The principal id is the `sub` claim (or
 * `principalClaim`), and the verified payload becomes the principal's
 * `claims`. Any other token resolves to `null`, which refuses the session
 * with `UNAUTHENTICATED`; so does a JWKS that cannot be fetched, which is
 * also logged as a warning.
 *
 * A token must carry `exp` (unless `requireExp` is `false`) and, with
 * `maxLifetimeSec`, claim no longer a lifetime. Such a refusal is told to
 * the client: a correctly signed token that breaks this policy rejects with
 * an `ArcpError` `UNAUTHENTICATED` whose message says why, which the
 * runtime sends as the `session.error`.
 *
 * @param options The key (`secret` or `jwksUrl`) and the claims to check.
 * @returns The authenticator.
 * @throws {TypeError} when neither or both of `secret` and `jwksUrl` are
 *   given, the secret is empty, or `jwksUrl` is not an http(s) URL.
 * @throws {RangeError} when `clockToleranceSec` is negative or not finite,
 *   or `maxLifetimeSec` is not a positive number.
 * @example Verify HS256 tokens
 * ```ts
 * import { jwtAuthenticator } from "@arcp/arcp/runtime/jwt";
 * import { SignJWT } from "jose";
 * import assert from "node:assert/strict";
 *
 * const secret = new TextEncoder().encode("a-long-random-shared-secret");
 * const authenticate = jwtAuthenticator({ secret, issuer: "https://idp.example" });
 * const token = await new SignJWT({ role: "admin" })
 *   .setProtectedHeader({ alg: "HS256" })
 *   .setSubject("alice")
 *   .setIssuer("https://idp.example")
 *   .setExpirationTime("5m")
 *   .sign(secret);
 *
 * const principal = await authenticate({ scheme: "bearer", token });
 * assert.equal(principal?.id, "alice");
 * assert.equal(principal?.claims?.role, "admin");
 * assert.equal(await authenticate({ scheme: "bearer", token: "not-a-jwt" }), null);
 * ```
 * @example Refuse tokens that live longer than an hour
 * ```ts
 * import { jwtAuthenticator } from "@arcp/arcp/runtime/jwt";
 * import { ArcpError } from "@arcp/arcp";
 * import { SignJWT } from "jose";
 * import assert from "node:assert/strict";
 *
 * const secret = new TextEncoder().encode("a-long-random-shared-secret");
 * const authenticate = jwtAuthenticator({ secret, maxLifetimeSec: 3600 });
 * const token = await new SignJWT({})
 *   .setProtectedHeader({ alg: "HS256" })
 *   .setSubject("alice")
 *   .setIssuedAt()
 *   .setExpirationTime("1d")
 *   .sign(secret);
 *
 * await assert.rejects(authenticate({ scheme: "bearer", token }), (error: unknown) => {
 *   assert.ok(error instanceof ArcpError);
 *   assert.equal(error.code, "UNAUTHENTICATED");
 *   assert.match(error.message, /maxLifetimeSec is 3600/);
 *   return true;
 * });
 * ```
 * @example Verify tokens against a JWKS endpoint
 * ```ts ignore
 * import { jwtAuthenticator } from "@arcp/arcp/runtime/jwt";
 *
 * const authenticate = jwtAuthenticator({
 *   jwksUrl: "https://idp.example.com/.well-known/jwks.json",
 *   audience: "arcp",
 *   logger: console,
 * });
 * ```
 */
export function jwtAuthenticator(options: JwtAuthenticatorOptions): Authenticator {
  const key = keySource(options);
  const remote = !(key instanceof Uint8Array);
  const logger = options.logger ?? SILENT;
  const claim = options.principalClaim ?? "sub";
  const clockTolerance = options.clockToleranceSec ?? 5;
  if (!(clockTolerance >= 0 && clockTolerance < Infinity)) {
    throw new RangeError(
      `Cannot create jwtAuthenticator: clockToleranceSec must be a non-negative number, got ${clockTolerance}`,
    );
  }
  const requireExp = options.requireExp ?? true;
  const maxLifetime = options.maxLifetimeSec;
  if (maxLifetime !== undefined && !(maxLifetime > 0 && maxLifetime < Infinity)) {
    throw new RangeError(
      `Cannot create jwtAuthenticator: maxLifetimeSec must be a positive number, got ${maxLifetime}`,
    );
  }
  const verifyOptions: JWTVerifyOptions = {
    algorithms: [...options.algorithms ?? (remote ? ASYMMETRIC_ALGORITHMS : ["HS256"])],
    clockTolerance,
    ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
    ...(options.audience === undefined ? {} : { audience: options.audience }),
  };
  return async ({ scheme, token }) => {
    if (token === undefined || token === "") return null;
    if (scheme !== undefined && scheme.toLowerCase() !== "bearer") return null;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, verifyOptions));
    } catch (error) {
      const code = error instanceof errors.JOSEError ? error.code : undefined;
      if (remote && (code === undefined || KEY_SOURCE_FAILURES.has(code))) {
        logger.warn(`arcp jwt: cannot get the JWKS to verify a token`, error);
      } else {
        logger.debug(`arcp jwt: rejected a token (${code ?? "unexpected error"})`, error);
      }
      return null;
    }
    const refusal = lifetimeRefusal(payload, requireExp, maxLifetime);
    if (refusal !== undefined) {
      logger.debug(`arcp jwt: rejected a token: ${refusal}`);
      throw new ArcpError("UNAUTHENTICATED", refusal);
    }
    const id = payload[claim];
    if (typeof id !== "string" || id === "") {
      logger.debug(`arcp jwt: rejected a token without a "${claim}" claim`);
      return null;
    }
    const principal: Principal = { id, claims: { ...payload } };
    return principal;
  };
}
