// The permissions `deno task start` gives the server: computed from the data folder it will use (so that any
// SIGNPOST_DATA_DIR works) and the home directory, never more. Pure: test/unit/runtime/deno-permissions.test.ts checks it.
import { DEFAULT_DATA_DIR, SERVER_ENV_NAMES } from "../config.ts";
import { CREDENTIAL_ENV_NAMES } from "../credentials/names.ts";
import { POSTGRES_ENV_NAMES } from "./postgres.ts";

/** The token files EKS mounts for IRSA and Pod Identity. */
const EKS_TOKEN_FOLDERS = ["/var/run/secrets/eks.amazonaws.com", "/var/run/secrets/pods.eks.amazonaws.com"];

/**
 * `deno run` flags for src/runtime/deno.ts: the network, exactly the variables it (and the PostgreSQL client) reads, its data folder (read and
 * write), ~/.aws and the EKS token folders (read), its own uid; no prompt, no processes. `extra` are the user's own additions.
 */
export function serverFlags(env: { SIGNPOST_DATA_DIR?: string; HOME?: string }, extra: readonly string[] = []): string[] {
  const dataDir = env.SIGNPOST_DATA_DIR || DEFAULT_DATA_DIR;
  // Deno splits a flag's paths at commas, and has no escape for one: /srv/a,/ would grant all of /.
  if (dataDir.includes(",")) throw new Error(`SIGNPOST_DATA_DIR ${JSON.stringify(dataDir)} has a comma, which Deno's permission flags cannot hold: rename the folder`);
  const home = env.HOME && !env.HOME.includes(",") ? [`${env.HOME}/.aws`] : []; // without it, ~/.aws reads are refused
  const read = [dataDir, ...home, ...EKS_TOKEN_FOLDERS];
  return [
    "--no-prompt",
    "--allow-net",
    `--allow-env=${[...SERVER_ENV_NAMES, ...CREDENTIAL_ENV_NAMES, ...POSTGRES_ENV_NAMES].join(",")}`,
    `--allow-read=${read.join(",")}`,
    `--allow-write=${dataDir}`,
    // Its own uid, to see whether the data folder is another user's (as Node does): nothing else of the system.
    "--allow-sys=uid",
    ...extra,
  ];
}
