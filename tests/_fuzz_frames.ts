// Frames for the fuzzer (tests/_fuzz.ts): valid envelopes of every client
// message type, mutated, and frames that are not envelopes at all. Every
// frame is a pure function of (seed, connection, index), so a seed printed by
// a failing run regenerates the same frames; only the ids the runtime assigns
// (session, job, resume token) are spliced in when a frame is sent.

/** Stands for the session id of the connection, replaced when the frame is sent. */
export const SESSION = "{{session_id}}";
/** Stands for the id of a job the connection submitted, replaced when the frame is sent. */
export const JOB = "{{job_id}}";
/** Stands for the session's resume token, replaced when the frame is sent. */
export const RESUME_TOKEN = "{{resume_token}}";
/** Stands for the bearer token of the run, replaced when the frame is sent. */
export const BEARER = "{{token}}";

/** One frame to send: text (JSON or not) or binary. */
export interface FuzzFrame {
  /** What was done to make it, for reports: e.g. `job.submit/deep(10000)`. */
  label: string;
  /** The frame's content; a `Uint8Array` is sent as a binary frame. */
  data: string | Uint8Array;
}

/**
 * A small seeded PRNG (mulberry32): the same seed gives the same numbers on
 * every run and machine.
 */
export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** `true` with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The PRNG of one connection of a run: independent of how connections interleave. */
export function connectionPrng(seed: number, connection: number): Prng {
  return new Prng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(connection + 1, 0xc2b2ae35));
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Template = () => { [key: string]: Json };

const env = (type: string, payload: { [key: string]: Json }, fields = {}) => ({
  arcp: "1.1",
  id: `fuzz_${type}`,
  type,
  session_id: SESSION,
  ...fields,
  payload,
});

/** A valid envelope of every message type a client sends. */
export const TEMPLATES: Readonly<Record<string, Template>> = {
  "session.hello": () => ({
    arcp: "1.1",
    id: "fuzz_hello",
    type: "session.hello",
    payload: {
      client: { name: "fuzz", version: "0.0.0" },
      auth: { scheme: "bearer", token: BEARER },
      capabilities: { encodings: ["json"], features: ["ack", "list_jobs", "subscribe"] },
    },
  }),
  "session.hello+resume": () => ({
    arcp: "1.1",
    id: "fuzz_hello_resume",
    type: "session.hello",
    payload: {
      client: { name: "fuzz", version: "0.0.0" },
      auth: { scheme: "bearer", token: BEARER },
      resume: { session_id: SESSION, resume_token: RESUME_TOKEN, last_event_seq: 0 },
    },
  }),
  "session.resume": () =>
    env("session.resume", { session_id: SESSION, resume_token: RESUME_TOKEN, last_event_seq: 0 }),
  "session.ack": () => env("session.ack", { last_processed_seq: 1 }),
  "session.ping": () => env("session.ping", { nonce: "n1", sent_at: "2026-01-01T00:00:00.000Z" }),
  "session.pong": () =>
    env("session.pong", { ping_nonce: "n1", received_at: "2026-01-01T00:00:00.000Z" }),
  "session.close": () => env("session.close", { reason: "fuzz" }),
  "session.bye": () => env("session.bye", { reason: "fuzz" }),
  "session.list_jobs": () =>
    env("session.list_jobs", {
      filter: { status: ["running", "success"], agent: "echo" },
      limit: 10,
      cursor: null,
    }),
  "job.submit": () =>
    env("job.submit", {
      agent: "echo",
      input: { text: "hello", list: [1, 2, 3], nested: { ok: true } },
      idempotency_key: "fuzz-key",
      max_runtime_sec: 30,
    }),
  "job.submit+lease": () =>
    env("job.submit", {
      agent: "echo@1.0.0",
      input: { n: 2, delay_ms: 1 },
      lease_request: { "fs.read": ["/tmp/**"] },
      lease_constraints: { expires_at: "2099-01-01T00:00:00Z" },
    }),
  "job.cancel": () => env("job.cancel", { reason: "fuzz" }, { job_id: JOB }),
  "job.subscribe": () => env("job.subscribe", { job_id: JOB, from_event_seq: 0, history: true }),
  "job.unsubscribe": () => env("job.unsubscribe", { job_id: JOB }),
};

const TEMPLATE_NAMES = Object.keys(TEMPLATES);

// Texts spliced in after JSON.stringify: nesting and number literals that a
// JavaScript value cannot hold (or that our own stringify would overflow on).
const SPLICE = "\u0001splice\u0001";
const SPLICED = JSON.stringify(SPLICE);

const UNICODE = [
  "\ud800",
  "\udfff\ud800",
  "\u0000",
  "\u202eevil",
  "\u{1F600}\u{1F4A9}",
  "\u200b\u200d\ufeff",
  "e\u0301\u0301\u0301",
  "\uffff\ufffe",
  "ＡＲＣＰ",
  "../../etc/passwd",
  "%00%ff",
  "{{session_id}}",
];
const NUMBERS = [0, -0, -1, 1.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e308, 5e-324];
const NUMBER_LITERALS = ["1e999", "-1e999", "-0.0", "1E400", "123456789012345678901234567890"];
const STRANGE_TYPES = [
  "job.submitted",
  "x-fuzz",
  "session.welcome",
  "job.result",
  "job.event",
  "session.error",
  "",
  "JOB.SUBMIT",
  "__proto__",
  "constructor",
  "toString",
  "job.submit ",
];

function randomScalar(prng: Prng): Json {
  return prng.pick<Json>([null, true, false, 0, -1, "", "x", [], {}, [null], { a: 1 }, 1e308]);
}

function paths(value: Json, prefix: string[] = [], out: string[][] = []): string[][] {
  if (value !== null && typeof value === "object") {
    for (const key of Object.keys(value)) {
      const path = [...prefix, key];
      out.push(path);
      paths((value as Record<string, Json>)[key]!, path, out);
    }
  }
  return out;
}

function parentOf(root: { [key: string]: Json }, path: string[]): Record<string, Json> {
  let node: Json = root;
  for (const key of path.slice(0, -1)) node = (node as Record<string, Json>)[key]!;
  return node as Record<string, Json>;
}

function setAt(root: { [key: string]: Json }, path: string[], value: Json): void {
  parentOf(root, path)[path.at(-1)!] = value;
}

function deepText(prng: Prng, depth: number): string {
  const [open, close] = prng.pick([["[", "]"], ['{"a":', "}"]]);
  return open!.repeat(depth) + "1" + close!.repeat(depth);
}

/** One mutation: changes `root` in place, or returns text to splice in for {@linkcode SPLICE}. */
type Mutation = (prng: Prng, root: { [key: string]: Json }, path: string[]) => string | void;

const MUTATIONS: Record<string, Mutation> = {
  "wrong-type": (prng, root, path) => setAt(root, path, randomScalar(prng)),
  missing: (_prng, root, path) => void delete parentOf(root, path)[path.at(-1)!],
  "huge-string": (prng, root, path) => {
    // Mostly under the default frame cap (1 MiB), sometimes over it.
    const size = prng.pick([10_000, 70_000, 300_000, prng.chance(0.3) ? 1_100_000 : 80_000]);
    setAt(root, path, prng.pick(["x", "é", "\u{1F600}"]).repeat(size));
  },
  deep: (prng, root, path) => {
    setAt(root, path, SPLICE);
    return deepText(prng, prng.pick([65, 100, 1_000, 10_000, 50_000]));
  },
  unicode: (prng, root, path) => setAt(root, path, prng.pick(UNICODE)),
  "unicode-key": (prng, root, path) => {
    const parent = parentOf(root, path);
    parent[prng.pick(UNICODE)] = parent[path.at(-1)!] ?? null;
  },
  "number-edge": (prng, root, path) => {
    if (prng.chance(0.5)) return setAt(root, path, prng.pick(NUMBERS));
    setAt(root, path, SPLICE);
    return prng.pick(NUMBER_LITERALS);
  },
  "unknown-type": (prng, root) => void (root.type = prng.pick(STRANGE_TYPES)),
  "duplicate-id": (prng, root) => void (root.id = prng.pick(["dup", "dup", "fuzz_job.submit"])),
  "wrong-version": (prng, root) =>
    void (root.arcp = prng.pick<Json>(["2.0", "1", "1.99", "", 1.1])),
  "wrong-session": (prng, root) =>
    void (root.session_id = prng.pick<Json>(["sess_00000000000000000000000000", "", 7])),
  "proto-key": (prng, root, path) => {
    const parent = parentOf(root, path);
    parent[prng.pick(["__proto__", "constructor", "prototype", "hasOwnProperty"])] = { a: 1 };
  },
  "wide-object": (prng, root, path) => {
    const wide: Record<string, Json> = {};
    for (let i = 0; i < prng.pick([100, 20_000]); i++) wide[`k${i}`] = i;
    setAt(root, path, wide);
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

function mutated(prng: Prng): FuzzFrame {
  const name = prng.pick(TEMPLATE_NAMES);
  const root = TEMPLATES[name]!();
  const applied: string[] = [];
  const splices: string[] = [];
  const count = 1 + prng.int(3);
  for (let i = 0; i < count; i++) {
    const all = paths(root);
    if (all.length === 0) break;
    const mutation = prng.pick(MUTATION_NAMES);
    const spliced = MUTATIONS[mutation]!(prng, root, prng.pick(all));
    if (spliced !== undefined) splices.push(spliced);
    applied.push(mutation);
  }
  let text = JSON.stringify(root);
  // Splice markers may have been overwritten by a later mutation: only those left are replaced.
  for (const spliced of splices) text = text.replace(SPLICED, spliced);
  text = text.replaceAll(SPLICED, "null");
  if (prng.chance(0.1)) text = `{"id":"dup-key","type":"job.submit",${text.slice(1)}`;
  return { label: `${name}/${applied.join("+")}`, data: text };
}

function randomBytes(prng: Prng, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = prng.int(256);
  return bytes;
}

const NOT_OBJECTS = ["null", "[]", "1", '"arcp"', "true", "{}", "[{}]", "", " \n\t", "{", "}"];

function randomFrame(prng: Prng): FuzzFrame {
  const valid = JSON.stringify(TEMPLATES[prng.pick(TEMPLATE_NAMES)]!());
  // The over-cap frame costs 1 MiB per send: one random frame in eleven.
  switch (prng.int(11)) {
    case 0:
    case 1:
      return { label: "random/binary-bytes", data: randomBytes(prng, prng.int(2_048)) };
    case 2:
      return { label: "random/binary-envelope", data: new TextEncoder().encode(valid) };
    case 3:
    case 4:
      return { label: "random/truncated-json", data: valid.slice(0, prng.int(valid.length)) };
    case 5:
    case 6: {
      const codes = Array.from({ length: prng.int(500) }, () => prng.int(0x3000));
      return { label: "random/text", data: String.fromCharCode(...codes) };
    }
    case 7:
    case 8:
    case 9:
      return { label: "random/not-an-object", data: prng.pick(NOT_OBJECTS) };
    default:
      return { label: "random/over-frame-cap", data: `{"pad":"${"z".repeat(1_100_000)}"}` };
  }
}

/**
 * The frames connection `connection` of a run seeded `seed` sends: mostly
 * mutated envelopes, some random frames, some valid envelopes left as they
 * are. The same arguments always give the same frames.
 */
export function planFrames(seed: number, connection: number, count: number): FuzzFrame[] {
  const prng = connectionPrng(seed, connection);
  return Array.from({ length: count }, () => {
    const roll = prng.next();
    if (roll < 0.1) {
      const name = prng.pick(TEMPLATE_NAMES);
      return { label: `${name}/valid`, data: JSON.stringify(TEMPLATES[name]!()) };
    }
    if (roll < 0.2) return extremeInput(prng);
    if (roll < 0.4) return randomFrame(prng);
    return mutated(prng);
  });
}

/** Values a valid envelope may carry as free-form input; {@linkcode extremeInput} picks one. */
const EXTREMES = ["deep", "huge-string", "unicode", "number-edge", "wide-object", "proto-key"];

// A valid job.submit whose input is extreme: it passes validation, so it
// reaches the agent, the store and the result path, where mutations rarely get.
function extremeInput(prng: Prng): FuzzFrame {
  const root = TEMPLATES["job.submit"]!();
  // Without the template's idempotency key, which would answer DUPLICATE_KEY instead of running.
  delete (root.payload as Record<string, Json>).idempotency_key;
  const mutation = prng.pick(EXTREMES);
  const path = ["payload", "input", prng.pick(["text", "list", "nested"])];
  const spliced = MUTATIONS[mutation]!(prng, root, path);
  const text = JSON.stringify(root);
  return {
    label: `job.submit/input-${mutation}`,
    data: spliced === undefined ? text : text.replace(SPLICED, spliced),
  };
}

/** Whether connection `connection` of a run seeded `seed` says hello before fuzzing. */
export function authenticates(seed: number, connection: number): boolean {
  return connectionPrng(seed ^ 0x5bd1e995, connection).chance(0.6);
}

/** A short, printable preview of a frame for reports. */
export function preview(frame: FuzzFrame, max = 160): string {
  const text = typeof frame.data === "string" ? frame.data : `<binary ${frame.data.length} bytes>`;
  const shown = text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
  return JSON.stringify(shown);
}
