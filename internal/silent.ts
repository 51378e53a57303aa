// This module is browser compatible.
// The default logger of the client and the runtime: silent (STYLE 45).

/** A logger that drops everything. */
export const SILENT: Pick<Console, "debug" | "warn" | "error"> = {
  debug() {},
  warn() {},
  error() {},
};
