// What every client command of the CLI shares: the exit codes, the
// connection flags, connecting (optionally resuming a session kept in a file),
// and printing lines and errors.

import { type Client, connect, type ConnectOptions } from "../client.ts";
import { DenoKvResumeStateStore } from "../client/resume_state_deno_kv.ts";
import { ArcpError } from "../protocol/errors.ts";

/** The CLI's exit codes; a stable contract for scripts. */
export const EXIT = {
  /** The command did what was asked; a job ended with `job.result`. */
  success: 0,
  /** A job ended with `job.error`, or the runtime refused the request: its ARCP code is printed. */
  arcpError: 1,
  /** Bad flags or arguments. */
  usage: 2,
  /** No session: the runtime is unreachable, refused the token, or the connection was lost. */
  connection: 3,
} as const;

/** The exit codes as the usage texts explain them. */
export const EXIT_CODES_USAGE =
  `Exit codes: 0 success; 1 the job ended in error or the runtime refused the
request (its ARCP error code is printed); 2 usage error; 3 cannot connect,
authentication failed or the connection was lost.`;

const DEFAULT_URL = "ws://127.0.0.1:7777/arcp";
/** How long a command tries to get a lost connection back before it exits 3. */
const DEFAULT_RECONNECT_TIMEOUT_SEC = 30;

/** The flags of every client command, for `parseArgs`. */
export const CLIENT_OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  "reconnect-timeout": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** How the usage texts explain {@linkcode CLIENT_OPTIONS}. */
export const CLIENT_USAGE =
  `  --url URL                the runtime (default $ARCP_URL, else ${DEFAULT_URL})
  --token TOKEN            bearer token (default $ARCP_TOKEN)
  --reconnect-timeout SEC  when the connection is lost, try to resume the session
                           for SEC seconds, then exit 3 (default ${DEFAULT_RECONNECT_TIMEOUT_SEC};
                           0: do not reconnect)
  --json                   print JSON lines of one shape (see cli.ts --help)
  -h, --help               print this help`;

/** The `--session` flag of the commands that act as the submitting session. */
export const SESSION_OPTION = { session: { type: "string" } } as const;

/** How the usage texts explain {@linkcode SESSION_OPTION}. */
export const SESSION_USAGE =
  `  --session PATH           keep this session in the Deno KV file PATH and resume it
                           there next time: only the submitting session may cancel
                           a job. One process at a time per file; same --url each time`;

const encoder = new TextEncoder();

/** Writes `text` to stdout as is: whole, with no newline added. */
export function print(text: string): void {
  const bytes = encoder.encode(text);
  for (let written = 0; written < bytes.length;) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }
}

/** Prints `value` as one line of JSON. */
export function printJson(value: unknown): void {
  print(`${JSON.stringify(value)}\n`);
}

/**
 * How `--json` output is shaped, for the usage texts: the contract that
 * {@linkcode printLine} keeps.
 */
export const JSON_USAGE =
  `With --json every line on stdout is one JSON object {"type", "payload", "job_id"?}:
type names the line, payload is an object, job_id is there when the line is about
one job. Wire messages (job.event) are printed as received, so they also carry
the envelope's other fields (arcp, id, session_id, event_seq, ...). Failures are
lines too: "job.error" and "session.error" (payload: the ARCP error), and
"connection.error" (payload: message, and code when the runtime gave one). Usage
errors (exit 2) print only on stderr.`;

/** Prints one `--json` line: `{ type, job_id?, payload }` (see {@linkcode JSON_USAGE}). */
export function printLine(type: string, payload: object, jobId?: string): void {
  printJson(jobId === undefined ? { type, payload } : { type, job_id: jobId, payload });
}

/**
 * Reports an error the runtime answered with: its code on stderr and, with
 * `--json`, a `type` line whose payload is the error.
 */
export function reportArcpError(
  error: ArcpError,
  json: boolean,
  type: "job.error" | "session.error",
  jobId?: string,
): number {
  if (json) printLine(type, error.toPayload(), jobId);
  console.error(`error ${error.code}: ${error.message}`);
  return EXIT.arcpError;
}

/**
 * Reports a connection that could not be made or was lost: one line on
 * stderr and, with `--json`, a `connection.error` line.
 */
function reportConnectionError(line: string, json: boolean, code?: string): number {
  if (json) {
    printLine("connection.error", code === undefined ? { message: line } : { message: line, code });
  }
  console.error(line);
  return EXIT.connection;
}

/** What {@linkcode parseNumber} accepts. */
export interface NumberRange {
  /** Only whole numbers. */
  integer?: boolean;
  /** The least value allowed. */
  min?: number;
  /** Whether `min` itself is refused (for "more than 0"). */
  exclusive?: boolean;
  /** The greatest value allowed. */
  max?: number;
}

/**
 * The number a numeric flag gives, or a usage error (a `TypeError`, exit 2)
 * naming the flag, the value and what was expected.
 *
 * @param flag The flag's name, without dashes.
 * @param text The value as given.
 * @param range What is allowed.
 */
export function parseNumber(flag: string, text: string, range: NumberRange = {}): number {
  const value = text.trim() === "" ? NaN : Number(text);
  const { integer = false, min, exclusive = false, max } = range;
  const valid = Number.isFinite(value) && (!integer || Number.isInteger(value)) &&
    (min === undefined || (exclusive ? value > min : value >= min)) &&
    (max === undefined || value <= max);
  if (valid) return value;
  const kind = integer ? "an integer" : "a number";
  const bounds = [
    min === undefined ? undefined : `${exclusive ? ">" : ">="} ${min}`,
    max === undefined ? undefined : `<= ${max}`,
  ].filter(Boolean).join(" and ");
  throw new TypeError(`Invalid --${flag} "${text}": expected ${kind}${bounds ? ` ${bounds}` : ""}`);
}

async function openSessionFile(path: string): Promise<Deno.Kv> {
  try {
    return await Deno.openKv(path);
  } catch (error) {
    throw new TypeError(`Cannot open --session "${path}": ${(error as Error).message}`);
  }
}

/**
 * Connects with the connection flags, runs `use` with the client and closes
 * it. Failing to connect prints `Cannot connect to URL: <why>` in one line
 * (and with `--json` a `connection.error` line) and yields
 * {@linkcode EXIT.connection}, as does a connection lost during `use` and
 * not resumed within `--reconnect-timeout` seconds. An
 * `ArcpError` that `use` does not handle is a `session.error`.
 */
export async function withClient(
  values: {
    url?: string | undefined;
    token?: string | undefined;
    session?: string | undefined;
    json?: boolean | undefined;
    "reconnect-timeout"?: string | undefined;
  },
  use: (client: Client) => Promise<number>,
): Promise<number> {
  const json = values.json ?? false;
  const url = values.url ?? Deno.env.get("ARCP_URL") ?? DEFAULT_URL;
  const token = values.token ?? Deno.env.get("ARCP_TOKEN");
  const options: ConnectOptions = token === undefined ? {} : { token };
  const reconnectSec = values["reconnect-timeout"] === undefined
    ? DEFAULT_RECONNECT_TIMEOUT_SEC
    : parseNumber("reconnect-timeout", values["reconnect-timeout"], { min: 0 });
  // Bounded, unlike the library's default (the runtime's resume window): a
  // command someone waits on must end when the runtime is gone for good.
  options.reconnect = reconnectSec === 0 ? false : { maxElapsedMs: reconnectSec * 1_000 };
  const kv = values.session === undefined ? undefined : await openSessionFile(values.session);
  const resumeStore = kv === undefined ? undefined : new DenoKvResumeStateStore(kv);
  if (resumeStore !== undefined) options.resumeStore = resumeStore;
  try {
    let client: Client;
    try {
      client = await connect(url, options);
    } catch (error) {
      const message = (error as Error).message;
      const code = (error as { code?: string }).code;
      // connect() names the URL itself when the WebSocket did not open.
      const line = message.startsWith("Cannot connect to ")
        ? message
        : `Cannot connect to ${url}: ${code === undefined ? "" : `${code} `}${message}`;
      return reportConnectionError(line, json, code);
    }
    try {
      return await use(client);
    } catch (error) {
      if (error instanceof ArcpError) return reportArcpError(error, json, "session.error");
      const { message, code } = error as { message: string; code?: string };
      return reportConnectionError(`Session failed: ${message}`, json, code);
    } finally {
      await client.close();
    }
  } finally {
    // The store's operations run one after another, so this load waits for the
    // state saved on close: the rotated resume token must reach the file.
    await resumeStore?.load(url);
    kv?.close();
  }
}
