// An upper bound of a value's size in V8's structured serialization (the
// format Deno KV stores), computed by walking the value. Serializing every
// value to measure it allocates a native buffer and serializer per write,
// freed only when V8 next collects their wrappers; under a steady stream of
// small events this churned the allocator to hundreds of MiB of resident
// memory that stayed after the load (the soak bench on a KV store). A bound
// costs nothing native, and a value whose bound passes a limit is measured
// exactly (see `valueSize`), so the limit is never judged on the bound alone.

/** Serialization header: a tag and the format version. */
const HEADER_BYTES = 8;
/** Tag and length (a varint of up to 5 bytes) of a string, object or array. */
const TAG_AND_LENGTH = 6;
/** An object's or array's trailer: an end tag and up to two varints. */
const TRAILER = 11;
/** Any number: a double (tag and 8 bytes) is larger than a small integer. */
const NUMBER_BYTES = 9;
/** A repeated object: a back-reference tag and an id. */
const REFERENCE_BYTES = 6;
/** Nesting past which the walk gives up: deeper values are measured exactly. */
const MAX_DEPTH = 256;

/** Bytes of a string: one or two per UTF-16 unit, and a padding byte for two-byte ones. */
function stringBound(value: string): number {
  return TAG_AND_LENGTH + 1 + 2 * value.length;
}

/**
 * An upper bound of `serialize(value).length`, or `Infinity` once it passes
 * `limit` or when the value holds anything but plain objects, arrays,
 * strings, numbers, booleans, `null` and `undefined` (measure those exactly).
 */
export function serializedSizeBound(value: unknown, limit: number): number {
  const seen = new Set<object>();
  let total = HEADER_BYTES;
  const add = (bytes: number): boolean => (total += bytes) <= limit;
  const walk = (item: unknown, depth: number): boolean => {
    switch (typeof item) {
      case "undefined":
      case "boolean":
        return add(1);
      case "number":
        return add(NUMBER_BYTES);
      case "string":
        return add(stringBound(item));
      case "object":
        break;
      default:
        return false;
    }
    if (item === null) return add(1);
    if (seen.has(item)) return add(REFERENCE_BYTES);
    if (depth > MAX_DEPTH) return false;
    seen.add(item);
    const proto = Object.getPrototypeOf(item);
    const array = Array.isArray(item) && proto === Array.prototype;
    if (!array && proto !== Object.prototype && proto !== null) return false;
    if (!add(TAG_AND_LENGTH + TRAILER)) return false;
    const record = item as Record<string, unknown>;
    const keys = Object.keys(record);
    if (array) {
      const { length } = item as unknown[];
      // A byte per index covers the holes; a present element is counted
      // below with its index as a key, as V8 writes a sparse array.
      if (!add(length)) return false;
    }
    for (const key of keys) {
      if (!add(stringBound(key)) || !walk(record[key], depth + 1)) return false;
    }
    return true;
  };
  return walk(value, 0) ? total : Infinity;
}
