// A store written by a user implements only the two narrow contracts (an
// event log and a record store); the runtime keeps its records on it. The
// whole suite runs over such a store, a plain object with nothing else.

import { MemoryStore } from "../../store/memory.ts";
import { withRecords } from "../../store/records.ts";
import type { Store } from "../../store/types.ts";
import { runtimeStoreConformance } from "./conformance.ts";

/** The two contracts of `inner`, as a plain object. */
function narrow(inner: MemoryStore): Store {
  return {
    append: (id, events) => inner.append(id, events),
    read: (id, options) => inner.read(id, options),
    trim: (id, options) => inner.trim(id, options),
    bounds: (id) => inner.bounds(id),
    drop: (id) => inner.drop(id),
    compareAndAppend: (id, events) => inner.compareAndAppend(id, events),
    watch: (id, options) => inner.watch(id, options),
    get: (key) => inner.get(key),
    set: (key, value, options) => inner.set(key, value, options),
    delete: (key, options) => inner.delete(key, options),
    list: (prefix, options) => inner.list(prefix, options),
  };
}

runtimeStoreConformance(
  "A Store of the two contracts",
  () => withRecords(narrow(new MemoryStore())),
);
