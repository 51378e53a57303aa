import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT, UnsecuredJWT } from "jose";
import { connect } from "../../client.ts";
import { ArcpError } from "../../protocol/errors.ts";
import { Runtime } from "../../runtime.ts";
import { jwtAuthenticator, type JwtAuthenticatorOptions } from "../../runtime/jwt.ts";
import { memoryTransportPair } from "../../transports/memory.ts";
import { bounded, serveHttp } from "../_helpers.ts";

const SECRET = new TextEncoder().encode("a-shared-secret-of-at-least-32-bytes!");
const ISSUER = "https://idp.example";
const AUDIENCE = "arcp";

function now(): number {
  return Math.floor(Date.now() / 1000);
}

interface MintOptions {
  key?: Parameters<SignJWT["sign"]>[0];
  alg?: string;
  kid?: string;
  sub?: string | null;
  iss?: string;
  aud?: string;
  exp?: number;
  nbf?: number;
}

/** Signs a token that the default test authenticator accepts, unless told otherwise. */
async function mint(claims: JWTPayload = {}, options: MintOptions = {}): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({
      alg: options.alg ?? "HS256",
      ...(options.kid === undefined ? {} : { kid: options.kid }),
    })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? now() + 300);
  if (options.sub !== null) jwt.setSubject(options.sub ?? "alice");
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
  return await jwt.sign(options.key ?? SECRET);
}

function hs256(options: Partial<JwtAuthenticatorOptions> = {}) {
  return jwtAuthenticator({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, ...options });
}

function bearer(token: string | undefined) {
  return { scheme: "bearer", token };
}

/** A logger that records what it is told. */
function recordingLogger() {
  const lines = { debug: [] as unknown[][], warn: [] as unknown[][], error: [] as unknown[][] };
  return {
    lines,
    logger: {
      debug: (...args: unknown[]) => void lines.debug.push(args),
      warn: (...args: unknown[]) => void lines.warn.push(args),
      error: (...args: unknown[]) => void lines.error.push(args),
    },
  };
}

Deno.test("jwtAuthenticator() accepts a valid HS256 token as the principal in sub", async () => {
  const authenticate = hs256();
  const principal = await authenticate(bearer(await mint({ role: "admin" })));
  assert.equal(principal?.id, "alice");
  assert.equal(principal?.claims?.role, "admin");
  assert.equal(principal?.claims?.sub, "alice");
  assert.equal(principal?.claims?.iss, ISSUER);
  assert.equal(principal?.claims?.aud, AUDIENCE);
});

Deno.test("jwtAuthenticator() accepts a string secret and an absent scheme", async () => {
  const authenticate = jwtAuthenticator({ secret: new TextDecoder().decode(SECRET) });
  const token = await mint();
  assert.equal((await authenticate({ scheme: undefined, token }))?.id, "alice");
  assert.equal((await authenticate({ scheme: "Bearer", token }))?.id, "alice");
});

Deno.test("jwtAuthenticator() refuses a missing token or a non-bearer scheme", async () => {
  const authenticate = hs256();
  assert.equal(await authenticate(bearer(undefined)), null);
  assert.equal(await authenticate(bearer("")), null);
  assert.equal(await authenticate({ scheme: "basic", token: await mint() }), null);
});

Deno.test("jwtAuthenticator() refuses a token expired beyond the clock tolerance", async () => {
  const authenticate = hs256();
  assert.equal(await authenticate(bearer(await mint({}, { exp: now() - 60 }))), null);
});

Deno.test("jwtAuthenticator() accepts a token expired within the clock tolerance", async () => {
  const token = await mint({}, { exp: now() - 2 });
  assert.equal((await hs256()(bearer(token)))?.id, "alice");
  assert.equal((await hs256({ clockToleranceSec: 30 })(bearer(token)))?.id, "alice");
  assert.equal(await hs256({ clockToleranceSec: 0 })(bearer(token)), null);
});

Deno.test("jwtAuthenticator() refuses a token whose nbf is in the future", async () => {
  const authenticate = hs256();
  assert.equal(await authenticate(bearer(await mint({}, { nbf: now() + 60 }))), null);
  assert.equal((await authenticate(bearer(await mint({}, { nbf: now() + 2 }))))?.id, "alice");
});

Deno.test("jwtAuthenticator() refuses a token signed with another secret", async () => {
  const other = new TextEncoder().encode("another-shared-secret-of-32-bytes-or-more");
  assert.equal(await hs256()(bearer(await mint({}, { key: other }))), null);
});

Deno.test("jwtAuthenticator() refuses a wrong issuer or audience", async () => {
  const authenticate = hs256();
  assert.equal(await authenticate(bearer(await mint({}, { iss: "https://evil.example" }))), null);
  assert.equal(await authenticate(bearer(await mint({}, { aud: "someone-else" }))), null);
});

Deno.test("jwtAuthenticator() accepts any of several issuers and audiences", async () => {
  const authenticate = hs256({ issuer: ["https://a.example", ISSUER], audience: ["x", AUDIENCE] });
  assert.equal((await authenticate(bearer(await mint())))?.id, "alice");
});

Deno.test("jwtAuthenticator() checks neither issuer nor audience when none is configured", async () => {
  const authenticate = jwtAuthenticator({ secret: SECRET });
  const token = await mint({}, { iss: "https://anyone.example", aud: "anything" });
  assert.equal((await authenticate(bearer(token)))?.id, "alice");
});

Deno.test("jwtAuthenticator() refuses an unsecured token (alg none)", async () => {
  const token = new UnsecuredJWT({ sub: "alice" })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime("5m")
    .encode();
  assert.equal(await hs256()(bearer(token)), null);
  assert.equal(await hs256({ algorithms: ["none"] })(bearer(token)), null);
});

Deno.test("jwtAuthenticator() refuses an algorithm it was not told to accept", async () => {
  const token = await mint({}, { alg: "HS512" });
  assert.equal(await hs256()(bearer(token)), null);
  assert.equal((await hs256({ algorithms: ["HS512"] })(bearer(token)))?.id, "alice");
  assert.equal(await hs256({ algorithms: ["HS384"] })(bearer(await mint())), null);
});

Deno.test("jwtAuthenticator() refuses a token without the principal claim", async () => {
  const authenticate = hs256();
  assert.equal(await authenticate(bearer(await mint({}, { sub: null }))), null);
  assert.equal(await authenticate(bearer(await mint({}, { sub: "" }))), null);
});

Deno.test("jwtAuthenticator() takes the principal from principalClaim", async () => {
  const authenticate = hs256({ principalClaim: "email" });
  const token = await mint({ email: "alice@example.com" });
  assert.equal((await authenticate(bearer(token)))?.id, "alice@example.com");
  assert.equal(await authenticate(bearer(await mint())), null);
  assert.equal(await authenticate(bearer(await mint({ email: 42 }))), null);
});

Deno.test("jwtAuthenticator() resolves malformed tokens to null without throwing", async () => {
  const { lines, logger } = recordingLogger();
  const authenticate = hs256({ logger });
  const valid = await mint();
  const [header, payload] = valid.split(".");
  const malformed = [
    "x",
    "a.b.c",
    "...",
    "a.b",
    "a.b.c.d.e",
    `${header}.${payload}`,
    `${header}.${payload}.`,
    `${header}.!!!.sig`,
    `${valid}x`,
    `${valid}.extra`,
    "e30.e30.",
    "😀.😀.😀",
    "x".repeat(100_000),
  ];
  for (const token of malformed) {
    assert.equal(await authenticate(bearer(token)), null, `token ${token.slice(0, 40)}`);
  }
  assert.equal(lines.warn.length, 0);
});

Deno.test("jwtAuthenticator() needs exactly one of secret and jwksUrl, and a sane tolerance", () => {
  assert.throws(() => jwtAuthenticator({}), TypeError);
  assert.throws(
    () => jwtAuthenticator({ secret: SECRET, jwksUrl: "https://idp.example/jwks" }),
    TypeError,
  );
  assert.throws(() => jwtAuthenticator({ secret: "" }), TypeError);
  assert.throws(() => jwtAuthenticator({ secret: new Uint8Array() }), TypeError);
  assert.throws(() => jwtAuthenticator({ jwksUrl: "not a url" }), TypeError);
  assert.throws(() => jwtAuthenticator({ jwksUrl: "ftp://idp.example/jwks" }), TypeError);
  assert.throws(() => jwtAuthenticator({ secret: SECRET, clockToleranceSec: -1 }), RangeError);
  assert.throws(() => jwtAuthenticator({ secret: SECRET, clockToleranceSec: NaN }), RangeError);
});

/** Serves `body` as JSON on a loopback port; tests `await using` it. */
function serveJwks(body: () => { status: number; json: unknown }) {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    requests++;
    const { status, json } = body();
    return Response.json(json, { status });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/jwks.json`,
    get requests() {
      return requests;
    },
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
    },
  };
}

async function keyPair(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...await exportJWK(publicKey), kid, alg: "ES256", use: "sig" };
  return { privateKey, jwk };
}

Deno.test("jwtAuthenticator() verifies a token against the keys of a JWKS URL", async () => {
  const { privateKey, jwk } = await keyPair("k1");
  await using jwks = serveJwks(() => ({ status: 200, json: { keys: [jwk] } }));
  const authenticate = jwtAuthenticator({ jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE });
  const token = await mint({ scope: "jobs" }, { key: privateKey, alg: "ES256", kid: "k1" });
  const principal = await authenticate(bearer(token));
  assert.equal(principal?.id, "alice");
  assert.equal(principal?.claims?.scope, "jobs");
  // The key set is cached: a second token needs no request.
  assert.equal((await authenticate(bearer(token)))?.id, "alice");
  assert.equal(jwks.requests, 1);
});

Deno.test("jwtAuthenticator() refuses a token signed by a key outside the JWKS", async () => {
  const { jwk } = await keyPair("k1");
  const stranger = await keyPair("k2");
  await using jwks = serveJwks(() => ({ status: 200, json: { keys: [jwk] } }));
  const { lines, logger } = recordingLogger();
  const authenticate = jwtAuthenticator({ jwksUrl: new URL(jwks.url), logger });
  const unknownKid = await mint({}, { key: stranger.privateKey, alg: "ES256", kid: "k2" });
  assert.equal(await authenticate(bearer(unknownKid)), null);
  const sameKid = await mint({}, { key: stranger.privateKey, alg: "ES256", kid: "k1" });
  assert.equal(await authenticate(bearer(sameKid)), null);
  const noKid = await mint({}, { key: stranger.privateKey, alg: "ES256" });
  assert.equal(await authenticate(bearer(noKid)), null);
  assert.equal(lines.warn.length, 0);
});

Deno.test("jwtAuthenticator() refuses HS256 tokens when verifying against a JWKS", async () => {
  const { jwk } = await keyPair("k1");
  await using jwks = serveJwks(() => ({ status: 200, json: { keys: [jwk] } }));
  const authenticate = jwtAuthenticator({ jwksUrl: jwks.url });
  assert.equal(await authenticate(bearer(await mint())), null);
});

Deno.test("jwtAuthenticator() resolves null and warns when the JWKS server is down", async () => {
  const { privateKey } = await keyPair("k1");
  let url: string;
  {
    await using jwks = serveJwks(() => ({ status: 200, json: { keys: [] } }));
    url = jwks.url;
  }
  const { lines, logger } = recordingLogger();
  const authenticate = jwtAuthenticator({ jwksUrl: url, logger });
  const token = await mint({}, { key: privateKey, alg: "ES256", kid: "k1" });
  assert.equal(await authenticate(bearer(token)), null);
  assert.equal(lines.warn.length, 1);
});

Deno.test("jwtAuthenticator() resolves null and warns when the JWKS answers an error", async () => {
  const { privateKey } = await keyPair("k1");
  await using jwks = serveJwks(() => ({ status: 500, json: { error: "down" } }));
  const { lines, logger } = recordingLogger();
  const authenticate = jwtAuthenticator({ jwksUrl: jwks.url, logger });
  const token = await mint({}, { key: privateKey, alg: "ES256", kid: "k1" });
  assert.equal(await authenticate(bearer(token)), null);
  assert.equal(lines.warn.length, 1);
});

Deno.test("jwtAuthenticator() fetches the JWKS with the injected fetch", async () => {
  const { privateKey, jwk } = await keyPair("k1");
  const fetched: string[] = [];
  const authenticate = jwtAuthenticator({
    jwksUrl: "https://idp.invalid/jwks.json",
    fetch: (url) => {
      fetched.push(url);
      return Promise.resolve(Response.json({ keys: [jwk] }));
    },
  });
  const token = await mint({}, { key: privateKey, alg: "ES256", kid: "k1" });
  assert.equal((await authenticate(bearer(token)))?.id, "alice");
  assert.deepEqual(fetched, ["https://idp.invalid/jwks.json"]);
});

Deno.test("jwtAuthenticator() resolves null and warns when the injected fetch rejects", async () => {
  const { privateKey } = await keyPair("k1");
  const { lines, logger } = recordingLogger();
  const authenticate = jwtAuthenticator({
    jwksUrl: "https://idp.invalid/jwks.json",
    fetch: () => Promise.reject(new TypeError("network down")),
    logger,
  });
  const token = await mint({}, { key: privateKey, alg: "ES256", kid: "k1" });
  assert.equal(await authenticate(bearer(token)), null);
  assert.equal(lines.warn.length, 1);
});

Deno.test(
  "a runtime with jwtAuthenticator() serves a client with a valid JWT as its subject",
  bounded(async () => {
    await using runtime = new Runtime({
      authenticate: hs256(),
      agents: [{ name: "whoami", handler: (_input, ctx) => Promise.resolve(ctx.principal.id) }],
    });
    const [clientSide, runtimeSide] = memoryTransportPair();
    runtime.accept(runtimeSide);
    await using client = await connect(clientSide, { token: await mint() });
    const job = await client.submit("whoami");
    assert.equal((await job.result).result, "alice");
  }),
);

Deno.test(
  "connect() rejects with UNAUTHENTICATED when the JWT is invalid",
  bounded(async () => {
    await using runtime = new Runtime({ authenticate: hs256() });
    for (const token of [await mint({}, { exp: now() - 60 }), "not-a-jwt"]) {
      const [clientSide, runtimeSide] = memoryTransportPair();
      const served = runtime.accept(runtimeSide);
      await assert.rejects(connect(clientSide, { token }), (error: unknown) => {
        assert.ok(error instanceof ArcpError);
        assert.equal(error.code, "UNAUTHENTICATED");
        return true;
      });
      await served;
    }
  }),
);

/** A runtime with `authenticate` served over WebSocket on 127.0.0.1; tests `await using` it. */
async function serveOverWebSocket(authenticate: ReturnType<typeof hs256>) {
  const runtime = new Runtime({
    authenticate,
    agents: [{ name: "whoami", handler: (_input, ctx) => Promise.resolve(ctx.principal.id) }],
    upgradeWebSocket: Deno.upgradeWebSocket,
  });
  const server = await serveHttp(runtime.fetch);
  const { port } = server;
  return {
    url: `ws://127.0.0.1:${port}/arcp`,
    async [Symbol.asyncDispose]() {
      await runtime.close();
      await server[Symbol.asyncDispose]();
    },
  };
}

/** Asserts that `connect()` over `url` with `token` fails with UNAUTHENTICATED matching `message`. */
async function refused(url: string, token: string, message: RegExp): Promise<void> {
  await assert.rejects(connect(url, { token }), (error: unknown) => {
    assert.ok(error instanceof ArcpError, String(error));
    assert.equal(error.code, "UNAUTHENTICATED");
    assert.match(error.message, message);
    return true;
  });
}

/** Signs a token with exactly `claims`: no exp or iat unless given. */
function signed(claims: JWTPayload): Promise<string> {
  return new SignJWT({ sub: "alice", iss: ISSUER, aud: AUDIENCE, ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .sign(SECRET);
}

Deno.test(
  "a JWT without exp is refused over WebSocket with UNAUTHENTICATED saying so, unless requireExp is false",
  bounded(async () => {
    const token = await signed({ iat: now() });
    {
      await using served = await serveOverWebSocket(hs256());
      await refused(served.url, token, /has no "exp" claim, so it never expires/);
      // A token with exp is still welcome on the same runtime.
      await using client = await connect(served.url, { token: await mint() });
      assert.equal((await (await client.submit("whoami")).result).result, "alice");
    }
    {
      await using served = await serveOverWebSocket(hs256({ requireExp: false }));
      await using client = await connect(served.url, { token });
      assert.equal((await (await client.submit("whoami")).result).result, "alice");
    }
  }),
);

Deno.test(
  "a JWT living longer than maxLifetimeSec is refused over WebSocket, naming the limit and its value",
  bounded(async () => {
    await using served = await serveOverWebSocket(hs256({ maxLifetimeSec: 3600 }));
    const issued = now();
    await refused(
      served.url,
      await signed({ iat: issued, exp: issued + 7200 }),
      /valid for 7200 s \(exp - iat\), longer than allowed: maxLifetimeSec is 3600/,
    );
    // Without iat, the lifetime is what remains: exp - now.
    await refused(
      served.url,
      await signed({ exp: issued + 7200 }),
      /\(exp - now\), longer than allowed: maxLifetimeSec is 3600/,
    );
    // An iat in the future does not shorten a long remaining lifetime.
    await refused(
      served.url,
      await signed({ iat: issued + 7000, exp: issued + 7200 }),
      /\(exp - now\), longer than allowed: maxLifetimeSec is 3600/,
    );
    for (const claims of [{ iat: issued, exp: issued + 3600 }, { exp: issued + 3000 }]) {
      await using client = await connect(served.url, { token: await signed(claims) });
      assert.equal((await (await client.submit("whoami")).result).result, "alice");
    }
  }),
);

Deno.test(
  "with requireExp false and maxLifetimeSec, a JWT without exp is refused as never expiring",
  bounded(async () => {
    await using served = await serveOverWebSocket(
      hs256({ requireExp: false, maxLifetimeSec: 60 }),
    );
    await refused(
      served.url,
      await signed({ iat: now() }),
      /never expires: maxLifetimeSec is 60/,
    );
  }),
);

Deno.test("jwtAuthenticator() refuses a maxLifetimeSec that is not a positive number", () => {
  for (const maxLifetimeSec of [0, -1, NaN, Infinity]) {
    assert.throws(() => jwtAuthenticator({ secret: SECRET, maxLifetimeSec }), RangeError);
  }
});
