// An upstream that mints per-job keys, as an LLM gateway's virtual-key API
// would, behind the CredentialProvisioner interface; it can be told to fail.

import type {
  CredentialHandle,
  CredentialProvisioner,
  CredentialRequest,
  IssuedCredential,
} from "../../runtime/credentials.ts";
import { credentialConstraints } from "../../runtime/credentials.ts";

export class KeyUpstream implements CredentialProvisioner {
  /** Keys the upstream would still honour, by credential id. */
  readonly live: Map<string, string> = new Map();
  /** Every request `issue` received. */
  readonly requests: CredentialRequest[] = [];
  /** Every value ever handed out, for secret greps. */
  readonly minted: string[] = [];
  /** Revocations that will fail before one succeeds. */
  failRevocations = 0;
  /** Failed revocation attempts so far. */
  revokeFailures = 0;
  /** When set, `issue` throws this. */
  issueError: Error | undefined;
  /** Revocation failures quote the key, as careless upstreams do. */
  quoteKeyInErrors = false;
  /** Resolves on each successful revocation, by credential id. */
  readonly #revoked = new Map<string, PromiseWithResolvers<void>>();

  issue(request: CredentialRequest): Promise<IssuedCredential | undefined> {
    this.requests.push(request);
    if (this.issueError !== undefined) return Promise.reject(this.issueError);
    const value = this.#mint();
    this.live.set(request.credentialId, value);
    return Promise.resolve({
      value,
      endpoint: "https://gateway.example.com/v1",
      profile: "openai",
      constraints: credentialConstraints(request),
    });
  }

  revoke({ credentialId }: CredentialHandle): Promise<void> {
    if (this.failRevocations > 0) {
      this.failRevocations--;
      this.revokeFailures++;
      const key = this.quoteKeyInErrors ? ` ${this.live.get(credentialId)}` : "";
      return Promise.reject(new Error(`gateway unavailable (503) revoking${key}`));
    }
    this.live.delete(credentialId);
    this.revoked(credentialId).resolve();
    return Promise.resolve();
  }

  rotate({ credentialId }: CredentialHandle): Promise<{ value: string }> {
    const value = this.#mint();
    this.live.set(credentialId, value);
    return Promise.resolve({ value });
  }

  /** Settles once `credentialId` has been revoked. */
  revoked(credentialId: string): PromiseWithResolvers<void> {
    let waiter = this.#revoked.get(credentialId);
    if (waiter === undefined) {
      waiter = Promise.withResolvers<void>();
      this.#revoked.set(credentialId, waiter);
    }
    return waiter;
  }

  #mint(): string {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    const value = `sk-virt-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
    this.minted.push(value);
    return value;
  }
}
