/**
 * `cli.ts cancel`: cancels a job (spec §7.4).
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
  printLine,
  reportArcpError,
  SESSION_OPTION,
  SESSION_USAGE,
  withClient,
} from "./_client.ts";

export const CANCEL_USAGE =
  `Usage: cli.ts cancel [--url URL] [--token TOKEN] [--json] [--session PATH]
                     [--reason TEXT] JOB_ID

Cancels the running job JOB_ID; it then ends with CANCELLED. Only the session that
submitted a job may cancel it: submit with --session PATH and cancel with the same
--session PATH (Ctrl-C cancels a job that submit follows).
${CLIENT_USAGE}
${SESSION_USAGE}
  --reason TEXT            why, as job.cancel's reason
${EXIT_CODES_USAGE}`;

/**
 * Runs `cancel` and returns the exit code.
 *
 * @param args Arguments after `cancel`.
 * @returns 0 once the runtime acknowledged, 1 when it refused (the ARCP code
 *   is printed), 2 on usage errors, 3 on session failure.
 */
export async function cancel(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...CLIENT_OPTIONS, ...SESSION_OPTION, reason: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(CANCEL_USAGE);
    return EXIT.success;
  }
  const [jobId] = positionals;
  if (jobId === undefined || positionals.length > 1) {
    console.error(CANCEL_USAGE);
    return EXIT.usage;
  }
  return await withClient(values, async (client) => {
    try {
      await client.cancel(jobId, values.reason === undefined ? {} : { reason: values.reason });
    } catch (error) {
      if (!(error instanceof ArcpError)) throw error;
      reportArcpError(error, values.json, "session.error", jobId);
      if (error.code === "PERMISSION_DENIED" && values.session === undefined) {
        console.error("Cancel from the submitting session: pass the --session that submit used");
      }
      return EXIT.arcpError;
    }
    if (values.json) {
      const payload = values.reason === undefined ? {} : { reason: values.reason };
      printLine("job.cancelled", payload, jobId);
    } else console.log(`job ${jobId} cancelled`);
    return EXIT.success;
  });
}
