/**
 * Provisioned credentials (spec 1.1 §9.8): a runtime with a `provisioner`
 * mints a short-lived key per job at an upstream, here a tiny key gateway on
 * 127.0.0.1 standing in for an LLM gateway's virtual-key API. The key
 * reaches the submitter in `job.accepted` and the agent in
 * `ctx.credentials`; the agent uses it, rotates it (the old value stops
 * working, a `credential_rotated` status event carries the new one), and
 * the runtime revokes it when the job ends, so nothing outlives the job.
 * Runtime and client share this process over the memory transport.
 *
 * Run with `deno run -A examples/credentials.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { isEventKind } from "../protocol/mod.ts";
import {
  type AgentContext,
  credentialConstraints,
  type CredentialProvisioner,
  Runtime,
  staticTokens,
} from "../runtime.ts";
import { memoryTransportPair } from "../transports/memory.ts";

// The key gateway: PUT /keys/:id mints a key, POST /keys/:id/rotate replaces
// it, DELETE /keys/:id revokes it; GET /v1/whoami answers only live keys.
const live = new Map<string, string>();
/** Settles when the gateway revokes the key of a credential id. */
const revocations = new Map<string, PromiseWithResolvers<void>>();
function revocation(id: string): PromiseWithResolvers<void> {
  let waiter = revocations.get(id);
  if (waiter === undefined) revocations.set(id, waiter = Promise.withResolvers<void>());
  return waiter;
}
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `sk-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
const gateway = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
  const { pathname } = new URL(request.url);
  const [, area, id, action] = pathname.split("/");
  if (area === "keys" && id !== undefined) {
    if (request.method === "DELETE") {
      live.delete(id);
      revocation(id).resolve();
      return new Response(null, { status: 204 });
    }
    if (request.method === "PUT" || (request.method === "POST" && action === "rotate")) {
      const key = newKey();
      live.set(id, key);
      return Response.json({ key });
    }
  }
  if (pathname === "/v1/whoami") {
    const key = request.headers.get("authorization")?.replace(/^Bearer /, "");
    const owner = [...live].find(([, value]) => value === key)?.[0];
    return owner === undefined
      ? new Response("unknown or revoked key", { status: 401 })
      : Response.json({ credential_id: owner });
  }
  return new Response("not found", { status: 404 });
});
const gatewayUrl = `http://127.0.0.1:${gateway.addr.port}`;

/** The runtime's side of the gateway. */
const provisioner: CredentialProvisioner = {
  async issue(request) {
    const response = await fetch(`${gatewayUrl}/keys/${request.credentialId}`, { method: "PUT" });
    const { key } = await response.json() as { key: string };
    // What the gateway enforces is echoed to the client; here, the lease's limits.
    return {
      value: key,
      endpoint: `${gatewayUrl}/v1`,
      constraints: credentialConstraints(request),
    };
  },
  async revoke({ credentialId }) {
    const response = await fetch(`${gatewayUrl}/keys/${credentialId}`, { method: "DELETE" });
    if (!response.ok) throw new Error(`revoke failed: HTTP ${response.status}`);
  },
  async rotate({ credentialId }) {
    const response = await fetch(`${gatewayUrl}/keys/${credentialId}/rotate`, { method: "POST" });
    const { key } = await response.json() as { key: string };
    return { value: key };
  },
};

/** Secrets are never printed whole. */
const masked = (value: string) => `${value.slice(0, 5)}…${value.slice(-4)}`;

type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** Calls the gateway with a key; returns the HTTP status. */
async function whoami(call: Fetch, endpoint: string, key: string): Promise<number> {
  const response = await call(`${endpoint}/whoami`, {
    headers: { authorization: `Bearer ${key}` },
  });
  await response.body?.cancel();
  return response.status;
}

/** Uses its credential, rotates it, and checks that the old value is dead. */
async function caller(_input: unknown, ctx: AgentContext): Promise<Record<string, number>> {
  const [credential] = ctx.credentials;
  const { endpoint, value } = credential!;
  // ctx.fetch: the gateway is reached through the lease, like any URL.
  const call: Fetch = (url, init) => ctx.fetch(url, init);
  const before = await whoami(call, endpoint, value);
  const rotated = await ctx.rotateCredential(credential!.id);
  return {
    before_rotation: before,
    old_value_after_rotation: await whoami(call, endpoint, value),
    new_value_after_rotation: await whoami(call, endpoint, rotated.value),
  };
}

const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "alice" }),
  agents: [{ name: "caller", handler: caller }],
  provisioner,
});
const [clientSide, runtimeSide] = memoryTransportPair();
runtime.accept(runtimeSide);
const client = await connect(clientSide, { token: "s3cret" });
console.log(
  `runtime offers provisioned_credentials: ${client.features.has("provisioned_credentials")}`,
);

const job = await client.submit("caller", null, {
  leaseRequest: { "net.fetch": [`${gatewayUrl}/v1/**`], "cost.budget": ["USD:2.00"] },
});
const [credential] = job.credentials;
console.log(`job.accepted carries credential ${credential!.id}:`);
console.log(`  ${credential!.scheme} ${masked(credential!.value)} for ${credential!.endpoint}`);
console.log(`  constraints ${JSON.stringify(credential!.constraints)}`);
let current = credential!.value;
for await (const event of job) {
  if (isEventKind(event.payload, "status") && event.payload.body.phase === "credential_rotated") {
    current = String(event.payload.body.value);
    console.log(`status credential_rotated: new value ${masked(current)}`);
  }
}
console.log(`agent saw HTTP statuses ${JSON.stringify((await job.result).result)}`);
console.log(`job ended; credentials left on the handle: ${job.credentials.length}`);
// The runtime revokes in the background once the job has ended.
await revocation(credential!.id).promise;
const status = await whoami(fetch, credential!.endpoint, current);
console.log(`revoked at the gateway: the last value now gets HTTP ${status}`);

await client.close();
await runtime.close();
await gateway.shutdown();
