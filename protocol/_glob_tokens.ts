// This module is browser compatible.
// The one reading of the glob grammar (spec 1.0 §9.2): `globToRegExp`
// renders these tokens as a regular expression, and the subset relation
// builds its automata from them, so both always agree on what a glob means.

export type GlobToken =
  | { kind: "lit"; char: string }
  | { kind: "one" } // `?`: one character but `/`
  | { kind: "star" } // `*`: any run without `/`
  | { kind: "segments" } // `**/`: zero or more `…/` segments
  | { kind: "any" }; // trailing `**`: anything

/** The tokens of a glob, left to right. */
export function tokenizeGlob(pattern: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === "*" && pattern[i + 1] === "*") {
      const atSegmentStart = i === 0 || pattern[i - 1] === "/";
      const atSegmentEnd = i + 2 === pattern.length || pattern[i + 2] === "/";
      if (atSegmentStart && atSegmentEnd) {
        if (pattern[i + 2] === "/") {
          tokens.push({ kind: "segments" });
          i += 2;
        } else {
          tokens.push({ kind: "any" });
          i += 1;
        }
        continue;
      }
      tokens.push({ kind: "star" });
      i += 1;
    } else if (char === "*") tokens.push({ kind: "star" });
    else if (char === "?") tokens.push({ kind: "one" });
    else tokens.push({ kind: "lit", char });
  }
  return tokens;
}
