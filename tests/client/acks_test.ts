// The client acknowledges (spec 1.1 §6.5) and saves its resume state after
// its consumer reads, never on a clock of its own: over a real WebSocket, the
// session.ack frames it sends are recorded, and the timers its own modules
// set are counted.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { MemoryResumeStateStore, type ResumeState } from "../../client/resume_state.ts";
import type { JobEvent } from "../../protocol/events.ts";
import type { Transport } from "../../transports/types.ts";
import {
  type AttachedTransport,
  bounded,
  eventually,
  type Harness,
  startHarness,
  tap,
  Taps,
} from "../_helpers.ts";
import { pausingAgent, type PausingInput } from "../scenarios/_shared.ts";
import { TOKEN } from "../_raw.ts";

const CLIENT_MODULES = new URL("../../client/", import.meta.url).href;

/** Longer than the client's least time between two acks (200 ms): what a clock would tick in. */
const IDLE_MS = 600;

/**
 * Counts the timers set directly by the client's modules (files under
 * client/, the heartbeat's excluded) while it is in use, and those still
 * pending: a stand-in for a clock the test cannot otherwise see.
 */
class ClientTimers implements Disposable {
  /** Timers set so far. */
  set = 0;
  readonly #pending = new Set<unknown>();
  readonly #originals = {
    setTimeout: globalThis.setTimeout,
    setInterval: globalThis.setInterval,
    clearTimeout: globalThis.clearTimeout,
    clearInterval: globalThis.clearInterval,
  };

  constructor() {
    const { setTimeout, setInterval, clearTimeout, clearInterval } = this.#originals;
    const pending = this.#pending;
    // The frame below this wrapper's own is the caller's.
    const byClient = () => new Error().stack?.split("\n")[3]?.includes(CLIENT_MODULES) === true;
    const track = (repeat: boolean) =>
    (
      callback: (...args: unknown[]) => void,
      delay?: number,
      ...args: unknown[]
    ): unknown => {
      const mine = byClient();
      const id: unknown = (repeat ? setInterval : setTimeout)(
        (...given: unknown[]) => {
          if (!repeat) pending.delete(id);
          callback(...given);
        },
        delay,
        ...args,
      );
      if (mine) {
        this.set++;
        pending.add(id);
      }
      return id;
    };
    const untrack = (clear: (id?: number) => void) => (id?: number) => {
      pending.delete(id);
      clear(id);
    };
    Object.assign(globalThis, {
      setTimeout: track(false),
      setInterval: track(true),
      clearTimeout: untrack(clearTimeout),
      clearInterval: untrack(clearInterval),
    });
  }

  /** Timers of the client's still to fire. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Resolves once the client has no timer pending. */
  settled(): Promise<void> {
    return eventually(() => Promise.resolve(this.pending === 0), "the client's timers to settle");
  }

  [Symbol.dispose](): void {
    Object.assign(globalThis, this.#originals);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The `last_processed_seq` of every session.ack sent so far. */
function acksSent(taps: Taps): number[] {
  return taps.sent.frames.filter((frame) => frame.type === "session.ack").map((frame) =>
    (frame.payload as { last_processed_seq: number }).last_processed_seq
  );
}

/**
 * Opens tapped connections to `harness`: the first at once, each later one
 * only once `reopen` resolves, so a test can act while the client is cut off.
 */
function tappedTarget(harness: Harness, taps: Taps, reopen: Promise<void> = Promise.resolve()) {
  let opened = 0;
  let current: AttachedTransport | undefined;
  const reopening = Promise.withResolvers<void>();
  return {
    open: async (): Promise<Transport> => {
      if (opened++ > 0) {
        reopening.resolve();
        await reopen;
      }
      current = await harness.attach();
      return tap(current.transport, taps);
    },
    /** Resolves when the client tries to connect again. */
    reopening: reopening.promise,
    drop: () => current!.drop(),
  };
}

/** Reads `count` events from `reader`. */
async function read(reader: ReadableStreamDefaultReader<JobEvent>, count: number) {
  const events: JobEvent[] = [];
  while (events.length < count) events.push((await reader.read()).value!);
  return events;
}

Deno.test(
  "with autoAck on, the client sends no ack while its consumer does not read, then acks through the last event read, and sets no timer while idle",
  bounded(async () => {
    const agent = pausingAgent();
    await using h = await startHarness("websocket", { agents: [agent.definition] });
    using timers = new ClientTimers();
    const taps = new Taps();
    // No unread event counts as processed: only reading moves the acknowledgement.
    await using client = await connect(tappedTarget(h, taps).open, {
      token: TOKEN,
      eventBufferSize: 0,
      reconnect: false,
    });
    assert.ok(client.features.has("ack"));
    const job = await client.submit("stream", { n: 10, pauses: [10] } satisfies PausingInput);
    await agent.paused(0);
    await eventually(
      () => Promise.resolve(client.lastEventSeq >= 10),
      "the ten events to arrive",
    );
    // Received, none read: whatever ran after the arrivals has finished, and
    // nothing runs or is acknowledged while the client sits idle.
    await timers.settled();
    const before = timers.set;
    await sleep(IDLE_MS);
    assert.equal(timers.set, before, "the client set a timer while idle");
    assert.equal(timers.pending, 0);
    assert.deepEqual(acksSent(taps), []);

    const reader = job.events.getReader();
    const firstFour = await read(reader, 4);
    const through = firstFour.at(-1)!.event_seq!;
    await taps.sent.waitFor(
      (frame) =>
        frame.type === "session.ack" &&
        (frame.payload as { last_processed_seq: number }).last_processed_seq === through,
      `an ack through event ${through}`,
    );
    await timers.settled();
    const afterReading = timers.set;
    await sleep(IDLE_MS);
    assert.equal(timers.set, afterReading, "the client set a timer while idle");
    assert.ok(acksSent(taps).every((seq) => seq <= through), `acked ${acksSent(taps)}`);

    agent.release(0);
    assert.equal((await read(reader, 6)).at(-1)!.payload.body.current, 10);
    reader.releaseLock();
    assert.deepEqual((await job.result).result, { n: 10 });
  }),
);

Deno.test(
  "with autoAck off and no resume store, the client sets no timer and sends no ack as its consumer reads",
  bounded(async () => {
    const agent = pausingAgent();
    await using h = await startHarness("websocket", { agents: [agent.definition] });
    const taps = new Taps();
    using timers = new ClientTimers();
    await using client = await connect(tappedTarget(h, taps).open, {
      token: TOKEN,
      autoAck: false,
      reconnect: false,
    });
    // Connecting set the handshake's deadline, and cleared it.
    const connected = timers.set;
    assert.equal(timers.pending, 0, "timers left by connecting");
    const job = await client.submit("stream", { n: 50 } satisfies PausingInput);
    let events = 0;
    for await (const _ of job) events++;
    assert.equal(events, 50);
    assert.equal(timers.set, connected, "timers set by the client");
    assert.equal(timers.pending, 0, "timers of the client's pending");
    assert.deepEqual(acksSent(taps), []);
  }),
);

Deno.test(
  "with autoAck off, a resume store is saved after the consumer reads, and no timer is left while idle",
  bounded(async () => {
    const agent = pausingAgent();
    await using h = await startHarness("websocket", { agents: [agent.definition] });
    const saves: ResumeState[] = [];
    const store = new (class extends MemoryResumeStateStore {
      override save(key: string, state: ResumeState): Promise<void> {
        saves.push(state);
        return super.save(key, state);
      }
    })();
    const taps = new Taps();
    using timers = new ClientTimers();
    await using client = await connect(tappedTarget(h, taps).open, {
      token: TOKEN,
      autoAck: false,
      resumeStore: store,
      reconnect: false,
    });
    const job = await client.submit("stream", { n: 5, pauses: [5] } satisfies PausingInput);
    await agent.paused(0);
    await eventually(() => Promise.resolve(client.lastEventSeq >= 5), "the events to arrive");
    const reader = job.events.getReader();
    const through = (await read(reader, 2)).at(-1)!.event_seq!;
    await eventually(
      () => Promise.resolve(saves.at(-1)?.last_event_seq === through),
      `a save through event ${through}`,
    );
    await timers.settled();
    const before = timers.set;
    await sleep(IDLE_MS);
    assert.equal(timers.set, before, "the client set a timer while idle");
    assert.equal(saves.at(-1)!.last_event_seq, through, "saved past what was read");
    assert.deepEqual(acksSent(taps), []);
    agent.release(0);
    await read(reader, 3);
    reader.releaseLock();
    await job.result;
  }),
);

Deno.test(
  "events read while the connection is down are acknowledged on the resumed connection",
  bounded(async () => {
    const agent = pausingAgent();
    await using h = await startHarness("websocket", { agents: [agent.definition] });
    const taps = new Taps();
    const reopen = Promise.withResolvers<void>();
    const target = tappedTarget(h, taps, reopen.promise);
    await using client = await connect(target.open, {
      token: TOKEN,
      eventBufferSize: 0,
      reconnect: { initialDelayMs: 1 },
    });
    const job = await client.submit("stream", { n: 5, pauses: [5] } satisfies PausingInput);
    await agent.paused(0);
    await eventually(() => Promise.resolve(client.lastEventSeq >= 5), "the events to arrive");
    await target.drop();
    await target.reopening;
    // Read while no connection can carry the ack; wait out the ack interval.
    const reader = job.events.getReader();
    const through = (await read(reader, 5)).at(-1)!.event_seq!;
    await sleep(IDLE_MS);
    assert.deepEqual(acksSent(taps), []);
    reopen.resolve();
    await taps.sent.waitFor(
      (frame) =>
        frame.type === "session.ack" &&
        (frame.payload as { last_processed_seq: number }).last_processed_seq === through,
      `an ack through event ${through} after the resume`,
    );
    agent.release(0);
    reader.releaseLock();
    await job.result;
  }),
);

Deno.test(
  "with a resume store, the client acknowledges only what the store has confirmed saving, then acks once it has",
  bounded(async () => {
    const agent = pausingAgent();
    await using h = await startHarness("websocket", { agents: [agent.definition] });
    // Saves hang until the test lets them finish: a crash now would resume from the old state.
    const saved = Promise.withResolvers<void>();
    const saving: number[] = [];
    const store = new (class extends MemoryResumeStateStore {
      override async save(key: string, state: ResumeState): Promise<void> {
        saving.push(state.last_event_seq);
        await saved.promise;
        return super.save(key, state);
      }
    })();
    const taps = new Taps();
    await using client = await connect(tappedTarget(h, taps).open, {
      token: TOKEN,
      resumeStore: store,
      reconnect: false,
    });
    const job = await client.submit("stream", { n: 6, pauses: [6] } satisfies PausingInput);
    await agent.paused(0);
    const reader = job.events.getReader();
    const through = (await read(reader, 4)).at(-1)!.event_seq!;
    await eventually(
      () => Promise.resolve(saving.includes(through)),
      `a save through event ${through} to start`,
    );
    await sleep(IDLE_MS);
    assert.ok(acksSent(taps).every((seq) => seq < through), `acked ${acksSent(taps)} unsaved`);
    saved.resolve();
    await taps.sent.waitFor(
      (frame) =>
        frame.type === "session.ack" &&
        (frame.payload as { last_processed_seq: number }).last_processed_seq >= through,
      `an ack through event ${through} once saved`,
    );
    agent.release(0);
    await read(reader, 2);
    reader.releaseLock();
    await job.result;
  }),
);
