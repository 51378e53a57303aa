/**
 * A {@linkcode ResumeStateStore} on Deno KV, so a restarted CLI or server
 * process resumes the session (spec §6.3) it had before, events included.
 *
 * @example Resume after a restart
 * ```ts ignore
 * import { connect } from "@arcp/arcp/client";
 * import { DenoKvResumeStateStore } from "@arcp/arcp/client/resume-state-deno-kv";
 *
 * using kv = await Deno.openKv("./client.kv");
 * await using client = await connect("ws://127.0.0.1:7777/arcp", {
 *   token: "s3cret",
 *   resumeStore: new DenoKvResumeStateStore(kv),
 * });
 * ```
 *
 * @module
 */

import type { ResumeState, ResumeStateStore } from "./resume_state.ts";
import { commit, type KvKeyLike, type KvLike } from "../internal/kv.ts";

export type { ResumeState, ResumeStateStore } from "./resume_state.ts";
export type {
  KvAtomicLike,
  KvEntryLike,
  KvKeyLike,
  KvLike,
  KvListSelectorLike,
} from "../internal/kv.ts";

/** Options of {@linkcode DenoKvResumeStateStore}. */
export interface DenoKvResumeStateStoreOptions {
  /**
   * Key prefix of the states, to share one KV with other data: the state
   * saved under `key` lives at `[...prefix, key]`.
   *
   * @default {["arcp", "resume_state"]}
   */
  prefix?: KvKeyLike;
}

/** Whether `value` has the shape of a {@linkcode ResumeState}. */
function isResumeState(value: unknown): value is ResumeState {
  const state = value as Partial<ResumeState> | null;
  return typeof state === "object" && state !== null &&
    typeof state.session_id === "string" && typeof state.resume_token === "string" &&
    typeof state.last_event_seq === "number";
}

/**
 * Keeps resume states in Deno KV (or anything {@linkcode KvLike}, such as
 * `@deno/kv` under Node or Bun), one entry per key. Operations run one at a
 * time in call order, so a save the client fires without waiting can never
 * be overtaken by an older one.
 *
 * A resume state is a credential: keep the KV where only this user can read
 * it.
 *
 * @example Save, load and delete
 * ```ts
 * import { DenoKvResumeStateStore } from "@arcp/arcp/client/resume-state-deno-kv";
 * import assert from "node:assert/strict";
 *
 * const kv = await Deno.openKv(":memory:");
 * const store = new DenoKvResumeStateStore(kv, { prefix: ["my-app", "arcp"] });
 * await store.save("ws://127.0.0.1:7777/arcp", {
 *   session_id: "sess_1",
 *   resume_token: "rt_1",
 *   last_event_seq: 42,
 * });
 * assert.equal((await store.load("ws://127.0.0.1:7777/arcp"))?.last_event_seq, 42);
 * await store.delete("ws://127.0.0.1:7777/arcp");
 * assert.equal(await store.load("ws://127.0.0.1:7777/arcp"), undefined);
 * kv.close(); // the store never closes the KV it was given
 * ```
 */
export class DenoKvResumeStateStore implements ResumeStateStore {
  readonly #kv: KvLike;
  readonly #prefix: KvKeyLike;
  #last: Promise<unknown> = Promise.resolve();

  /**
   * Wraps an open KV; the store never closes it.
   *
   * @param kv An open `Deno.Kv` (or anything {@linkcode KvLike}).
   * @param options The key prefix.
   */
  constructor(kv: KvLike, options: DenoKvResumeStateStoreOptions = {}) {
    this.#kv = kv;
    this.#prefix = [...(options.prefix ?? ["arcp", "resume_state"])];
  }

  /** Runs `operation` after every operation called before it has settled. */
  #serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#last.then(operation);
    // The caller gets `result` and its failure; the queue only waits for it.
    this.#last = result.catch(() => {});
    return result;
  }

  /**
   * The state saved under `key`.
   *
   * @param key The state's key, such as the runtime's URL.
   * @returns A copy of the state, or `undefined` when none (or something
   *   that is not a resume state) is stored there.
   */
  load(key: string): Promise<ResumeState | undefined> {
    return this.#serial(async () => {
      const { value } = await this.#kv.get([...this.#prefix, key]);
      if (!isResumeState(value)) return undefined;
      const { session_id, resume_token, last_event_seq } = value;
      return { session_id, resume_token, last_event_seq };
    });
  }

  /**
   * Saves `state` under `key`, replacing what was there.
   *
   * @param key The state's key.
   * @param state The state; only its three fields are stored.
   * @throws {RangeError} when the key is over the Deno KV key size limit.
   */
  save(key: string, state: ResumeState): Promise<void> {
    const { session_id, resume_token, last_event_seq } = state;
    const value = { session_id, resume_token, last_event_seq };
    return this.#serial(async () => {
      await commit(this.#kv.atomic().set([...this.#prefix, key], value), `resume state "${key}"`);
    });
  }

  /**
   * Forgets `key`; nothing happens when it has no state.
   *
   * @param key The state's key.
   */
  delete(key: string): Promise<void> {
    return this.#serial(async () => {
      await commit(this.#kv.atomic().delete([...this.#prefix, key]), `resume state "${key}"`);
    });
  }
}
