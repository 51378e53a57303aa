// This module is browser compatible.
// This runtime instance's heartbeat. Several instances may share one store
// (Deno Deploy runs isolates on one KV): each writes a record that expires
// unless renewed, and names itself on the jobs, sessions and credentials it
// holds. Whatever names an instance whose record expired was lost with it.

import { newId } from "../protocol/ids.ts";
import { type Clock, every, isoAt } from "../protocol/clock.ts";
import type { InstanceRecord, RuntimeStore } from "../store/types.ts";

/** The instances sharing the store, as one look at their heartbeats saw them. */
export interface InstanceView {
  /** Ids of instances whose heartbeat is current, this one included. */
  live: ReadonlySet<string>;
  /** Ids of instances whose heartbeat expired: what they held must be recovered. */
  dead: readonly string[];
}

const RESOLVED: Promise<void> = Promise.resolve();

export class InstanceHeartbeat {
  /** This instance's id, new at every start. */
  readonly id: string = newId("inst");
  readonly #store: RuntimeStore;
  readonly #ttlMs: number;
  readonly #logger: Pick<Console, "warn" | "error">;
  readonly #clock: Clock;
  readonly #startedAt: string;
  #stopTimer: (() => void) | undefined;
  #renewing: Promise<void> = RESOLVED;
  #checking: Promise<void> | undefined;
  #started = false;
  #stopped = false;

  /**
   * @param store The shared store.
   * @param ttlMs Milliseconds a heartbeat stays valid; it is renewed every quarter of that.
   * @param logger Where renewal failures go.
   * @param clock Where the time and the renewal timer come from.
   */
  constructor(
    store: RuntimeStore,
    ttlMs: number,
    logger: Pick<Console, "warn" | "error">,
    clock: Clock,
  ) {
    this.#clock = clock;
    this.#startedAt = isoAt(clock);
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#logger = logger;
  }

  /** Whether the store keeps heartbeats; without them this is the only instance. */
  get shared(): boolean {
    const store = this.#store;
    return store.putInstance !== undefined && store.listInstances !== undefined &&
      store.deleteInstance !== undefined;
  }

  /**
   * Writes the heartbeat and starts renewing it; after each renewal,
   * `onCheck` gets a fresh view (never two at once).
   *
   * @returns The view at start.
   */
  async start(onCheck: (view: InstanceView) => Promise<void>): Promise<InstanceView> {
    if (!this.shared) return { live: new Set([this.id]), dead: [] };
    this.#started = true;
    await this.#renew();
    const view = await this.view();
    if (this.#stopped) return view;
    this.#stopTimer = every(this.#clock, Math.max(1, this.#ttlMs / 4), () => {
      this.#renewing = this.#renew().catch((error) => {
        this.#logger.error("arcp runtime: cannot renew this instance's heartbeat", error);
      });
      this.#checking ??= this.#renewing.then(() => this.view()).then(onCheck).catch((error) => {
        this.#logger.error("arcp runtime: recovery of lost instances failed", error);
      }).finally(() => this.#checking = undefined);
    });
    return view;
  }

  /** Which instances are alive now. */
  async view(): Promise<InstanceView> {
    const live = new Set([this.id]);
    const dead: string[] = [];
    if (!this.shared) return { live, dead };
    const now = isoAt(this.#clock);
    for await (const record of this.#store.listInstances!()) {
      if (record.instance_id === this.id) {
        if (record.expires_at <= now) {
          this.#logger.warn(
            "arcp runtime: this instance's heartbeat lapsed; others may recover its jobs",
          );
        }
      } else if (record.expires_at > now) live.add(record.instance_id);
      else dead.push(record.instance_id);
    }
    return { live, dead };
  }

  /** Stops renewing and removes the heartbeat; call once nothing names this instance as running. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopTimer?.();
    await this.#renewing;
    await this.#checking;
    if (this.#started) await this.#store.deleteInstance!(this.id);
  }

  #renew(): Promise<void> {
    const record: InstanceRecord = {
      instance_id: this.id,
      started_at: this.#startedAt,
      expires_at: new Date(this.#clock.now() + this.#ttlMs).toISOString(),
    };
    return this.#store.putInstance!(record);
  }
}
