// This module is browser compatible.
// `ctx.fetch`: an HTTP request under the job's lease (spec §9), reported as a
// `net.fetch` tool call, with every redirect hop authorised again and the
// job's W3C trace context on each request (spec §11).

import { newSpanId } from "../protocol/ids.ts";
import type { ContextSource } from "./_agent_context.ts";

/** What a lease-enforced fetch needs of its job. */
export type FetchingJob = Pick<ContextSource, "authorize" | "signal" | "tool" | "traceId">;

/** Statuses `ctx.fetch` follows, each hop authorised against the lease. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

/**
 * Fetches `input` for `job` through `send` (the runtime's `fetch`), following
 * redirects itself unless `init.redirect` is `"manual"` or `"error"`.
 *
 * @throws {ArcpError} `PERMISSION_DENIED`, `LEASE_EXPIRED` or
 *   `BUDGET_EXHAUSTED` when the lease refuses the URL or a redirect target;
 *   `INTERNAL_ERROR` when the request fails or redirects are refused.
 */
export function leasedFetch(
  job: FetchingJob,
  send: typeof fetch,
  input: string | URL,
  init: RequestInit,
): Promise<Response> {
  const url = String(input);
  const method = init.method ?? "GET";
  // The fetch's span, while a provider records it: the server's spans go under it.
  let traceparent: string | undefined;
  return job.tool("net.fetch", { url, method }, async () => {
    let target = job.authorize("net.fetch", url);
    let request: RequestInit = {
      ...init,
      signal: init.signal ?? job.signal,
      redirect: "manual",
    };
    // Redirects are followed here, each hop through the lease: a leased URL
    // must not be a way to reach an unleased one.
    for (let hop = 0;; hop++) {
      const headers = new Headers(request.headers);
      // W3C trace context travels with the request (spec §11).
      headers.set("traceparent", traceparent ?? `00-${job.traceId}-${newSpanId()}-01`);
      const response = await send(target, { ...request, headers });
      const location = response.headers.get("location");
      if (!REDIRECTS.has(response.status) || location === null || init.redirect === "manual") {
        return response;
      }
      if (init.redirect === "error" || hop === MAX_REDIRECTS) {
        await response.body?.cancel();
        throw new TypeError(`Fetch of ${url} failed: too many redirects, or redirects refused`);
      }
      await response.body?.cancel();
      target = job.authorize("net.fetch", new URL(location, target).href);
      if (
        response.status === 303 ||
        (response.status < 307 && request.method?.toUpperCase() === "POST")
      ) {
        request = { ...request, method: "GET", body: null };
      }
    }
  }, { capability: "net.fetch", target: url, traceparent: (value) => traceparent = value });
}
