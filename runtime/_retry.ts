// This module is browser compatible.
// A store may fail for a moment (a locked file, a lost connection): a write
// is tried a few times, with growing pauses, before it is given up and its
// failure has a visible consequence. A RangeError (too large for the store)
// fails the same way every time and is not retried.

/** Tries at a store write before it is given up. */
export const STORE_ATTEMPTS = 4;

/** Runs `write` until it succeeds, up to {@linkcode STORE_ATTEMPTS} times (about 2 s of pauses). */
export async function retried<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt === STORE_ATTEMPTS || error instanceof RangeError) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25 * 4 ** attempt));
    }
  }
}
