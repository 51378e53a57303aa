import assert from "node:assert/strict";
import {
  newId,
  newJobId,
  newMessageId,
  newResumeToken,
  newSessionId,
  newTraceId,
} from "../../protocol/ids.ts";
import { parseTraceId } from "../../protocol/trace.ts";

const ULID = "[0-9A-HJKMNP-TV-Z]{26}";

Deno.test("ids are a prefix plus a ULID", () => {
  assert.match(newMessageId(), new RegExp(`^msg_${ULID}$`));
  assert.match(newSessionId(), new RegExp(`^sess_${ULID}$`));
  assert.match(newJobId(), new RegExp(`^job_${ULID}$`));
  assert.match(newId("res"), new RegExp(`^res_${ULID}$`));
});

Deno.test("ids are unique and sort in creation order", () => {
  const ids = Array.from({ length: 1000 }, () => newMessageId());
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
});

Deno.test("newResumeToken() is rt_ plus 64 hex digits and never repeats", () => {
  const tokens = Array.from({ length: 100 }, () => newResumeToken());
  for (const token of tokens) assert.match(token, /^rt_[0-9a-f]{64}$/);
  assert.equal(new Set(tokens).size, tokens.length);
});

Deno.test("newTraceId() is a valid, non-zero W3C trace-id", () => {
  for (let i = 0; i < 100; i++) {
    const traceId = newTraceId();
    assert.match(traceId, /^[0-9a-f]{32}$/);
    assert.equal(parseTraceId(traceId), traceId);
  }
});
