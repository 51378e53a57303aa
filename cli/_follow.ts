// Prints a job's events and its outcome until it ends, for `submit` and
// `watch`: a progress bar on a terminal, readable lines in a pipe, or the wire
// messages as JSON lines.

import type { JobView } from "../client.ts";
import { ArcpError } from "../protocol/errors.ts";
import { encodeBase64 } from "../internal/base64.ts";
import type { JobEvent, ProgressBody } from "../protocol/events.ts";
import type { JobResultPayload } from "../protocol/messages.ts";
import { EXIT, print, printJson, printLine, reportArcpError } from "./_client.ts";

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
    case "result_chunk":
      // The data is printed once, assembled, with the result.
      return `chunk ${body.chunk_seq} of ${body.result_id}${body.more ? "" : " (last)"}`;
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
    if (result.result_id === undefined) {
      if (json) printLine("job.result", result, job.jobId);
      else print(`result: ${JSON.stringify(result.result, null, 2)}\n`);
    } else {
      let bytes: Uint8Array;
      try {
        bytes = await job.resultBytes();
      } catch (error) {
        // A late watcher: the job succeeded, its chunks went by before the watch began.
        if (!(error instanceof ArcpError && error.code === "RESUME_WINDOW_EXPIRED")) throw error;
        printUnavailable(result, error.message, job.jobId, json);
        return EXIT.success;
      }
      printStreamed(result, bytes, job.jobId, json);
    }
    return EXIT.success;
  } catch (error) {
    if (!(error instanceof ArcpError)) throw error;
    return reportArcpError(error, json, "job.error", job.jobId);
  }
}

/**
 * Prints what is known of a streamed result whose chunks this watcher did not
 * receive: the `job.result` payload and why its data is missing (with
 * `--json`, as `result_unavailable` in the `job.result` payload).
 */
function printUnavailable(
  payload: JobResultPayload,
  why: string,
  jobId: string,
  json: boolean,
): void {
  if (json) return printLine("job.result", { ...payload, result_unavailable: why }, jobId);
  if (payload.summary !== undefined) print(`summary: ${payload.summary}\n`);
  const size = payload.result_size === undefined ? "" : ` (${payload.result_size} bytes)`;
  print(`result${size}: not shown: ${why}\n`);
}

/**
 * Prints a streamed result (spec 1.1 §8.4) assembled from its chunks: as
 * text when it is UTF-8, and with `--json` in the `job.result` payload as
 * `result` (text) or `result_base64`.
 */
function printStreamed(
  payload: JobResultPayload,
  bytes: Uint8Array,
  jobId: string,
  json: boolean,
): void {
  let text: string | undefined;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    text = undefined;
  }
  if (json) {
    const assembled = text === undefined
      ? { result_base64: encodeBase64(bytes) }
      : { result: text };
    return printLine("job.result", { ...payload, ...assembled }, jobId);
  }
  if (payload.summary !== undefined) print(`summary: ${payload.summary}\n`);
  if (text === undefined) {
    print(`result: ${bytes.length} bytes of binary data (--json prints them as base64)\n`);
  } else print(`result (${bytes.length} bytes):\n${text}${text.endsWith("\n") ? "" : "\n"}`);
}
