// The message table: every message type once, and schemas tied to their
// interfaces at the type level (a drifted schema fails `deno check`).

import assert from "node:assert/strict";
import * as z from "zod/mini";
import { type Drift, MESSAGES, type MessageType } from "../../protocol/_message_table.ts";
import { FEATURES } from "../../protocol/messages.ts";

/** Every message type of MessagePayloads: the compiler rejects a missing or an extra one. */
const EVERY_TYPE: Record<MessageType, true> = {
  "session.hello": true,
  "session.welcome": true,
  "session.resume": true,
  "session.error": true,
  "session.close": true,
  "session.closed": true,
  "session.bye": true,
  "session.ping": true,
  "session.pong": true,
  "session.ack": true,
  "session.list_jobs": true,
  "session.jobs": true,
  "job.submit": true,
  "job.accepted": true,
  "job.cancel": true,
  "job.cancelled": true,
  "job.event": true,
  "job.result": true,
  "job.error": true,
  "job.subscribe": true,
  "job.subscribed": true,
  "job.unsubscribe": true,
};

Deno.test("the message table has every message type exactly once", () => {
  assert.deepEqual(Object.keys(MESSAGES).sort(), Object.keys(EVERY_TYPE).sort());
});

Deno.test("each reply is a known type sent by the other peer, each feature a spec feature", () => {
  const table: Record<string, { from: string; reply?: readonly string[]; feature?: string }> =
    MESSAGES;
  for (const [type, spec] of Object.entries(table)) {
    for (const reply of spec.reply ?? []) {
      const answer = table[reply];
      assert.ok(answer !== undefined, `${type} replies with unknown ${reply}`);
      if (spec.from !== "both") assert.notEqual(answer.from, spec.from, `${type} → ${reply}`);
    }
    if (spec.feature !== undefined) assert.ok(FEATURES.includes(spec.feature as never), type);
  }
});

Deno.test("only job.event, checked by hand on the hot path, has no schema", () => {
  const unchecked = Object.entries(MESSAGES).filter(([, spec]) => spec.schema === null);
  assert.deepEqual(unchecked.map(([type]) => type), ["job.event"]);
});

// Type level: `Drift` is `unknown` for a schema that fits, and names the drift otherwise.
type Assert<T extends true> = T;
type Fits<T extends MessageType, S extends z.ZodMiniType> = unknown extends Drift<T, S> ? true
  : false;
const ack = z.looseObject({ last_processed_seq: z.int() });
const ackLacking = z.looseObject({});
const ackMistyped = z.looseObject({ last_processed_seq: z.string() });
const closeRequiring = z.looseObject({ reason: z.string() });
const helloNestedMistyped = z.looseObject({
  client: z.looseObject({ name: z.string(), version: z.number() }),
  auth: z.optional(z.unknown()),
  capabilities: z.optional(z.unknown()),
  resume: z.optional(z.unknown()),
  resume_token: z.optional(z.string()),
  last_event_seq: z.optional(z.int()),
});
const subscribeExtra = z.looseObject({
  job_id: z.string(),
  from_event_seq: z.optional(z.int()),
  history: z.optional(z.boolean()),
  alias: z.optional(z.string()),
});
export type Checks = [
  Assert<Fits<"session.ack", typeof ack>>,
  // An interface field the schema does not name.
  Assert<Fits<"session.ack", typeof ackLacking> extends false ? true : false>,
  // A field the schema types unlike the interface.
  Assert<Fits<"session.ack", typeof ackMistyped> extends false ? true : false>,
  // A field the interface leaves optional, which the schema requires.
  Assert<Fits<"session.close", typeof closeRequiring> extends false ? true : false>,
  // A nested field typed unlike the interface's.
  Assert<Fits<"session.hello", typeof helloNestedMistyped> extends false ? true : false>,
  // A receive-only alias is allowed.
  Assert<Fits<"job.subscribe", typeof subscribeExtra>>,
];

Deno.test("a schema drifting from its interface does not type-check", () => {
  // The assertions are the `Checks` type above; this test makes `deno test` check them.
  const checked: Checks = [true, true, true, true, true, true];
  assert.equal(checked.length, 6);
});
