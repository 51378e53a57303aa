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

/** The flags of every client command, for `parseArgs`. */
export const CLIENT_OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** How the usage texts explain {@linkcode CLIENT_OPTIONS}. */
export const CLIENT_USAGE =
  `  --url URL                the runtime (default $ARCP_URL, else ${DEFAULT_URL})
  --token TOKEN            bearer token (default $ARCP_TOKEN)
  --json                   print JSON, one document per line
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
 * Reports an error the runtime answered with: its code on stderr and, with
 * `--json`, `{ type, payload }` (plus `extra`) on stdout.
 */
export function reportArcpError(
  error: ArcpError,
  json: boolean,
  type: "job.error" | "session.error",
  extra: Record<string, unknown> = {},
): number {
  if (json) printJson({ type, ...extra, payload: error.toPayload() });
  console.error(`error ${error.code}: ${error.message}`);
  return EXIT.arcpError;
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
 * it. Failing to connect prints `Cannot connect to URL: …` and yields
 * {@linkcode EXIT.connection}, as does any error of `use` other than an
 * `ArcpError`; `use` reports those itself where `--json` needs a line.
 */
export async function withClient(
  values: { url?: string | undefined; token?: string | undefined; session?: string | undefined },
  use: (client: Client) => Promise<number>,
): Promise<number> {
  const url = values.url ?? Deno.env.get("ARCP_URL") ?? DEFAULT_URL;
  const token = values.token ?? Deno.env.get("ARCP_TOKEN");
  const options: ConnectOptions = token === undefined ? {} : { token };
  const kv = values.session === undefined ? undefined : await openSessionFile(values.session);
  const resumeStore = kv === undefined ? undefined : new DenoKvResumeStateStore(kv);
  if (resumeStore !== undefined) options.resumeStore = resumeStore;
  try {
    let client: Client;
    try {
      client = await connect(url, options);
    } catch (error) {
      const message = (error as Error).message;
      // connect() names the URL itself when the WebSocket did not open.
      const line = message.startsWith("Cannot connect to ")
        ? message
        : `Cannot connect to ${url}: ${
          error instanceof ArcpError ? `${error.code} ` : ""
        }${message}`;
      console.error(line);
      return EXIT.connection;
    }
    try {
      return await use(client);
    } catch (error) {
      if (error instanceof ArcpError) return reportArcpError(error, false, "session.error");
      console.error(`Session failed: ${(error as Error).message}`);
      return EXIT.connection;
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
