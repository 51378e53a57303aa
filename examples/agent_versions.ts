/**
 * Agent versions (spec 1.1 §7.5): a runtime registers several versions of
 * an agent and marks one the default. `session.welcome` lists them; a
 * submit names `name@version` to pin one, or the bare name for the default;
 * `job.accepted` says which version runs; an unknown version is refused
 * with `AGENT_VERSION_NOT_AVAILABLE`. Runtime and client share this process
 * over the memory transport.
 *
 * Run with `deno run -A examples/agent_versions.ts`.
 *
 * @module
 */

import { connect } from "../client.ts";
import { ArcpError } from "../protocol/mod.ts";
import { Runtime, staticTokens } from "../runtime.ts";
import { memoryTransportPair } from "../transports/memory.ts";

function greeter(greeting: string) {
  return (input: { name: string }): Promise<string> =>
    Promise.resolve(`${greeting}, ${input.name}`);
}

const runtime = new Runtime({
  authenticate: staticTokens({ "s3cret": "alice" }),
  agents: [
    { name: "greet", version: "1.0.0", handler: greeter("Hello") },
    // The default is the stable release, not the highest version.
    { name: "greet", version: "1.1.0", default: true, handler: greeter("Hi") },
    { name: "greet", version: "2.0.0-beta.1", handler: greeter("Howdy") },
  ],
});
const [clientSide, runtimeSide] = memoryTransportPair();
runtime.accept(runtimeSide);
const client = await connect(clientSide, { token: "s3cret" });

for (const agent of client.agents) {
  console.log(
    `agent ${agent.name}: versions ${agent.versions.join(", ")}; default ${agent.default}`,
  );
}

for (const agent of ["greet", "greet@1.0.0", "greet@2.0.0-beta.1", "greet@3.0.0"]) {
  try {
    const job = await client.submit(agent, { name: "Ada" });
    const { result } = await job.result;
    console.log(
      `submit ${agent.padEnd(18)} -> runs ${job.agent.padEnd(18)} ${JSON.stringify(result)}`,
    );
  } catch (error) {
    if (!(error instanceof ArcpError)) throw error;
    console.log(`submit ${agent.padEnd(18)} -> refused: ${error.code}`);
  }
}

await client.close();
await runtime.close();
