// This module is browser compatible.
// The memory store's records: a tree with one level per key part, so a
// listing walks only its prefix, and a record keeps only its value and a
// version number (its entry is made when read).

import type { RecordEntry, RecordKey } from "./types.ts";

/** Orders record keys element by element, a prefix first. */
function compareKeys(a: RecordKey, b: RecordKey): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * A part of a record key: the record it ends, if any (a version of 0 says
 * none), and the parts after it. Only the value and a number are kept per
 * record; its entry is made when read.
 */
interface RecordNode {
  value: unknown;
  version: number;
  children: Map<string, RecordNode> | undefined;
}

/** A node without a record or parts after it. */
function emptyNode(): RecordNode {
  return { value: undefined, version: 0, children: undefined };
}

/** The entry of `node`'s record at `key`, or `undefined`. */
function entryOf(key: RecordKey, node: RecordNode | undefined): RecordEntry | undefined {
  if (node === undefined || node.version === 0) return undefined;
  return { key, value: node.value, version: String(node.version) };
}

/** Records by key, with versions for check-and-set (see `RecordStore`). */
export class RecordTree {
  readonly #root: RecordNode = emptyNode();
  #version = 0;

  /** The node at `key`, made on the way when `create`. */
  #node(key: RecordKey, create: boolean): RecordNode | undefined {
    let node: RecordNode | undefined = this.#root;
    for (const part of key) {
      let child: RecordNode | undefined = node.children?.get(part);
      if (child === undefined) {
        if (!create) return undefined;
        child = emptyNode();
        (node.children ??= new Map()).set(part, child);
      }
      node = child;
    }
    return node;
  }

  /** The record at `key`, or `undefined`. */
  get(key: RecordKey): RecordEntry | undefined {
    return entryOf([...key], this.#node(key, false));
  }

  /** Writes a record, unless `ifVersion` is given and no longer holds. */
  set(key: RecordKey, value: unknown, ifVersion?: string | null): boolean {
    if (!this.#holds(key, ifVersion)) return false;
    const node = this.#node(key, true)!;
    node.value = value;
    node.version = ++this.#version;
    return true;
  }

  /** Deletes a record, unless `ifVersion` is given and no longer holds; empty nodes go with it. */
  delete(key: RecordKey, ifVersion?: string | null): boolean {
    if (!this.#holds(key, ifVersion)) return false;
    const path: RecordNode[] = [this.#root];
    for (const part of key) {
      const child = path[path.length - 1]!.children?.get(part);
      if (child === undefined) return true;
      path.push(child);
    }
    const node = path[key.length]!;
    node.value = undefined;
    node.version = 0;
    for (let depth = key.length; depth > 0; depth--) {
      const node = path[depth]!;
      if (node.version !== 0 || (node.children?.size ?? 0) > 0) break;
      path[depth - 1]!.children!.delete(key[depth - 1]!);
    }
    return true;
  }

  #holds(key: RecordKey, ifVersion: string | null | undefined): boolean {
    if (ifVersion === undefined) return true;
    const version = this.#node(key, false)?.version ?? 0;
    return (version === 0 ? null : String(version)) === ifVersion;
  }

  /** The records under `prefix` (after `after`, if given), in key order. */
  list(prefix: RecordKey, after?: RecordKey): RecordEntry[] {
    const entries: RecordEntry[] = [];
    const pending: [RecordKey, RecordNode | undefined][] = [[prefix, this.#node(prefix, false)]];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const [key, node] = next;
      for (const [part, child] of node?.children ?? []) {
        const childKey = [...key, part];
        const entry = entryOf(childKey, child);
        if (entry && (after === undefined || compareKeys(childKey, after) > 0)) entries.push(entry);
        pending.push([childKey, child]);
      }
    }
    return entries.sort((a, b) => compareKeys(a.key, b.key));
  }
}
