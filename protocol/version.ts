// This module is browser compatible.
/**
 * The SDK's own version.
 *
 * @module
 */

/** This SDK's version, as reported in `session.hello` / `session.welcome`. */
export const SDK_VERSION = "0.1.0" as const;

/** This SDK's name, as reported in `session.hello` / `session.welcome`. */
export const SDK_NAME = "@arcp/arcp" as const;
