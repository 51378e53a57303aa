/**
 * `cli.ts conformance`: runs the black-box conformance kit
 * (`@arcp/arcp/conformance`) against any ARCP runtime.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { formatCheck, runConformance } from "../conformance/mod.ts";
import { EXIT, parseNumber, printLine } from "./_client.ts";

export const CONFORMANCE_USAGE =
  `Usage: cli.ts conformance --url ws://HOST:PORT/arcp --token T [--token2 T2] [--json]
                          [--check-timeout SEC] [--only PREFIX]...

Runs the black-box conformance kit against the ARCP runtime at --url, over a raw
WebSocket, and prints one line per check: ok, FAIL or skip, the spec section, and on
failure what was sent and received; then "N passed, N failed, N skipped". Checks of a
feature the runtime does not advertise in session.welcome are skipped. The runtime
must host the kit's agents echo, count, sleep and fail (and optionally report, spend,
fetch, delegate, later): docs/conformance.md gives their contract; serve --demo hosts
them.
  --url URL                the runtime (default $ARCP_URL)
  --token TOKEN            bearer token of the principal the kit runs as
                           (default $ARCP_TOKEN)
  --token2 TOKEN           a second principal's token, for the checks across
                           principals (skipped without it)
  --check-timeout SEC      seconds one check may take before it fails (default 15)
  --only PREFIX            run only checks whose id starts with PREFIX (repeatable),
                           e.g. --only resume.
  --json                   print JSON lines instead: one "conformance.check" per check
                           (payload: id, section, title, status, required, reason?,
                           sent?, received?, durationMs), then one "conformance.report"
                           (payload: url, runtime, features, agents, passed, failed,
                           advisoryFailed, skipped, ok)
  -h, --help               print this help
Exit codes: 0 every required check passed; 1 a required check failed; 2 usage
error; 3 no session could be opened with the runtime.`;

/**
 * Runs `conformance` and returns the exit code.
 *
 * @param args Arguments after `conformance`.
 * @returns 0 when every required check passed, 1 when one failed, 2 on usage
 *   errors, 3 when no session could be opened.
 */
export async function conformance(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      url: { type: "string" },
      token: { type: "string" },
      token2: { type: "string" },
      "check-timeout": { type: "string", default: "15" },
      only: { type: "string", multiple: true },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(CONFORMANCE_USAGE);
    return EXIT.success;
  }
  if (positionals.length > 0) {
    throw new TypeError(`Unexpected argument "${positionals[0]}": conformance takes only flags`);
  }
  const url = values.url ?? Deno.env.get("ARCP_URL");
  const token = values.token ?? Deno.env.get("ARCP_TOKEN");
  if (url === undefined || token === undefined) {
    throw new TypeError(`conformance needs --url and --token\n\n${CONFORMANCE_USAGE}`);
  }
  const seconds = parseNumber("check-timeout", values["check-timeout"], {
    min: 0,
    exclusive: true,
  });
  const report = await runConformance(url, {
    token,
    ...(values.token2 === undefined ? {} : { token2: values.token2 }),
    ...(values.only === undefined ? {} : { only: values.only }),
    checkTimeoutMs: seconds * 1000,
    onCheck: (check) =>
      values.json ? printLine("conformance.check", check) : console.log(formatCheck(check)),
  });
  const { checks: _checks, ...totals } = report;
  if (values.json) printLine("conformance.report", totals);
  else {
    const advisory = report.advisoryFailed > 0 ? `, ${report.advisoryFailed} advisory failed` : "";
    console.log(
      `${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped${advisory}`,
    );
  }
  if (!report.connected) return EXIT.connection;
  return report.ok ? EXIT.success : EXIT.arcpError;
}
