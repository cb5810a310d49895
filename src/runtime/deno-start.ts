/// <reference lib="deno.ns" />
// `deno task start`: runs src/runtime/deno.ts with the permissions serverFlags computes for the data folder the user
// names (SIGNPOST_DATA_DIR), so that any folder works. Arguments after `deno task start` are more permissions for the
// server (e.g. --allow-run=sh for credential_process). This launcher itself may read two variables and run Deno.
import { serverFlags } from "./deno-permissions.ts";

const DENO = "./node_modules/.bin/deno"; // as deno.json's tasks call it (deno comes from npm)
const env = { SIGNPOST_DATA_DIR: Deno.env.get("SIGNPOST_DATA_DIR"), HOME: Deno.env.get("HOME") };
const server = new URL("./deno.ts", import.meta.url).pathname;
let flags: string[];
try {
  flags = serverFlags(env, Deno.args);
} catch (error) {
  console.error(JSON.stringify({ message: "failed to start", error: (error as Error).message })); // one line, as the server's
  Deno.exit(1);
}
const child = new Deno.Command(DENO, { args: ["run", ...flags, server], stdin: "inherit", stdout: "inherit", stderr: "inherit" }).spawn();
// The server stops cleanly on these; the launcher passes them on and waits for it.
for (const signal of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(signal, () => child.kill(signal));
Deno.exit((await child.status).code);
