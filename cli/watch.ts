/**
 * `cli.ts watch`: follows a job, typically one another client submitted,
 * until it ends (spec 1.1 §7.6).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ArcpError } from "../protocol/errors.ts";
import {
  CLIENT_OPTIONS,
  CLIENT_USAGE,
  EXIT,
  EXIT_CODES_USAGE,
  print,
  printLine,
  reportArcpError,
  withClient,
} from "./_client.ts";
import { follow } from "./_follow.ts";

export const WATCH_USAGE = `Usage: cli.ts watch [--url URL] [--token TOKEN] [--json] [--live] JOB_ID

Subscribes to the job JOB_ID of the same principal, replays the events the runtime
still holds, then follows it live until it ends, printing events and the result as
submit does. Watching never cancels: Ctrl-C stops watching, the job goes on.
${CLIENT_USAGE}
  --live                   skip the replay: only events from now on
A streamed result (result_chunk events) is printed only when every chunk arrived:
after --live, or once the runtime no longer holds them, the job's success is
printed with "result (N bytes): not shown: ..." (with --json, "result_unavailable"
in the job.result payload), and the exit code is still 0.
The exit code follows the job's outcome.
${EXIT_CODES_USAGE}`;

/**
 * Runs `watch` and returns the exit code.
 *
 * @param args Arguments after `watch`.
 * @returns 0 when the job succeeds, 1 when it fails or cannot be watched (the
 *   ARCP code is printed), 2 on usage errors, 3 on session failure.
 */
export async function watch(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...CLIENT_OPTIONS, live: { type: "boolean", default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(WATCH_USAGE);
    return EXIT.success;
  }
  const [jobId] = positionals;
  if (jobId === undefined || positionals.length > 1) {
    console.error(WATCH_USAGE);
    return EXIT.usage;
  }
  return await withClient(values, async (client) => {
    let job;
    try {
      job = await client.subscribe(jobId, { history: !values.live });
    } catch (error) {
      if (!(error instanceof ArcpError)) throw error;
      return reportArcpError(error, values.json, "session.error", jobId);
    }
    if (values.json) printLine("job.subscribed", job.subscribed, job.jobId);
    else print(`watching job ${job.jobId}: ${job.agent} (${job.subscribed.current_status})\n`);
    return await follow(job, values.json);
  });
}
