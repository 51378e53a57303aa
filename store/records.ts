// This module is browser compatible.
// Sessions, jobs, idempotency keys, credentials and instance heartbeats, kept
// once for every store on its record store (`get`, `set` with a version
// check, `delete`, `list`). Keys: `["session", id]`, `["session_token",
// sha256]` (the session id), `["job", id]`, `["job_by_principal", principal,
// id]` and `["job_unfinished", id]` (the job id), `["idem", principal, key]`,
// `["credential", id]`, `["instance", id]`. An index entry is written before
// its record and removed after it, and every lookup through an index checks
// the record it names, so an index torn from its record by a crash or a
// racing writer is never believed: at worst it names a record that no
// longer answers to it.

import { jobMatches } from "./_query.ts";
import { holdingToken, tokenChanges, tokenHashes } from "./_tokens.ts";
import type {
  CredentialRecord,
  IdempotencyRecord,
  InstanceRecord,
  JobQuery,
  JobRecord,
  ListOptions,
  LogBounds,
  ReadOptions,
  RecordEntry,
  RecordKey,
  RuntimeStore,
  SessionRecord,
  Store,
  StoredEvent,
  WriteOptions,
} from "./types.ts";

/** Conflicting writes tolerated in one check-and-set before giving up. */
const MAX_CONFLICTS = 100;
/** Says every stored session was indexed by its tokens (sessions stored before the index). */
const TOKEN_INDEX_DONE: RecordKey = ["session_token_index"];

/**
 * Records go in and out as copies, so no caller changes stored state by
 * mutating an object. Copied by hand: structuredClone costs more than the
 * rest of a submit. Logged envelopes (a job's terminal) are shared: they are
 * never mutated once emitted.
 */
function copyJob(record: JobRecord): JobRecord {
  const copy = { ...record, lease: { ...record.lease } };
  for (const [capability, patterns] of Object.entries(record.lease)) {
    copy.lease[capability] = [...patterns];
  }
  if (record.lease_constraints !== undefined) {
    copy.lease_constraints = { ...record.lease_constraints };
  }
  if (record.budget !== undefined) copy.budget = { ...record.budget };
  return copy;
}

/** Running, or ended with an end not yet known to be in its session's log. */
function isUnfinished(job: JobRecord): boolean {
  return job.status === "pending" || job.status === "running" || job.terminal_pending === true;
}

/**
 * The records a runtime keeps (sessions, jobs, idempotency keys,
 * credentials, heartbeats), written once on the record store of the class
 * that extends it: each exported store extends it and implements only the
 * two narrow contracts of {@linkcode Store}. A store of one's own need not:
 * the runtime wraps any {@linkcode Store}.
 *
 * @example The records of a memory store
 * ```ts
 * import { MemoryStore, StoreRecords } from "@arcp/arcp/store/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryStore();
 * assert.ok(store instanceof StoreRecords);
 * await store.putCredential({
 *   credential_id: "cred_1", job_id: "job_1", principal: "alice",
 *   issued_at: new Date().toISOString(), state: "issued", attempts: 0,
 * });
 * assert.equal((await store.get(["credential", "cred_1"]))?.key[1], "cred_1");
 * ```
 */
export abstract class StoreRecords implements RuntimeStore {
  /** Settles once sessions stored before the token index existed are indexed. */
  #tokenIndex: Promise<void> | undefined;

  /** `EventLog.append`: implemented by each store. */
  abstract append(sessionId: string, events: readonly StoredEvent[]): Promise<void>;
  /** `EventLog.read`: implemented by each store. */
  abstract read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent>;
  /** `EventLog.trim`: implemented by each store. */
  abstract trim(sessionId: string, options: { through: number }): Promise<void>;
  /** `EventLog.bounds`: implemented by each store. */
  abstract bounds(sessionId: string): Promise<LogBounds>;
  /** `EventLog.drop`: implemented by each store. */
  abstract drop(sessionId: string): Promise<void>;
  /** `RecordStore.get`: implemented by each store. */
  abstract get(key: RecordKey): Promise<RecordEntry | undefined>;
  /** `RecordStore.set`: implemented by each store. */
  abstract set(key: RecordKey, value: unknown, options?: WriteOptions): Promise<boolean>;
  /** `RecordStore.delete`: implemented by each store. */
  abstract delete(key: RecordKey, options?: WriteOptions): Promise<boolean>;
  /** `RecordStore.list`: implemented by each store. */
  abstract list(prefix: RecordKey, options?: ListOptions): AsyncIterable<RecordEntry>;

  /**
   * Runs `change` on the record at `key` and writes what it returns, checked
   * against the version read; again on a conflict.
   */
  async #update<T>(
    key: RecordKey,
    what: string,
    change: (current: T | undefined) => { next?: T; result: T | undefined },
    before?: (current: T | undefined, next: T) => Promise<void>,
  ): Promise<{ current: T | undefined; result: T | undefined }> {
    for (let conflicts = 0; conflicts <= MAX_CONFLICTS; conflicts++) {
      const entry = await this.get(key);
      const current = entry?.value as T | undefined;
      const { next, result } = change(current);
      if (next === undefined) return { current, result };
      await before?.(current, next);
      if (await this.set(key, next, { ifVersion: entry?.version ?? null })) {
        return { current, result };
      }
    }
    throw new Error(`Cannot store ${what}: too many conflicting writers`);
  }

  /** Creates or replaces a session record. */
  async putSession(record: SessionRecord): Promise<void> {
    await this.updateSession(record.session_id, () => record);
  }

  /** A session record, or `undefined`. */
  async getSession(sessionId: string): Promise<SessionRecord | undefined> {
    const entry = await this.get(["session", sessionId]);
    return entry && { ...entry.value as SessionRecord };
  }

  /**
   * Changes a session record by a check-and-set, retried on conflict; its
   * new token hashes are indexed before it is written, the ones it dropped
   * unindexed after.
   */
  async updateSession(
    sessionId: string,
    change: (current: SessionRecord | undefined) => SessionRecord | undefined,
  ): Promise<SessionRecord | undefined> {
    const { current, result } = await this.#update<SessionRecord>(
      ["session", sessionId],
      `session "${sessionId}"`,
      (stored) => {
        const next = change(stored && { ...stored });
        return next === undefined ? { result: stored } : { next: { ...next }, result: next };
      },
      async (stored, next) => {
        const known = tokenHashes(stored);
        for (const hash of tokenHashes(next)) {
          if (!known.includes(hash)) await this.set(["session_token", hash], sessionId);
        }
      },
    );
    if (result !== undefined && result !== current) {
      await this.#unindexTokens(sessionId, tokenChanges(current, result).removed);
    }
    return result && { ...result };
  }

  /** Removes the index entries of `hashes` that name `sessionId`, unless its record took them back. */
  async #unindexTokens(sessionId: string, hashes: readonly string[]): Promise<void> {
    if (hashes.length === 0) return;
    const held = tokenHashes(await this.getSession(sessionId));
    for (const hash of hashes) {
      if (held.includes(hash)) continue;
      const entry = await this.get(["session_token", hash]);
      if (entry?.value === sessionId) {
        await this.delete(["session_token", hash], { ifVersion: entry.version });
      }
    }
  }

  /** Forgets a session: its record, then its token index entries and its whole log. */
  async deleteSession(sessionId: string): Promise<void> {
    const key = ["session", sessionId];
    for (let conflicts = 0;; conflicts++) {
      const entry = await this.get(key);
      if (entry === undefined) break;
      if (await this.delete(key, { ifVersion: entry.version })) {
        await this.#unindexTokens(sessionId, tokenHashes(entry.value as SessionRecord));
        break;
      }
      if (conflicts === MAX_CONFLICTS) {
        throw new Error(`Cannot delete session "${sessionId}": too many conflicting writers`);
      }
    }
    await this.drop(sessionId);
  }

  /** Every stored session, in id order. */
  async *listSessions(): AsyncIterable<SessionRecord> {
    for await (const { value } of this.list(["session"])) yield { ...value as SessionRecord };
  }

  /** The session whose current or previous resume token has this SHA-256, through the index. */
  async getSessionByToken(tokenSha256: string): Promise<SessionRecord | undefined> {
    this.#tokenIndex ??= this.#indexTokens().catch((error) => {
      this.#tokenIndex = undefined;
      throw error;
    });
    await this.#tokenIndex;
    const entry = await this.get(["session_token", tokenSha256]);
    if (typeof entry?.value !== "string") return undefined;
    return holdingToken(await this.getSession(entry.value), tokenSha256);
  }

  /** Indexes sessions stored before the token index existed: once per store. */
  async #indexTokens(): Promise<void> {
    if (await this.get(TOKEN_INDEX_DONE) !== undefined) return;
    for await (const record of this.listSessions()) {
      for (const hash of tokenHashes(record)) {
        await this.set(["session_token", hash], record.session_id);
      }
    }
    await this.set(TOKEN_INDEX_DONE, 1);
  }

  /** Creates or replaces a job record; its index entries go first, stale ones after. */
  async putJob(record: JobRecord): Promise<void> {
    const { job_id: jobId, principal } = record;
    const previous = (await this.get(["job", jobId]))?.value as JobRecord | undefined;
    if (previous?.principal !== principal) {
      await this.set(["job_by_principal", principal, jobId], jobId);
    }
    const unfinished = isUnfinished(record);
    if (unfinished && (previous === undefined || !isUnfinished(previous))) {
      await this.set(["job_unfinished", jobId], jobId);
    }
    await this.set(["job", jobId], copyJob(record));
    if (previous !== undefined && previous.principal !== principal) {
      await this.delete(["job_by_principal", previous.principal, jobId]);
    }
    if (!unfinished && (previous === undefined || isUnfinished(previous))) {
      await this.delete(["job_unfinished", jobId]);
    }
  }

  /** A job record, or `undefined`. */
  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const entry = await this.get(["job", jobId]);
    return entry && copyJob(entry.value as JobRecord);
  }

  /** The jobs an index under `prefix` names, each checked against its record by `keep`. */
  async *#indexed(
    prefix: RecordKey,
    keep: (job: JobRecord) => boolean,
    options?: ListOptions,
  ): AsyncIterable<JobRecord> {
    for await (const { key } of this.list(prefix, options)) {
      const job = await this.getJob(key[key.length - 1]!);
      if (job !== undefined && keep(job)) yield job;
    }
  }

  /** One page of a principal's jobs in `job_id` order, scanning its index from the cursor on. */
  async listJobs(query: JobQuery): Promise<{ jobs: JobRecord[]; more: boolean }> {
    const prefix = ["job_by_principal", query.principal];
    const options = query.after_job_id === undefined
      ? {}
      : { after: [...prefix, query.after_job_id] };
    const jobs: JobRecord[] = [];
    for await (const job of this.#indexed(prefix, (job) => jobMatches(job, query), options)) {
      if (jobs.length >= query.limit) return { jobs, more: true };
      jobs.push(job);
    }
    return { jobs, more: false };
  }

  /** Every job not yet in a terminal status, in id order. */
  listUnfinishedJobs(): AsyncIterable<JobRecord> {
    return this.#indexed(["job_unfinished"], isUnfinished);
  }

  /** Binds an idempotency key unless an unexpired binding exists, by a check-and-set. */
  async claimIdempotencyKey(
    record: IdempotencyRecord,
    now: string,
  ): Promise<IdempotencyRecord | undefined> {
    const { result } = await this.#update<IdempotencyRecord>(
      ["idem", record.principal, record.key],
      `idempotency key "${record.key}"`,
      (existing) =>
        existing !== undefined && existing.expires_at > now
          ? { result: { ...existing } }
          : { next: { ...record }, result: undefined },
    );
    return result;
  }

  /** Creates or replaces a credential ledger entry. */
  async putCredential(record: CredentialRecord): Promise<void> {
    await this.set(["credential", record.credential_id], { ...record });
  }

  /** Removes a credential from the ledger. */
  async deleteCredential(credentialId: string): Promise<void> {
    await this.delete(["credential", credentialId]);
  }

  /** Every credential in the ledger, in id order. */
  async *listCredentials(): AsyncIterable<CredentialRecord> {
    for await (const { value } of this.list(["credential"])) yield { ...value as CredentialRecord };
  }

  /** Creates or renews an instance's heartbeat. */
  async putInstance(record: InstanceRecord): Promise<void> {
    await this.set(["instance", record.instance_id], { ...record });
  }

  /** Every instance record, expired ones included, in id order. */
  async *listInstances(): AsyncIterable<InstanceRecord> {
    for await (const { value } of this.list(["instance"])) yield { ...value as InstanceRecord };
  }

  /** Removes an instance record. */
  async deleteInstance(instanceId: string): Promise<void> {
    await this.delete(["instance", instanceId]);
  }
}

/** The runtime's records on a user-written {@linkcode Store}. */
class WrappedStore extends StoreRecords {
  readonly #store: Store;

  constructor(store: Store) {
    super();
    this.#store = store;
    const { compareAndAppend, watch, close } = store;
    if (compareAndAppend) this.compareAndAppend = compareAndAppend.bind(store);
    if (watch) this.watch = watch.bind(store);
    if (close) this.close = close.bind(store);
  }

  compareAndAppend?(sessionId: string, events: readonly StoredEvent[]): Promise<number>;
  watch?(sessionId: string, options: { signal: AbortSignal }): AsyncIterable<LogBounds>;
  close?(): Promise<void>;

  append(sessionId: string, events: readonly StoredEvent[]): Promise<void> {
    return this.#store.append(sessionId, events);
  }
  read(sessionId: string, options: ReadOptions): AsyncIterable<StoredEvent> {
    return this.#store.read(sessionId, options);
  }
  trim(sessionId: string, options: { through: number }): Promise<void> {
    return this.#store.trim(sessionId, options);
  }
  bounds(sessionId: string): Promise<LogBounds> {
    return this.#store.bounds(sessionId);
  }
  drop(sessionId: string): Promise<void> {
    return this.#store.drop(sessionId);
  }
  get(key: RecordKey): Promise<RecordEntry | undefined> {
    return this.#store.get(key);
  }
  set(key: RecordKey, value: unknown, options?: WriteOptions): Promise<boolean> {
    return this.#store.set(key, value, options);
  }
  delete(key: RecordKey, options?: WriteOptions): Promise<boolean> {
    return this.#store.delete(key, options);
  }
  list(prefix: RecordKey, options?: ListOptions): AsyncIterable<RecordEntry> {
    return this.#store.list(prefix, options);
  }
}

/** `store` with the runtime's records on it: itself when it has them already. */
export function withRecords(store: Store): RuntimeStore {
  return store instanceof StoreRecords ? store : new WrappedStore(store);
}
