import assert from "node:assert/strict";
import { artifactRef } from "../../protocol/artifact.ts";

const ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

Deno.test("artifactRef() describes a string by its UTF-8 bytes", async () => {
  assert.deepEqual(await artifactRef("abc", { uri: "s3://b/a.txt", contentType: "text/plain" }), {
    uri: "s3://b/a.txt",
    content_type: "text/plain",
    byte_size: 3,
    sha256: ABC_SHA256,
  });
  const ref = await artifactRef("é", { uri: "u:1", contentType: "text/plain" });
  assert.equal(ref.byte_size, 2);
});

Deno.test("artifactRef() describes bytes, a subarray by its own bytes", async () => {
  const bytes = new TextEncoder().encode("abc");
  const ref = await artifactRef(bytes, { uri: "u:1", contentType: "application/octet-stream" });
  assert.equal(ref.byte_size, 3);
  assert.equal(ref.sha256, ABC_SHA256);
  const padded = new TextEncoder().encode("xabcx").subarray(1, 4);
  assert.equal((await artifactRef(padded, { uri: "u:1", contentType: "x/y" })).sha256, ABC_SHA256);
});

Deno.test("artifactRef() describes empty content", async () => {
  const ref = await artifactRef(new Uint8Array(), { uri: "u:1", contentType: "x/y" });
  assert.equal(ref.byte_size, 0);
  assert.equal(ref.sha256, EMPTY_SHA256);
  assert.equal((await artifactRef("", { uri: "u:1", contentType: "x/y" })).sha256, EMPTY_SHA256);
});

Deno.test("artifactRef() gives lowercase hex with leading zeros kept", async () => {
  for (let i = 0; i < 32; i++) {
    const { sha256 } = await artifactRef(String(i), { uri: "u:1", contentType: "x/y" });
    assert.match(sha256!, /^[0-9a-f]{64}$/);
  }
});

Deno.test("artifactRef() accepts bytes on a SharedArrayBuffer", async () => {
  const shared = new Uint8Array(new SharedArrayBuffer(3));
  shared.set(new TextEncoder().encode("abc"));
  assert.equal((await artifactRef(shared, { uri: "u:1", contentType: "x/y" })).sha256, ABC_SHA256);
});

Deno.test("artifactRef() refuses an empty uri or content type", async () => {
  await assert.rejects(artifactRef("abc", { uri: "", contentType: "x/y" }), TypeError);
  await assert.rejects(artifactRef("abc", { uri: "u:1", contentType: "" }), TypeError);
});
