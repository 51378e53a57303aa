// Principal ids key stored records (Deno KV keys are at most 2 KiB), so an
// authenticator's principal over MAX_PRINCIPAL_ID_BYTES is refused at the
// hello, by name, over a real WebSocket and a real Deno KV file.

import assert from "node:assert/strict";
import { connect } from "../../client.ts";
import { Runtime, staticTokens } from "../../runtime.ts";
import { DenoKvStore } from "../../store/deno_kv.ts";
import { MAX_PRINCIPAL_ID_BYTES } from "../../runtime/_key_fields.ts";
import { bounded, serveHttp, standardAgents } from "../_helpers.ts";

Deno.test(
  "a principal id over 256 bytes is refused at the hello with UNAUTHENTICATED naming the limit, and logged; one of 256 works",
  bounded(async () => {
    assert.equal(MAX_PRINCIPAL_ID_BYTES, 256);
    const dir = await Deno.makeTempDir({ prefix: "arcp-principal-" });
    const kv = await Deno.openKv(`${dir}/runtime.kv`);
    const errors: string[] = [];
    try {
      const runtime = new Runtime({
        store: new DenoKvStore(kv),
        // "é" is 2 bytes in UTF-8: 129 of them are 258 bytes in 129 characters.
        authenticate: staticTokens({
          "t-long": "é".repeat(129),
          "t-huge": "p".repeat(1500),
          "t-edge": "p".repeat(256),
        }),
        agents: standardAgents(),
        upgradeWebSocket: (request) => Deno.upgradeWebSocket(request),
        logger: {
          debug() {},
          warn() {},
          error: (message: unknown) => errors.push(String(message)),
        },
      });
      await using server = await serveHttp(runtime.fetch);
      const url = `ws://127.0.0.1:${server.port}/arcp`;
      try {
        await assert.rejects(connect(url, { token: "t-long", reconnect: false }), (error) => {
          const { code, message } = error as { code?: string; message: string };
          assert.equal(code, "UNAUTHENTICATED");
          assert.match(message, /principal id is 258 bytes, over the limit of 256/);
          return true;
        });
        assert.ok(errors.some((line) => /principal id of 258 bytes/.test(line)), String(errors));
        // The size at which every submit used to fail with INTERNAL_ERROR on Deno KV.
        await assert.rejects(connect(url, { token: "t-huge", reconnect: false }), {
          code: "UNAUTHENTICATED",
        });
        const client = await connect(url, { token: "t-edge", reconnect: false });
        const job = await client.submit("echo", { input: "hi" });
        assert.equal((await job.result).final_status, "success");
        await client.close();
      } finally {
        await runtime.close();
      }
    } finally {
      kv.close();
      await Deno.remove(dir, { recursive: true });
    }
  }),
);
