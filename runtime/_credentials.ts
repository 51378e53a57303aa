// This module is browser compatible.
// The runtime's side of provisioned credentials (spec 1.1 §9.8, §14): every
// credential id is in the store's ledger before the upstream is asked for it
// and leaves the ledger only once revoked, so no crash, restart or failing
// upstream leaves spending authority live without a record to retry from.

import { ArcpError } from "../protocol/errors.ts";
import { newId } from "../protocol/ids.ts";
import { type Clock, type ClockTimer, isoAt } from "../protocol/clock.ts";
import type { Credential } from "../protocol/messages.ts";
import type { CredentialRecord, RuntimeStore } from "../store/types.ts";
import type { RuntimeJob } from "./_job.ts";
import type { RuntimeSession } from "./_session.ts";
import type {
  CredentialHandle,
  CredentialProvisioner,
  CredentialRequest,
  RevocationRetry,
} from "./credentials.ts";

/** An attempt at the upstream that takes longer than this counts as failed. */
const ATTEMPT_TIMEOUT_MS = 10_000;

/** Replaces every known secret in `text`: upstream errors may quote the value. */
function redact(text: string, secrets: readonly string[]): string {
  let redacted = text;
  for (const secret of secrets) {
    if (secret.length > 0) redacted = redacted.replaceAll(secret, "[redacted]");
  }
  return redacted;
}

function within<T>(promise: Promise<T>, ms: number, what: string, clock: Clock): Promise<T> {
  let timer: ClockTimer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clock.clearTimeout(timer));
}

function checkIssued(value: unknown): asserts value is { value: string; endpoint: string } {
  const issued = value as { value?: unknown; endpoint?: unknown };
  if (typeof issued.value !== "string" || issued.value.length === 0) {
    throw new TypeError("the provisioner returned a credential without a value");
  }
  let protocol = "";
  try {
    protocol = new URL(String(issued.endpoint)).protocol;
  } catch {
    // Not a URL: refused below.
  }
  if (typeof issued.endpoint !== "string" || (protocol !== "https:" && protocol !== "http:")) {
    throw new TypeError("the provisioner returned a credential without an http(s) endpoint");
  }
}

/**
 * A live job's credentials, for `session` to see: only its submitter's
 * sessions that negotiated `provisioned_credentials` (spec 1.1 §9.8, §14).
 */
export function visibleCredentials(
  session: RuntimeSession,
  job: RuntimeJob | undefined,
): readonly Credential[] {
  if (job === undefined || job.terminal || job.principal.id !== session.principal.id) return [];
  if (!session.record.features?.includes("provisioned_credentials")) return [];
  return job.credentials;
}

/** Options of {@linkcode CredentialLedger}. */
export interface CredentialLedgerOptions {
  provisioner: CredentialProvisioner;
  store: RuntimeStore;
  logger: Pick<Console, "error" | "warn">;
  retry: RevocationRetry;
  /** Told of a credential whose revocation ran out of attempts. */
  onUnrevocable: (record: CredentialRecord) => void;
  /** This runtime instance, named on the credentials it answers for. */
  instanceId: string;
  /** The runtime's clock: timestamps, attempt timeouts and retry pauses. */
  clock: Clock;
}

/** Issues, rotates and (durably) revokes the credentials of this runtime's jobs. */
export class CredentialLedger {
  readonly #options: CredentialLedgerOptions;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxAttempts: number;
  /** Revocations under way, by credential id. */
  readonly #revoking = new Map<string, Promise<void>>();
  /** When each live credential was issued, by id, for its ledger entry at release. */
  readonly #issuedAt = new Map<string, string>();
  /** Wakes retry sleeps early when the runtime closes. */
  readonly #closing = Promise.withResolvers<void>();
  #closed = false;

  constructor(options: CredentialLedgerOptions) {
    this.#options = options;
    this.#initialDelayMs = options.retry.initialDelayMs ?? 500;
    this.#maxDelayMs = options.retry.maxDelayMs ?? 60_000;
    this.#maxAttempts = options.retry.maxAttempts ?? 10;
  }

  /**
   * Records a new credential id, then asks the upstream for the credential.
   *
   * @returns The wire credential, or `undefined` when the job needs none.
   * @throws {ArcpError} `INTERNAL_ERROR` (retryable) when the upstream fails;
   *   the id is revoked in the background all the same.
   */
  async issue(request: Omit<CredentialRequest, "credentialId">): Promise<Credential | undefined> {
    const { store, provisioner } = this.#options;
    const record: CredentialRecord = {
      credential_id: newId("cred"),
      job_id: request.jobId,
      principal: request.principal,
      issued_at: isoAt(this.#options.clock),
      state: "issued",
      attempts: 0,
      instance_id: this.#options.instanceId,
    };
    await store.putCredential(record);
    let issued;
    try {
      issued = await within(
        provisioner.issue({ ...request, credentialId: record.credential_id }),
        ATTEMPT_TIMEOUT_MS,
        "issuing a credential",
        this.#options.clock,
      );
      if (issued !== undefined) checkIssued(issued);
    } catch (error) {
      this.#revoke(record, []);
      throw new ArcpError(
        "INTERNAL_ERROR",
        `Cannot provision a credential for the job: ${(error as Error)?.message ?? error}`,
        { retryable: true },
      );
    }
    if (issued === undefined) {
      await store.deleteCredential(record.credential_id);
      return undefined;
    }
    this.#issuedAt.set(record.credential_id, record.issued_at);
    const credential: Credential = {
      id: record.credential_id,
      scheme: issued.scheme ?? "bearer",
      value: issued.value,
      endpoint: issued.endpoint,
    };
    if (issued.profile !== undefined) credential.profile = issued.profile;
    if (issued.constraints !== undefined) credential.constraints = issued.constraints;
    return credential;
  }

  /**
   * A new value for a job's credential; the upstream has invalidated the old one.
   *
   * @throws {ArcpError} `INVALID_REQUEST` when the provisioner cannot rotate,
   *   `INTERNAL_ERROR` when the upstream fails.
   */
  async rotate(handle: CredentialHandle, secrets: readonly string[]): Promise<string> {
    const { provisioner } = this.#options;
    if (provisioner.rotate === undefined) {
      throw new ArcpError(
        "INVALID_REQUEST",
        "This runtime's provisioner cannot rotate credentials",
      );
    }
    try {
      const { value } = await within(
        provisioner.rotate(handle),
        ATTEMPT_TIMEOUT_MS,
        "rotating a credential",
        this.#options.clock,
      );
      if (typeof value !== "string" || value.length === 0) {
        throw new TypeError("the provisioner rotated to an empty value");
      }
      return value;
    } catch (error) {
      const message = redact(String((error as Error)?.message ?? error), secrets);
      throw new ArcpError(
        "INTERNAL_ERROR",
        `Cannot rotate credential ${handle.credentialId}: ${message}`,
        { retryable: true },
      );
    }
  }

  /** Revokes a finished job's credentials, retrying in the background until done. */
  release(jobId: string, principal: string, credentials: readonly Credential[]): void {
    for (const credential of credentials) {
      // The ledger keeps when it was issued, for operators.
      const issuedAt = this.#issuedAt.get(credential.id);
      this.#issuedAt.delete(credential.id);
      this.#revoke({
        credential_id: credential.id,
        job_id: jobId,
        principal,
        issued_at: issuedAt ?? isoAt(this.#options.clock),
        state: "revoking",
        attempts: 0,
        instance_id: this.#options.instanceId,
      }, [credential.value]);
    }
  }

  /**
   * Takes over and revokes the credentials no live instance answers for:
   * those of lost instances (the job's instance, for an entry that names
   * none) and, at start, those another instance gave up on.
   *
   * @param live The instances whose heartbeat is current, this one included.
   * @param initial Whether this runtime is starting.
   */
  async recover(live: ReadonlySet<string>, initial: boolean): Promise<void> {
    const { store, instanceId } = this.#options;
    const outstanding: CredentialRecord[] = [];
    for await (const record of store.listCredentials()) outstanding.push(record);
    for (const record of outstanding) {
      if (this.#revoking.has(record.credential_id)) continue;
      const owner = record.instance_id ?? (await store.getJob(record.job_id))?.instance_id;
      const abandoned = initial && record.state === "unrevocable";
      if (owner !== undefined && live.has(owner) && !abandoned) continue;
      this.#revoke({ ...record, attempts: 0, instance_id: instanceId }, []);
    }
  }

  /** The ledger: credentials not yet revoked, for operators (spec 1.1 §14). */
  async outstanding(): Promise<CredentialRecord[]> {
    const records: CredentialRecord[] = [];
    for await (const record of this.#options.store.listCredentials()) records.push(record);
    return records;
  }

  /** Stops retrying (the ledger keeps what is left for the next start) and waits for attempts under way. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.resolve();
    await Promise.all(this.#revoking.values());
  }

  #revoke(record: CredentialRecord, secrets: readonly string[]): void {
    const id = record.credential_id;
    if (this.#revoking.has(id)) return;
    const task = this.#retry(record, secrets)
      .catch((error) => {
        // The store failed: the ledger entry stays, and the next start retries.
        this.#options.logger.error(`arcp runtime: cannot record revocation of ${id}`, error);
      })
      .finally(() => this.#revoking.delete(id));
    this.#revoking.set(id, task);
  }

  async #retry(initial: CredentialRecord, secrets: readonly string[]): Promise<void> {
    const { store, provisioner, logger } = this.#options;
    let record: CredentialRecord = { ...initial, state: "revoking" };
    await store.putCredential(record);
    for (;;) {
      try {
        await within(
          provisioner.revoke({ credentialId: record.credential_id, jobId: record.job_id }),
          ATTEMPT_TIMEOUT_MS,
          "revoking a credential",
          this.#options.clock,
        );
        await store.deleteCredential(record.credential_id);
        return;
      } catch (error) {
        const message = redact(String((error as Error)?.message ?? error), secrets);
        record = { ...record, attempts: record.attempts + 1, last_error: message };
      }
      if (record.attempts >= this.#maxAttempts) {
        record = { ...record, state: "unrevocable" };
        await store.putCredential(record);
        logger.error(
          `arcp runtime: credential ${record.credential_id} of job ${record.job_id} is still live ` +
            `after ${record.attempts} revocation attempts: ${record.last_error}`,
        );
        this.#options.onUnrevocable({ ...record });
        return;
      }
      await store.putCredential(record);
      if (this.#closed) return;
      const backoff = Math.min(this.#maxDelayMs, this.#initialDelayMs * 2 ** (record.attempts - 1));
      await this.#sleep(backoff * (0.5 + Math.random() / 2));
      if (this.#closed) return;
    }
  }

  #sleep(ms: number): Promise<void> {
    const clock = this.#options.clock;
    let timer: ClockTimer | undefined;
    const slept = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, ms)));
    return Promise.race([slept, this.#closing.promise]).finally(() => clock.clearTimeout(timer));
  }
}
