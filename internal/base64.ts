// This module is browser compatible.
// Base64 for result chunks (spec 1.1 §8.4), on the platform's Uint8Array
// methods where they exist and btoa/atob otherwise.

interface Base64Bytes {
  toBase64?(): string;
}
interface Base64Constructor {
  fromBase64?(text: string): Uint8Array;
}

/** Standard base64 of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  const native = (bytes as Base64Bytes).toBase64;
  if (native !== undefined) return native.call(bytes);
  let binary = "";
  // In blocks: spreading a megabyte into one call would overflow the stack.
  for (let i = 0; i < bytes.length; i += 8192) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return btoa(binary);
}

/** Bytes of standard base64 `text`; throws on invalid input. */
export function decodeBase64(text: string): Uint8Array {
  const native = (Uint8Array as Base64Constructor).fromBase64;
  if (native !== undefined) return native(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
