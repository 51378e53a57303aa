/**
 * `cli.ts jobs`: lists the principal's jobs (spec 1.1 §6.6).
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { ListJobsOptions } from "../client.ts";
import { ArcpError } from "../protocol/errors.ts";
import type { JobStatus } from "../protocol/messages.ts";
import {
  CLIENT_OPTIONS,
  CLIENT_USAGE,
  EXIT,
  EXIT_CODES_USAGE,
  parseNumber,
  printLine,
  reportArcpError,
  withClient,
} from "./_client.ts";

const STATUSES: readonly string[] = Object.keys(
  {
    pending: true,
    running: true,
    success: true,
    error: true,
    cancelled: true,
    timed_out: true,
  } satisfies Record<JobStatus, true>,
);

export const JOBS_USAGE =
  `Usage: cli.ts jobs [--url URL] [--token TOKEN] [--json] [--status STATUS[,STATUS]]...
                   [--agent NAME[@VERSION]] [--created-after TIME]
                   [--created-before TIME] [--limit N]

Lists the principal's jobs, finished ones included, oldest first: a table, or with
--json one "job.summary" line per job, its payload as in session.jobs.
${CLIENT_USAGE}
  --status STATUS          only jobs in these states (repeatable or comma-separated):
                           ${STATUSES.join(", ")}
  --agent NAME[@VERSION]   only jobs of this agent; a bare name matches every version
  --created-after TIME     only jobs created after TIME (ISO-8601, e.g. 2026-05-13T00:00:00Z)
  --created-before TIME    only jobs created before TIME (ISO-8601)
  --limit N                list at most N jobs
${EXIT_CODES_USAGE}`;

function statuses(values: string[]): JobStatus[] | undefined {
  const list = values.flatMap((value) => value.split(",")).map((s) => s.trim()).filter(Boolean);
  for (const status of list) {
    if (!STATUSES.includes(status)) {
      throw new TypeError(`Invalid --status "${status}": expected one of ${STATUSES.join(", ")}`);
    }
  }
  return list.length === 0 ? undefined : list as JobStatus[];
}

function instant(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    throw new TypeError(`Invalid --${flag} "${value}": expected an ISO-8601 time`);
  }
  return new Date(time).toISOString();
}

const WIDTHS = [30, 9, 24];

/** One table line: job id, status, creation time and agent. */
function row(columns: [string, string, string, string]): string {
  // The agent goes last: the only column of no fixed width.
  return columns.map((column, i) => column.padEnd(WIDTHS[i] ?? 0)).join("  ");
}

/**
 * Runs `jobs` and returns the exit code.
 *
 * @param args Arguments after `jobs`.
 * @returns 0 on success, 1 when the runtime refuses the listing, 2 on usage
 *   errors, 3 on session failure.
 */
export async function jobs(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...CLIENT_OPTIONS,
      status: { type: "string", multiple: true, default: [] },
      agent: { type: "string" },
      "created-after": { type: "string" },
      "created-before": { type: "string" },
      limit: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(JOBS_USAGE);
    return EXIT.success;
  }
  if (positionals.length > 0) {
    console.error(JOBS_USAGE);
    return EXIT.usage;
  }
  const filter: NonNullable<ListJobsOptions["filter"]> = {};
  const status = statuses(values.status);
  const after = instant(values["created-after"], "created-after");
  const before = instant(values["created-before"], "created-before");
  if (status !== undefined) filter.status = status;
  if (values.agent !== undefined) filter.agent = values.agent;
  if (after !== undefined) filter.created_after = after;
  if (before !== undefined) filter.created_before = before;
  const limit = values.limit === undefined
    ? Infinity
    : parseNumber("limit", values.limit, { integer: true, min: 1 });
  return await withClient(values, async (client) => {
    let listed = 0;
    try {
      pages: for await (const page of client.listJobs({ filter, limit: Math.min(limit, 100) })) {
        for (const job of page.jobs) {
          if (values.json) printLine("job.summary", job, job.job_id);
          else {
            if (listed === 0) console.log(row(["JOB", "STATUS", "CREATED", "AGENT"]));
            console.log(row([job.job_id, job.status, job.created_at, job.agent]));
          }
          if (++listed >= limit) break pages;
        }
      }
    } catch (error) {
      if (!(error instanceof ArcpError)) throw error;
      return reportArcpError(error, values.json, "session.error");
    }
    if (listed === 0 && !values.json) console.log("no jobs");
    return EXIT.success;
  });
}
