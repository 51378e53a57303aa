// Prints a job's events and its outcome until it ends, for `submit` and
// `watch`: a progress bar on a terminal, readable lines in a pipe, or the wire
// messages as JSON lines.

import type { JobView } from "../client.ts";
import { ArcpError } from "../protocol/errors.ts";
import type { JobEvent, ProgressBody } from "../protocol/events.ts";
import { EXIT, print, printJson, reportArcpError } from "./_client.ts";

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
 * Prints `job`'s events as they come and then its result, and yields the exit
 * code: {@linkcode EXIT.success} for `job.result`, {@linkcode EXIT.arcpError}
 * (the code printed) for `job.error`. A lost connection rejects.
 */
export async function follow(job: JobView, json: boolean): Promise<number> {
  // The bar redraws one line in place, which only a terminal shows as such.
  const tty = !json && Deno.stdout.isTerminal();
  try {
    let barShown = false;
    for await (const event of job) {
      if (json) {
        printJson(event);
      } else if (tty && event.payload.kind === "progress") {
        const { current, total, units, message } = event.payload.body as unknown as ProgressBody;
        print(bar(current, total, message ?? units ?? ""));
        barShown = true;
      } else if (
        !tty || event.payload.kind !== "tool_call" && event.payload.kind !== "tool_result"
      ) {
        print(
          `${barShown ? "\n" : ""}[${event.event_seq}] ${event.payload.kind} ${describe(event)}\n`,
        );
        barShown = false;
      }
    }
    if (barShown) print("\n");
    const result = await job.result;
    if (json) printJson({ type: "job.result", job_id: job.jobId, payload: result });
    else print(`result: ${JSON.stringify(result.result, null, 2)}\n`);
    return EXIT.success;
  } catch (error) {
    if (!(error instanceof ArcpError)) throw error;
    return reportArcpError(error, json, "job.error");
  }
}
