import assert from "node:assert/strict";
import { formatAgentRef, parseAgentRef } from "../../protocol/agent_ref.ts";
import { ArcpError } from "../../protocol/errors.ts";

Deno.test("parseAgentRef() parses a bare name with no version", () => {
  assert.deepEqual(parseAgentRef("echo"), { name: "echo", version: undefined });
});

Deno.test("parseAgentRef() parses name@version", () => {
  assert.deepEqual(parseAgentRef("code-refactor@2.0.0"), {
    name: "code-refactor",
    version: "2.0.0",
  });
  assert.deepEqual(parseAgentRef("a@1.0.0+build_7-RC.1"), {
    name: "a",
    version: "1.0.0+build_7-RC.1",
  });
});

Deno.test("parseAgentRef() accepts every character the §7.5 grammar allows", () => {
  for (const name of ["a", "0", "9lives", "a.b", "a_b", "a-b", "x0._-y"]) {
    assert.equal(parseAgentRef(name).name, name);
  }
  for (const version of ["1", "V2", "latest", "1.2.3-beta+exp.sha.5114f85", "a_b"]) {
    assert.equal(parseAgentRef(`echo@${version}`).version, version);
  }
});

Deno.test("parseAgentRef() rejects references outside the §7.5 grammar with INVALID_REQUEST", () => {
  const invalid = [
    "",
    "Bad Name",
    "Echo",
    "-echo",
    ".echo",
    "_echo",
    "echo@",
    "@1.0.0",
    "echo@1@2",
    "echo@1 0",
    "echo@1/0",
    "echo@1.0.0 ",
    " echo",
    "échо",
    "echo\n",
  ];
  for (const ref of invalid) {
    assert.throws(
      () => parseAgentRef(ref),
      (error: unknown) => {
        assert.ok(error instanceof ArcpError, JSON.stringify(ref));
        assert.equal(error.code, "INVALID_REQUEST");
        assert.deepEqual(error.details, { agent: ref });
        assert.ok(error.message.includes(`"${ref}"`), error.message);
        return true;
      },
      JSON.stringify(ref),
    );
  }
});

Deno.test("formatAgentRef() gives name@version, or the bare name without a version", () => {
  assert.equal(formatAgentRef("echo", "2.0.0"), "echo@2.0.0");
  assert.equal(formatAgentRef("echo", undefined), "echo");
});

Deno.test("formatAgentRef() output parses back to the same name and version", () => {
  for (const [name, version] of [["echo", "1.0.0"], ["plain", undefined]] as const) {
    assert.deepEqual(parseAgentRef(formatAgentRef(name, version)), { name, version });
  }
});
