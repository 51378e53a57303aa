/**
 * `cli.ts submit`: submits one job and prints its events and result.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect, type SubmitOptions } from "../client.ts";
import { ArcpError } from "../protocol/errors.ts";
import type { JobEvent, ProgressBody } from "../protocol/events.ts";

export const SUBMIT_USAGE =
  `Usage: cli.ts submit [--url ws://127.0.0.1:7777/arcp] --token TOKEN [--json]
                     [--lease JSON] [--constraints JSON] [--idempotency-key KEY]
                     [--max-runtime SEC] AGENT [JSON]

Submits one job to AGENT (name or name@version) with JSON as its input, prints its
events (a progress bar on a terminal, JSON lines with --json) and its result.
  --lease JSON             the lease request, e.g. '{"fs.read":["/src/**"]}'
  --constraints JSON       lease constraints, e.g. '{"expires_at":"2030-01-01T00:00:00Z"}'
  --idempotency-key KEY    resubmitting with the same key returns the same job
  --max-runtime SEC        the job ends with TIMEOUT after SEC seconds
Ctrl-C cancels the job. Exit code: 0 on success, 1 when the job fails (its error
code is printed), 2 for usage errors, 3 when the session fails.`;

const encoder = new TextEncoder();

function describe(event: JobEvent): string {
  const { kind, body } = event.payload;
  switch (kind) {
    case "log":
      return `${body.level}: ${body.message}`;
    case "progress":
      return `${body.current}${body.total === undefined ? "" : `/${body.total}`} ${
        body.units ?? ""
      }${body.message ? ` ${body.message}` : ""}`;
    case "status":
      return `${body.phase}${body.message ? `: ${body.message}` : ""}`;
    default:
      return JSON.stringify(body);
  }
}

function bar(current: number, total: number | undefined, label: string): string {
  const width = 30;
  if (total === undefined || total <= 0) return `\r${current} ${label}`.slice(0, 100);
  const filled = Math.round(Math.min(1, current / total) * width);
  return `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${current}/${total} ${label}`
    .slice(0, 100)
    .padEnd(100);
}

/**
 * Runs `submit` and returns the exit code.
 *
 * @param args Arguments after `submit`.
 * @returns 0 on success, 1 on job failure, 2 on usage errors, 3 on session failure.
 */
export async function submit(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      url: { type: "string", default: "ws://127.0.0.1:7777/arcp" },
      token: { type: "string" },
      json: { type: "boolean", default: false },
      lease: { type: "string" },
      constraints: { type: "string" },
      "idempotency-key": { type: "string" },
      "max-runtime": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(SUBMIT_USAGE);
    return 0;
  }
  const [agent, inputText] = positionals;
  if (agent === undefined || positionals.length > 2) {
    console.error(SUBMIT_USAGE);
    return 2;
  }
  let input: unknown = null;
  const options: SubmitOptions = {};
  try {
    if (inputText !== undefined) input = JSON.parse(inputText);
    if (values.lease !== undefined) options.leaseRequest = JSON.parse(values.lease);
    if (values.constraints !== undefined) options.leaseConstraints = JSON.parse(values.constraints);
  } catch (error) {
    console.error(`Invalid JSON: ${(error as Error).message}`);
    return 2;
  }
  if (values["idempotency-key"] !== undefined) options.idempotencyKey = values["idempotency-key"];
  if (values["max-runtime"] !== undefined) options.maxRuntimeSec = Number(values["max-runtime"]);
  const tty = !values.json && Deno.stdout.isTerminal();
  const print = (line: string) => Deno.stdout.writeSync(encoder.encode(line));
  let client;
  try {
    client = await connect(values.url, values.token === undefined ? {} : { token: values.token });
  } catch (error) {
    console.error(
      `Cannot connect to ${values.url}: ${error instanceof ArcpError ? `${error.code} ` : ""}${
        (error as Error).message
      }`,
    );
    return 3;
  }
  try {
    const job = await client.submit(agent, input, options);
    const cancel = () => void job.cancel({ reason: "interrupted" }).catch(() => {});
    Deno.addSignalListener("SIGINT", cancel);
    try {
      if (values.json) {
        print(`${JSON.stringify({ type: "job.accepted", payload: job.accepted })}\n`);
      } else print(`job ${job.jobId} accepted: ${job.agent}\n`);
      let barShown = false;
      for await (const event of job) {
        if (values.json) {
          print(`${JSON.stringify(event)}\n`);
        } else if (tty && event.payload.kind === "progress") {
          const { current, total, units, message } = event.payload.body as unknown as ProgressBody;
          print(bar(current, total, message ?? units ?? ""));
          barShown = true;
        } else if (
          !tty || event.payload.kind !== "tool_call" && event.payload.kind !== "tool_result"
        ) {
          print(
            `${barShown ? "\n" : ""}[${event.event_seq}] ${event.payload.kind} ${
              describe(event)
            }\n`,
          );
          barShown = false;
        }
      }
      if (barShown) print("\n");
      const result = await job.result;
      if (values.json) {
        print(`${JSON.stringify({ type: "job.result", job_id: job.jobId, payload: result })}\n`);
      } else print(`result: ${JSON.stringify(result.result, null, 2)}\n`);
      return 0;
    } finally {
      Deno.removeSignalListener("SIGINT", cancel);
    }
  } catch (error) {
    if (!(error instanceof ArcpError)) {
      console.error(`Session failed: ${(error as Error).message}`);
      return 3;
    }
    if (values.json) {
      print(`${JSON.stringify({ type: "job.error", payload: error.toPayload() })}\n`);
    }
    console.error(`error ${error.code}: ${error.message}`);
    return 1;
  } finally {
    await client.close();
  }
}
