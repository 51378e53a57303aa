// A session's event log in Deno KV: appending within the KV limits (events
// over the value limit go to parts), reading in batches, trimming, and the
// `{ first, last }` bounds kept beside the log. Keys, under the store's
// prefix: `["log", sessionId, seq]`, `["log_meta", sessionId]` and
// `["log_part", sessionId, seq, n]`.
//
// Each event is stored as the UTF-8 bytes of its JSON text, the text the
// transport sends (`keepFrameText`): encoded once for both. The KV stores
// bytes as they are, so their size is exact without walking the event, and
// neither V8 serialization (an object's, or a whole two-byte string's as
// soon as one character is outside Latin-1) runs. A batch's texts go in
// chunks (see `planCommit`), the key of each its last seq, so a read from
// any seq starts at the first key at or after it. Logs written before hold
// one object or one text per key, which read as they are.

import type { LogBounds, ReadOptions, StoredEvent } from "./types.ts";
import { firstNewEvent } from "./_log.ts";
import { commitChecked, deleteAll, MAX_CONFLICTS, READ_BATCH, watchValues } from "./_kv.ts";
import { commit, type KvLike } from "../internal/kv.ts";
import {
  type KeyPart,
  MAX_COMMIT_BYTES,
  MAX_COMMIT_KEY_BYTES,
  MAX_COMMIT_MUTATIONS,
  MAX_VALUE_BYTES,
  measure,
  valueSize,
} from "./_kv_limits.ts";
import { isPartsMarker, type PartsMarker, readParts, splitBytes, writeParts } from "./_kv_parts.ts";
import { keepFrameText } from "../transports/frame_text.ts";

/** What the log holds for an event stored in parts. */
type EventMarker = PartsMarker & { event_seq: number };

/**
 * Largest chunk of events in one log value, under the value limit: an
 * event larger than that is a value of its own.
 */
const CHUNK_BYTES = 60_000;
const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Builds a key under the store's prefix. */
export type KeyBuilder = (...parts: KeyPart[]) => KeyPart[];

/** The bounds a log meta value holds; those of an empty log when absent. */
function boundsOf(value: unknown): LogBounds {
  return (value as LogBounds | null) ?? { first: 1, last: 0 };
}

/** A log's bounds and the versionstamp of its meta key, to check commits against. */
export interface LogMeta {
  bounds: LogBounds;
  versionstamp: string | null;
}

/** Logs whose meta a store remembers at most: the oldest is forgotten first. */
const REMEMBERED_LOGS = 1_024;

/**
 * The meta each log had after this store's last commit to it, so the next
 * append checks its commit against it without reading it first (a read
 * costs about as much as a small commit). A remembered meta is only a
 * guess: the commit's check is what decides, and a stale one costs a
 * failed commit and a read. So it is used only for a batch that starts
 * right after it, and forgotten when this store trims or drops the log.
 */
export class CommittedMeta {
  readonly #metas = new Map<string, LogMeta>();

  /** The remembered meta of the log, if `nextSeq` continues it. */
  continuing(sessionId: string, nextSeq: number | undefined): LogMeta | undefined {
    const meta = this.#metas.get(sessionId);
    return meta !== undefined && meta.bounds.last + 1 === nextSeq ? meta : undefined;
  }

  remember(sessionId: string, meta: LogMeta): void {
    this.#metas.delete(sessionId);
    this.#metas.set(sessionId, meta);
    if (this.#metas.size > REMEMBERED_LOGS) {
      this.#metas.delete(this.#metas.keys().next().value!);
    }
  }

  forget(sessionId: string): void {
    this.#metas.delete(sessionId);
  }
}

/** A log's bounds and the versionstamp of its meta key, to check commits against. */
export async function readLogMeta(
  kv: KvLike,
  key: KeyBuilder,
  sessionId: string,
): Promise<LogMeta> {
  const entry = await kv.get(key("log_meta", sessionId));
  return { bounds: boundsOf(entry.value), versionstamp: entry.versionstamp };
}

/** A write to the log: the value at `["log", sessionId, seq]`. */
interface LogWrite {
  seq: number;
  value: Uint8Array | EventMarker;
}

/**
 * Stores `events` from the first new one; `exclusive`, stops at any other
 * writer. Returns how many of `events` the log holds afterwards.
 *
 * @throws {RangeError} when the batch would leave a gap.
 */
export async function appendEvents(
  kv: KvLike,
  key: KeyBuilder,
  sessionId: string,
  events: readonly StoredEvent[],
  exclusive: boolean,
  committed: CommittedMeta,
): Promise<number> {
  let { bounds, versionstamp } = committed.continuing(sessionId, events[0]?.event_seq) ??
    await readLogMeta(kv, key, sessionId);
  if (exclusive && events[0]?.event_seq !== bounds.last + 1) return 0;
  let index = firstNewEvent(events, bounds.last);
  // Every log key of the session has the same size (a number is 9 bytes):
  // measured once, not per event.
  const { keyBytes } = measure(
    key("log", sessionId, 0),
    undefined,
    `the events of "${sessionId}"`,
    0,
  );
  // Events over the value limit go to parts first; the log gets a marker,
  // written with the rest of the batch, that makes them visible. Stored
  // ones are skipped unencoded.
  const values: (Uint8Array | EventMarker | undefined)[] = new Array(events.length);
  for (let i = index; i < events.length; i++) {
    const seq = events[i]!.event_seq;
    const bytes = encoder.encode(keepFrameText(events[i]!));
    if (bytes.length <= MAX_VALUE_BYTES) {
      values[i] = bytes;
      continue;
    }
    const parts = splitBytes(bytes);
    await writeParts(kv, key("log_part", sessionId, seq), parts, `event_seq ${seq}`);
    values[i] = { event_seq: seq, kv_parts: parts.length };
    measure(key("log", sessionId, seq), values[i], `event_seq ${seq}`);
  }
  const metaKey = key("log_meta", sessionId);
  let conflicts = 0;
  while (index < events.length) {
    const { end, writes } = planCommit(events, values, index, keyBytes);
    const last = events[end - 1]!.event_seq;
    const op = kv.atomic().check({ key: metaKey, versionstamp });
    for (const write of writes) op.set(key("log", sessionId, write.seq), write.value);
    op.set(metaKey, { first: bounds.first, last });
    const stamp = await commit(op, `events ${events[index]!.event_seq}..${last}`)
      .catch((error) => {
        committed.forget(sessionId);
        throw error;
      });
    if (stamp !== null) {
      versionstamp = stamp;
      bounds = { first: bounds.first, last };
      committed.remember(sessionId, { bounds, versionstamp });
      index = end;
      continue;
    }
    // Another writer moved the log: skip what it stored, or fail on a gap.
    if (++conflicts > MAX_CONFLICTS) {
      throw new Error(`Cannot append to session "${sessionId}": too many conflicting writers`);
    }
    ({ bounds, versionstamp } = await readLogMeta(kv, key, sessionId));
    // Exclusive: stop at another writer's events; a trim alone changes nothing.
    if (exclusive && bounds.last !== events[index]!.event_seq - 1) return index;
    if (!exclusive) index += firstNewEvent(events.slice(index), bounds.last);
  }
  return events.length;
}

/**
 * The writes of one commit, from `events[start]` to `events[end - 1]`:
 * events go in chunks of up to {@linkcode CHUNK_BYTES}, each keyed by its
 * last event_seq, so a commit sets a few values rather than one per event
 * (what a KV commit costs grows with its mutations far more than with its
 * bytes); a marker of an event stored in parts stands alone. As many as the
 * commit limits allow, and at least one.
 */
function planCommit(
  events: readonly StoredEvent[],
  values: readonly (Uint8Array | EventMarker | undefined)[],
  start: number,
  keyBytes: number,
): { end: number; writes: LogWrite[] } {
  const writes: LogWrite[] = [];
  let commitBytes = 0;
  let chunk: Uint8Array[] = [];
  let chunkBytes = 0;
  const fits = (valueBytes: number) =>
    writes.length < MAX_COMMIT_MUTATIONS &&
    commitBytes + 2 * keyBytes + valueBytes <= MAX_COMMIT_BYTES &&
    (writes.length + 1) * keyBytes <= MAX_COMMIT_KEY_BYTES;
  const close = (end: number) => {
    writes.push({ seq: events[end - 1]!.event_seq, value: joinChunk(chunk, chunkBytes) });
    commitBytes += 2 * keyBytes + chunkBytes;
    chunk = [];
    chunkBytes = 0;
  };
  let i = start;
  for (; i < events.length; i++) {
    const value = values[i]!;
    if (!(value instanceof Uint8Array)) {
      if (chunk.length > 0) close(i);
      const markerBytes = valueSize(value);
      if (writes.length > 0 && !fits(markerBytes)) break;
      writes.push({ seq: events[i]!.event_seq, value });
      commitBytes += 2 * keyBytes + markerBytes;
      continue;
    }
    // One event alone is its own text; several are a JSON array of theirs.
    const grown = chunk.length === 0
      ? value.length
      : chunkBytes + value.length + (chunk.length === 1 ? 3 : 1);
    if (chunk.length > 0 && grown > CHUNK_BYTES) {
      close(i);
      if (!fits(value.length)) break;
      chunk.push(value);
      chunkBytes = value.length;
      continue;
    }
    if ((writes.length > 0 || chunk.length > 0) && !fits(grown)) break;
    chunk.push(value);
    chunkBytes = grown;
  }
  if (chunk.length > 0) close(i);
  return { end: i, writes };
}

/** The value of a chunk of `bytes` long: one event's text, or a JSON array of several. */
function joinChunk(chunk: readonly Uint8Array[], bytes: number): Uint8Array {
  if (chunk.length === 1) return chunk[0]!;
  const joined = new Uint8Array(bytes);
  joined[0] = OPEN_BRACKET;
  let offset = 1;
  for (const text of chunk) {
    joined.set(text, offset);
    offset += text.length;
    joined[offset++] = COMMA;
  }
  joined[bytes - 1] = CLOSE_BRACKET;
  return joined;
}

/** The log's bounds now and after each change, until `options.signal` aborts. */
export async function* watchBounds(
  kv: KvLike,
  key: KeyBuilder,
  sessionId: string,
  options: { signal: AbortSignal },
): AsyncIterable<LogBounds> {
  for await (const value of watchValues(kv, key("log_meta", sessionId), options)) {
    yield boundsOf(value);
  }
}

/**
 * Retained events after `options.after` in `event_seq` order, one `list`
 * batch at a time, including events appended while reading.
 */
export async function* readEvents(
  kv: KvLike,
  key: KeyBuilder,
  sessionId: string,
  options: ReadOptions,
): AsyncIterable<StoredEvent> {
  const prefix = key("log", sessionId);
  let next = Math.max(options.after + 1, (await readLogMeta(kv, key, sessionId)).bounds.first);
  while (!options.signal?.aborted) {
    let count = 0;
    const batch = kv.list({ prefix, start: [...prefix, next] }, {
      limit: READ_BATCH,
      batchSize: READ_BATCH,
    });
    for await (const entry of batch) {
      if (options.signal?.aborted) return;
      const value = entry.value as Uint8Array | StoredEvent | EventMarker;
      count++;
      if (value instanceof Uint8Array && value[0] === OPEN_BRACKET) {
        // A chunk, keyed by its last event: those before `next` were read, or trimmed.
        for (const event of JSON.parse(decoder.decode(value)) as StoredEvent[]) {
          if (event.event_seq < next) continue;
          if (options.signal?.aborted) return;
          next = event.event_seq + 1;
          yield event;
        }
        continue;
      }
      const event = value instanceof Uint8Array
        ? JSON.parse(decoder.decode(value)) as StoredEvent
        : isPartsMarker(value)
        ? await readParts<StoredEvent>(
          kv,
          key("log_part", sessionId, value.event_seq),
          value.kv_parts,
          `event_seq ${value.event_seq}`,
        )
        : value;
      next = event.event_seq + 1;
      yield event;
    }
    if (count === 0) return;
  }
}

/**
 * Drops events with `event_seq <= through`: the bounds move first, in one
 * checked commit, then the events go in commits of at most 999 deletes.
 */
export async function trimLog(
  kv: KvLike,
  key: KeyBuilder,
  sessionId: string,
  through: number,
): Promise<void> {
  const metaKey = key("log_meta", sessionId);
  const first = await commitChecked(kv, metaKey, `the bounds of "${sessionId}"`, (value) => {
    const bounds = boundsOf(value);
    const first = Math.min(through, bounds.last) + 1;
    if (first <= bounds.first) return { result: undefined };
    return { op: kv.atomic().set(metaKey, { first, last: bounds.last }), result: first };
  });
  if (first === undefined) return;
  for (const space of ["log", "log_part"]) {
    const prefix = key(space, sessionId);
    await deleteAll(kv, { prefix, end: [...prefix, first] });
  }
}
