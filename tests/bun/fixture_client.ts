// Run by Bun: runs the cross-runtime client session (_cross.ts) against the
// runtime at the URL given as its argument, and prints what it saw as JSON.

import process from "node:process";
import { runClientSession } from "./_cross.ts";

const url = process.argv[2];
if (url === undefined) throw new TypeError("Usage: bun fixture_client.ts <ws-url>");
console.log(JSON.stringify(await runClientSession(url)));
