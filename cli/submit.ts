/**
 * `cli.ts submit`: submits one job and prints its events and result.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { SubmitOptions } from "../client.ts";
import { ArcpError } from "../protocol/errors.ts";
import {
  CLIENT_OPTIONS,
  CLIENT_USAGE,
  EXIT,
  parseNumber,
  print,
  printLine,
  reportArcpError,
  SESSION_OPTION,
  SESSION_USAGE,
  withClient,
} from "./_client.ts";
import { follow } from "./_follow.ts";

export const SUBMIT_USAGE =
  `Usage: cli.ts submit [--url ws://127.0.0.1:7777/arcp] --token TOKEN [--json]
                     [--lease JSON] [--constraints JSON] [--idempotency-key KEY]
                     [--max-runtime SEC] [--detach] [--session PATH] AGENT [JSON]

Submits one job to AGENT (name or name@version) with JSON as its input, prints its
events (a progress bar on a terminal, JSON lines with --json) and its result; a
streamed result (result_chunk events) is printed once, assembled.
${CLIENT_USAGE}
  --lease JSON             the lease request, e.g. '{"fs.read":["/src/**"]}'
  --constraints JSON       lease constraints, e.g. '{"expires_at":"2030-01-01T00:00:00Z"}'
  --idempotency-key KEY    resubmitting with the same key returns the same job
  --max-runtime SEC        the job ends with TIMEOUT after SEC seconds (> 0)
  --detach                 print the accepted job and exit; the job runs on (follow
                           it with watch; with --session, cancel it with cancel
                           --session; without, it cannot be cancelled)
${SESSION_USAGE}
Ctrl-C cancels the job. Exit code: 0 on success, 1 when the job fails (its error
code is printed), 2 for usage errors, 3 when the session fails.`;

/** How a detached job can be followed and cancelled later: only its session may cancel it. */
function detachedHint(jobId: string, session: string | undefined): string {
  const watch = `follow it with: cli.ts watch ${jobId}`;
  if (session !== undefined) {
    return `job ${jobId} runs on; ${watch}; cancel it with: cli.ts cancel --session ${session} ${jobId}`;
  }
  return `job ${jobId} runs on; ${watch}. It cannot be cancelled: only the session that ` +
    `submitted a job may cancel it, and this one has ended. To cancel later, submit with ` +
    `--session PATH and cancel with: cli.ts cancel --session PATH JOB_ID (or bound it with ` +
    `--max-runtime SEC)`;
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
      ...CLIENT_OPTIONS,
      ...SESSION_OPTION,
      lease: { type: "string" },
      constraints: { type: "string" },
      "idempotency-key": { type: "string" },
      "max-runtime": { type: "string" },
      detach: { type: "boolean", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(SUBMIT_USAGE);
    return EXIT.success;
  }
  const [agent, inputText] = positionals;
  if (agent === undefined || positionals.length > 2) {
    console.error(SUBMIT_USAGE);
    return EXIT.usage;
  }
  let input: unknown = null;
  const options: SubmitOptions = {};
  try {
    if (inputText !== undefined) input = JSON.parse(inputText);
    if (values.lease !== undefined) options.leaseRequest = JSON.parse(values.lease);
    if (values.constraints !== undefined) options.leaseConstraints = JSON.parse(values.constraints);
  } catch (error) {
    console.error(`Invalid JSON: ${(error as Error).message}`);
    return EXIT.usage;
  }
  if (values["idempotency-key"] !== undefined) options.idempotencyKey = values["idempotency-key"];
  if (values["max-runtime"] !== undefined) {
    options.maxRuntimeSec = parseNumber("max-runtime", values["max-runtime"], {
      min: 0,
      exclusive: true,
    });
  }
  return await withClient(values, async (client) => {
    let job;
    try {
      job = await client.submit(agent, input, options);
    } catch (error) {
      if (!(error instanceof ArcpError)) throw error;
      return reportArcpError(error, values.json, "job.error");
    }
    if (values.json) printLine("job.accepted", job.accepted, job.jobId);
    else print(`job ${job.jobId} accepted: ${job.agent}\n`);
    if (values.detach) {
      console.error(detachedHint(job.jobId, values.session));
      return EXIT.success;
    }
    const cancel = () =>
      void job.cancel({ reason: "interrupted" }).catch((error) => {
        console.error(`cannot cancel job ${job.jobId}: ${(error as Error).message ?? error}`);
      });
    Deno.addSignalListener("SIGINT", cancel);
    try {
      return await follow(job, values.json);
    } finally {
      Deno.removeSignalListener("SIGINT", cancel);
    }
  });
}
