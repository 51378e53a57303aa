// `cli.ts serve` limit flags, against a real serve process on 127.0.0.1.

import assert from "node:assert/strict";
import { runCli, startServe } from "../_serve.ts";
import { socketClosed, socketOpened } from "../_helpers.ts";
import type { Frame } from "../../transports/types.ts";

Deno.test("serve --hello-timeout and --max-connections are applied and named in refusals", async () => {
  const served = await startServe("t", undefined, [
    "--hello-timeout",
    "0.5",
    "--max-connections",
    "1",
  ]);
  try {
    const silent = new WebSocket(served.url);
    const frames: Frame[] = [];
    silent.onmessage = (event) => frames.push(JSON.parse(event.data));
    await socketOpened(silent);
    const refused = await fetch(served.url.replace("ws:", "http:"), {
      headers: { upgrade: "websocket" },
    });
    assert.equal(refused.status, 503);
    assert.match(await refused.text(), /maxConnections is 1/);
    await socketClosed(silent);
    const payload = frames[0]?.payload as Record<string, unknown> | undefined;
    assert.equal(payload?.code, "UNAUTHENTICATED");
    assert.match(String(payload?.message), /helloTimeoutMs is 500/);
  } finally {
    await served.stop();
  }
});

Deno.test("serve --help lists the limit flags; a bad value is refused naming the flag", async () => {
  const help = await runCli(["serve", "--help"]);
  for (const flag of ["--max-connections", "--hello-timeout", "--idle-session"]) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  assert.match(help.stdout, /no HTTP header timeout/);
  const bad = await runCli(["serve", "--store", "memory", "--max-connections", "0"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Invalid --max-connections "0"/);
});
