// This module is browser compatible.
// Builds `artifact_ref` bodies (spec §8.2) with the artifact's size and digest.

import type { ArtifactRefBody } from "./events.ts";

/** Options of {@linkcode artifactRef}. */
export interface ArtifactRefOptions {
  /** Where the artifact can be fetched. */
  uri: string;
  /** The artifact's media type, e.g. `text/csv`. */
  contentType: string;
}

/**
 * Describes an artifact for `ctx.artifactRef(...)` (spec §8.2): its URI and
 * media type, plus the `byte_size` and lowercase hex `sha256` of its bytes,
 * computed with Web Crypto. A string is measured as its UTF-8 bytes.
 *
 * @param data The artifact's content.
 * @param options Its URI and media type.
 * @returns The `artifact_ref` body.
 * @throws {TypeError} when `uri` or `contentType` is empty.
 * @example Describe a CSV file
 * ```ts
 * import { artifactRef } from "@arcp/arcp/protocol";
 * import assert from "node:assert/strict";
 *
 * const ref = await artifactRef("abc", { uri: "file:///tmp/a.csv", contentType: "text/csv" });
 * assert.deepEqual(ref, {
 *   uri: "file:///tmp/a.csv",
 *   content_type: "text/csv",
 *   byte_size: 3,
 *   sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * });
 * ```
 */
export async function artifactRef(
  data: Uint8Array | string,
  options: ArtifactRefOptions,
): Promise<ArtifactRefBody> {
  if (options.uri === "") throw new TypeError("Cannot describe an artifact: the uri is empty");
  if (options.contentType === "") {
    throw new TypeError("Cannot describe an artifact: the content type is empty");
  }
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  // Web Crypto takes no views of a SharedArrayBuffer: copy those.
  const owned = bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", owned));
  return {
    uri: options.uri,
    content_type: options.contentType,
    byte_size: bytes.byteLength,
    sha256: Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join(""),
  };
}
