// This module is browser compatible.
// Language containment for the globs of glob.ts (spec 1.0 §9.4): is every
// string matched by `sub` also matched by `sup`? Both globs become NFAs with
// exactly the semantics of `globToRegExp`, and a subset construction walks
// their product looking for a string `sub` accepts and `sup` rejects. The
// answer is exact over strings without line terminators (which canonical
// targets never contain); when the walk grows past a bound the answer is
// "unproven", which callers treat as "not a subset".

import { type GlobToken as Token, tokenizeGlob as tokenize } from "./_glob_tokens.ts";

const LINE_TERMINATORS = new Set(["\n", "\r", "\u2028", "\u2029"]);

/**
 * An NFA over positions `0..n` (n accepts) plus, for each `**\/` token at
 * position i, an "inside a segment" state `n + 1 + i`.
 */
class Nfa {
  readonly tokens: Token[];
  readonly accept: number;

  constructor(pattern: string) {
    this.tokens = tokenize(pattern);
    this.accept = this.tokens.length;
  }

  closure(states: Iterable<number>): Set<number> {
    const out = new Set<number>();
    const stack = [...states];
    while (stack.length > 0) {
      const state = stack.pop()!;
      if (out.has(state)) continue;
      out.add(state);
      const kind = this.tokens[state]?.kind;
      if (state < this.accept && (kind === "star" || kind === "any" || kind === "segments")) {
        stack.push(state + 1);
      }
    }
    return out;
  }

  step(states: Set<number>, char: string): Set<number> {
    const next: number[] = [];
    const slash = char === "/";
    for (const state of states) {
      if (state > this.accept) {
        // Inside a `**/` segment: more characters, or `/` back to its start.
        next.push(slash ? state - this.accept - 1 : state);
        continue;
      }
      const token = this.tokens[state];
      if (token === undefined) continue;
      switch (token.kind) {
        case "lit":
          if (token.char === char) next.push(state + 1);
          break;
        case "one":
          if (!slash) next.push(state + 1);
          break;
        case "star":
          if (!slash) next.push(state);
          break;
        case "any":
          if (!LINE_TERMINATORS.has(char)) next.push(state);
          break;
        case "segments":
          next.push(slash ? state : this.accept + 1 + state);
          break;
      }
    }
    return this.closure(next);
  }
}

/** Readable stand-ins for "any other character", tried in order. */
const OTHER_CANDIDATES = "xyzqjkwvXYZ019_~";

function alphabet(a: Nfa, b: Nfa): string[] {
  const literals = new Set<string>(["/"]);
  for (const token of [...a.tokens, ...b.tokens]) {
    if (token.kind === "lit") literals.add(token.char);
  }
  let other: string | undefined;
  for (const candidate of OTHER_CANDIDATES) {
    if (!literals.has(candidate)) {
      other = candidate;
      break;
    }
  }
  for (let code = 0x4e00; other === undefined; code++) {
    if (!literals.has(String.fromCharCode(code))) other = String.fromCharCode(code);
  }
  // `other` first, so that counterexamples read like real names.
  return [other, ...literals];
}

/** The outcome of {@linkcode globSubset}. */
export type GlobSubset =
  | { subset: true }
  | { subset: false; witness: string } // matched by `sub`, not by `sup`
  | { subset: false; witness: undefined }; // unproven within the bound

/**
 * Decides whether every string matching glob `sub` also matches glob `sup`,
 * returning a counterexample when not.
 */
export function globSubset(sub: string, sup: string, maxStates = 20_000): GlobSubset {
  const a = new Nfa(sub);
  const b = new Nfa(sup);
  const chars = alphabet(a, b);
  const key = (x: Set<number>, y: Set<number>) =>
    `${[...x].sort((m, n) => m - n).join(",")}|${[...y].sort((m, n) => m - n).join(",")}`;
  const start = { x: a.closure([0]), y: b.closure([0]), witness: "" };
  const seen = new Set([key(start.x, start.y)]);
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const { x, y, witness } = queue[head]!;
    if (x.has(a.accept) && !y.has(b.accept)) return { subset: false, witness };
    for (const char of chars) {
      const nx = a.step(x, char);
      if (nx.size === 0) continue;
      const ny = b.step(y, char);
      const k = key(nx, ny);
      if (seen.has(k)) continue;
      if (seen.size >= maxStates) return { subset: false, witness: undefined };
      seen.add(k);
      queue.push({ x: nx, y: ny, witness: witness + char });
    }
  }
  return { subset: true };
}
