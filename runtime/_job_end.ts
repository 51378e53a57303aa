// This module is browser compatible.
// A job's end is stored before anything shows it (see `RuntimeJob`): a
// client must never see an outcome the store contradicts. When the store
// refuses the end for good, the job ends with an INTERNAL_ERROR instead.

import { ArcpError } from "../protocol/errors.ts";
import type { JobErrorPayload } from "../protocol/messages.ts";
import type { JobRecord } from "../store/types.ts";
import { errorPayload } from "./_job_payload.ts";

/**
 * Stores an ended job's record. When the store refuses it for good (after
 * `storeRecord`'s retries), `replace` makes the job end with an
 * `INTERNAL_ERROR` naming the cause instead (its terminal envelope is
 * changed before anything sent it), and that record is stored if it can be.
 *
 * @returns Whether the record stored says how the job ended.
 */
export async function storeEnd(
  job: { readonly jobId: string; record(): JobRecord },
  io: { storeRecord(record: JobRecord): Promise<void>; logger: Pick<Console, "error"> },
  replace: (payload: JobErrorPayload) => void,
): Promise<boolean> {
  try {
    await io.storeRecord(job.record());
    return true;
  } catch (error) {
    const cause = error instanceof Error ? error.message : String(error);
    io.logger.error(
      `arcp runtime: cannot store the end of job ${job.jobId}; it ends with INTERNAL_ERROR`,
      error,
    );
    replace(
      errorPayload(
        new ArcpError("INTERNAL_ERROR", `Cannot store the end of job ${job.jobId}: ${cause}`),
      ),
    );
  }
  try {
    await io.storeRecord(job.record());
    return true;
  } catch (error) {
    io.logger.error(
      `arcp runtime: cannot store the failure of job ${job.jobId} either; ` +
        "its record says it runs until a restart ends it as lost",
      error,
    );
    return false;
  }
}
