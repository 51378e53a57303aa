// This module is browser compatible.
// A runtime-side session: it outlives its connections (spec §6.7), owns the
// session-scoped event_seq (spec §8.3) and the outbound pipeline that writes
// every sequenced envelope to the store before it reaches the transport.

import type { Envelope } from "../protocol/messages.ts";
import type { RuntimeStore, StoredEvent } from "../store/types.ts";
import type { Principal } from "./auth.ts";
import type { RuntimeJob } from "./_job.ts";

/** Where a session's outbound frames go while a connection is attached. */
export interface Outlet {
  /** Writes frames in order; resolves when the transport can take more. */
  write(frames: readonly Envelope[]): Promise<void>;
  /** Called when writing failed: the connection is gone. */
  drop(reason: unknown): void;
}

/** Frames queued before a producer has to wait for the pipeline to drain. */
const HIGH_WATER_MARK = 1024;
/** The largest batch handed to the store in one append. */
const MAX_BATCH = 512;

const RESOLVED: Promise<void> = Promise.resolve();

export class RuntimeSession {
  readonly id: string;
  readonly principal: Principal;
  readonly jobs: Map<string, RuntimeJob> = new Map();
  #store: RuntimeStore;
  #lastSeq = 0;
  #outlet: Outlet | undefined;
  #queue: Envelope[] = [];
  #flushing: Promise<void> | undefined;
  #drained: PromiseWithResolvers<void> | undefined;
  #onStoreError: (error: unknown) => void;

  constructor(
    id: string,
    principal: Principal,
    store: RuntimeStore,
    onStoreError: (error: unknown) => void,
  ) {
    this.id = id;
    this.principal = principal;
    this.#store = store;
    this.#onStoreError = onStoreError;
  }

  /** The highest event_seq assigned so far. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  get attached(): boolean {
    return this.#outlet !== undefined;
  }

  attach(outlet: Outlet): void {
    this.#outlet = outlet;
  }

  detach(outlet: Outlet): void {
    if (this.#outlet === outlet) this.#outlet = undefined;
  }

  /**
   * Queues a `job.event`/`job.result`/`job.error` envelope: assigns its
   * event_seq now, so seq order is emission order across all jobs.
   */
  emit(envelope: Envelope & { job_id: string }): Promise<void> {
    envelope.event_seq = ++this.#lastSeq;
    return this.#enqueue(envelope);
  }

  /** Queues an unsequenced control message behind everything emitted before it. */
  send(envelope: Envelope): Promise<void> {
    return this.#enqueue(envelope);
  }

  /** Resolves once everything queued so far has been stored and written. */
  async flushed(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
  }

  #enqueue(envelope: Envelope): Promise<void> {
    this.#queue.push(envelope);
    this.#flushing ??= this.#flush();
    if (this.#queue.length < HIGH_WATER_MARK) return RESOLVED;
    this.#drained ??= Promise.withResolvers();
    return this.#drained.promise;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.length <= MAX_BATCH
          ? this.#queue
          : this.#queue.slice(0, MAX_BATCH);
        this.#queue = batch === this.#queue ? [] : this.#queue.slice(MAX_BATCH);
        const events = batch.filter((e): e is StoredEvent => e.event_seq !== undefined);
        if (events.length > 0) {
          try {
            await this.#store.append(this.id, events);
          } catch (error) {
            // Nothing unstored may be sent: the batch is lost to this
            // session, which the runtime reports and closes.
            this.#onStoreError(error);
            continue;
          }
        }
        const outlet = this.#outlet;
        if (outlet !== undefined) {
          try {
            await outlet.write(batch);
          } catch (error) {
            // The connection dropped; the events are stored for resume.
            this.detach(outlet);
            outlet.drop(error);
          }
        }
        if (this.#drained !== undefined && this.#queue.length < HIGH_WATER_MARK) {
          this.#drained.resolve();
          this.#drained = undefined;
        }
      }
    } finally {
      this.#flushing = undefined;
      this.#drained?.resolve();
      this.#drained = undefined;
    }
  }
}
