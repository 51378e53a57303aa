// This module is browser compatible.
// The job-listing filter of spec 1.1 §6.6, shared by every store so that they
// cannot disagree on what a filter means.

import type { JobQuery, JobRecord } from "./types.ts";

/** Whether `job` belongs in the listing `query` asks for (ignoring `limit`). */
export function jobMatches(job: JobRecord, query: JobQuery): boolean {
  if (job.principal !== query.principal) return false;
  if (query.after_job_id !== undefined && job.job_id <= query.after_job_id) return false;
  if (query.status !== undefined && !query.status.includes(job.status)) return false;
  if (
    query.agent !== undefined && job.agent !== query.agent &&
    !job.agent.startsWith(`${query.agent}@`)
  ) {
    return false;
  }
  const created = Date.parse(job.created_at);
  if (query.created_after !== undefined && !(created > Date.parse(query.created_after))) {
    return false;
  }
  if (query.created_before !== undefined && !(created < Date.parse(query.created_before))) {
    return false;
  }
  return true;
}
