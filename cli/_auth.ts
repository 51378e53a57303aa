// How `serve` authenticates sessions: static bearer tokens, JSON Web Tokens,
// or both (static tokens tried first).

import { type Authenticator, staticTokens } from "../runtime/auth.ts";
import { jwtAuthenticator, type JwtAuthenticatorOptions } from "../runtime/jwt.ts";
import { parseNumber } from "./_client.ts";

/** The JWT flags of `serve`, for `parseArgs`. */
export const JWT_OPTIONS = {
  "jwt-secret": { type: "string" },
  "jwt-jwks": { type: "string" },
  "jwt-issuer": { type: "string", multiple: true },
  "jwt-audience": { type: "string", multiple: true },
  "jwt-clock-tolerance": { type: "string" },
  "jwt-principal-claim": { type: "string" },
  "jwt-allow-no-exp": { type: "boolean" },
  "jwt-max-lifetime": { type: "string" },
} as const;

/** How the usage text explains {@linkcode JWT_OPTIONS}. */
export const JWT_USAGE =
  `  --jwt-secret SECRET      also accept HS256 JWTs signed with SECRET; the principal
                           is the "sub" claim
  --jwt-jwks URL           also accept JWTs signed by a key of the JWKS at URL
  --jwt-issuer ISS         accepted "iss" (repeatable; unchecked without)
  --jwt-audience AUD       accepted "aud" (repeatable; unchecked without)
  --jwt-clock-tolerance SEC
                           clock skew tolerated on "exp" and "nbf" (default 5)
  --jwt-principal-claim CLAIM
                           the claim naming the principal (default sub)
  --jwt-allow-no-exp       accept JWTs without "exp" (refused by default: they
                           never expire)
  --jwt-max-lifetime SEC   refuse JWTs valid for longer than SEC seconds (exp - iat,
                           or exp - now without iat); no maximum by default`;

interface JwtValues {
  "jwt-secret"?: string | undefined;
  "jwt-jwks"?: string | undefined;
  "jwt-issuer"?: string[] | undefined;
  "jwt-audience"?: string[] | undefined;
  "jwt-clock-tolerance"?: string | undefined;
  "jwt-principal-claim"?: string | undefined;
  "jwt-allow-no-exp"?: boolean | undefined;
  "jwt-max-lifetime"?: string | undefined;
}

type Logger = Pick<Console, "debug" | "warn" | "error">;

/** Whether the JWT flags ask for JWTs to be accepted. */
export function wantsJwt(values: JwtValues): boolean {
  return values["jwt-secret"] !== undefined || values["jwt-jwks"] !== undefined;
}

function jwtOptions(values: JwtValues, logger: Logger): JwtAuthenticatorOptions {
  const options: JwtAuthenticatorOptions = { logger };
  if (values["jwt-secret"] !== undefined) options.secret = values["jwt-secret"];
  if (values["jwt-jwks"] !== undefined) options.jwksUrl = values["jwt-jwks"];
  if (values["jwt-issuer"] !== undefined) options.issuer = values["jwt-issuer"];
  if (values["jwt-audience"] !== undefined) options.audience = values["jwt-audience"];
  if (values["jwt-principal-claim"] !== undefined) {
    options.principalClaim = values["jwt-principal-claim"];
  }
  const tolerance = values["jwt-clock-tolerance"];
  if (tolerance !== undefined) {
    options.clockToleranceSec = parseNumber("jwt-clock-tolerance", tolerance, { min: 0 });
  }
  if (values["jwt-allow-no-exp"] === true) options.requireExp = false;
  const lifetime = values["jwt-max-lifetime"];
  if (lifetime !== undefined) {
    options.maxLifetimeSec = parseNumber("jwt-max-lifetime", lifetime, { min: 0, exclusive: true });
  }
  return options;
}

/**
 * The authenticator of `tokens` (token → principal) and the JWT flags: a
 * token is looked up among the static tokens first, then verified as a JWT.
 * JWKS failures and rejected JWTs are told to `logger`.
 *
 * @throws {TypeError} when there are neither tokens nor a JWT key, for JWT
 *   flags without `--jwt-secret` or `--jwt-jwks`, both of them, or a bad value.
 */
export function authenticator(
  tokens: Record<string, string>,
  values: JwtValues,
  logger: Logger,
): Authenticator {
  const jwtOnly = [
    "jwt-issuer",
    "jwt-audience",
    "jwt-clock-tolerance",
    "jwt-principal-claim",
    "jwt-allow-no-exp",
    "jwt-max-lifetime",
  ].filter((flag) => values[flag as keyof JwtValues] !== undefined);
  if (!wantsJwt(values) && jwtOnly.length > 0) {
    throw new TypeError(`--${jwtOnly[0]} needs --jwt-secret or --jwt-jwks`);
  }
  const byToken = Object.keys(tokens).length === 0 ? undefined : staticTokens(tokens);
  const byJwt = wantsJwt(values) ? jwtAuthenticator(jwtOptions(values, logger)) : undefined;
  if (byToken !== undefined && byJwt !== undefined) {
    return async (auth) => await byToken(auth) ?? await byJwt(auth);
  }
  const only = byToken ?? byJwt;
  if (only === undefined) throw new TypeError("Give --token, --jwt-secret or --jwt-jwks");
  return only;
}
