/// <reference lib="deno.ns" />
/// <reference lib="deno.unstable" />
// Deno and Deno Deploy entry: `deno task start`. Accounts in Deno KV: on Deno Deploy its managed database,
// elsewhere the file SIGNPOST_DATA_DIR/accounts.kv (the same format as the Node store). Signing uses Web Crypto.
import type { AwsAccount } from "../account.ts";
import { createApp, corsOrigins } from "../app.ts";
import type { Client } from "../clients.ts";
import { defaultChain } from "../credentials/chain.ts";
import { createRoleCredentials } from "../credentials/roles.ts";
import { sealerFrom } from "../seal.ts";
import { createPresigner } from "../signer.ts";
import { ACCOUNT_CACHE_MS, cachedStore } from "../store/cache.ts";
import { denoKvStore } from "../store/kv.ts";
import { CREDENTIAL_ENV_NAMES, denoIo, readEnv } from "./deno-io.ts";
import { nodeSha256 } from "./node-crypto.ts";

// Read by name: `deno task start` grants --allow-env for exactly these (see deno.json). A name the permissions deny
// reads as unset (and is logged at start).
const ENV_NAMES = [
  "PORT", "HOST", "SIGNPOST_DATA_DIR", "SIGNPOST_ADMIN_TOKEN", "SIGNPOST_ENCRYPTION_KEY", "SIGNPOST_CORS_ORIGINS", "DENO_DEPLOYMENT_ID",
  ...CREDENTIAL_ENV_NAMES,
];
const { env: environment, denied } = readEnv(ENV_NAMES);
const env = (name: string): string | undefined => environment[name];

function log(stream: "stdout" | "stderr", entry: Record<string, unknown>) {
  (stream === "stdout" ? console.log : console.error)(JSON.stringify(entry));
}

/** SIGNPOST_ADMIN_TOKEN; else, outside Deno Deploy, the token kept in the data folder or a new one (printed once). */
async function adminToken(dataDir: string | undefined): Promise<string | undefined> {
  const configured = env("SIGNPOST_ADMIN_TOKEN");
  if (configured) {
    if (configured.length < 16) throw new Error("SIGNPOST_ADMIN_TOKEN must be at least 16 characters");
    return configured;
  }
  if (!dataDir) return undefined; // Deno Deploy has no disk: fail closed (503) until the token is set
  const file = `${dataDir}/admin-token`;
  try {
    const stored = (await Deno.readTextFile(file)).trim();
    if (stored) {
      log("stderr", { message: "admin token read from file", file });
      return stored;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  await Deno.writeTextFile(file, `${token}\n`, { mode: 0o600, createNew: true });
  console.error(`signpost: generated an admin token, kept in ${file} (mode 0600):\n${token}`);
  return token;
}

const onDeploy = env("DENO_DEPLOYMENT_ID") !== undefined;
const dataDir = onDeploy ? undefined : (env("SIGNPOST_DATA_DIR") ?? ".signpost").replace(/\/+$/, "");
if (dataDir) await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });

if (denied.length) log("stderr", { level: "warn", message: "not permitted to read these variables (--allow-env); taken as unset", variables: denied.join(",") });

/** As on Node: the database file 0600 before SQLite opens it, so its -wal and -shm files get that mode too. */
async function privateDatabase(path: string): Promise<string> {
  (await Deno.open(path, { create: true, append: true, mode: 0o600 })).close();
  for (const file of [path, `${path}-wal`, `${path}-shm`]) await Deno.chmod(file, 0o600).catch(() => {});
  return path;
}
if (dataDir && ((await Deno.stat(dataDir)).mode ?? 0) & 0o077) {
  log("stderr", { level: "warn", message: "the data folder is open to other users: chmod 700 it", dataDir });
}
const kv = await Deno.openKv(dataDir ? await privateDatabase(`${dataDir}/accounts.kv`) : undefined);
// Deno's node:crypto answers synchronously: 2x the URLs per second of its Web Crypto (awaited on a worker thread).
const signer = createPresigner(nodeSha256);
const io = denoIo(environment, { deploy: onDeploy });
const app = createApp({
  store: cachedStore(denoKvStore<AwsAccount>(kv, "AwsAccount"), ACCOUNT_CACHE_MS),
  clients: cachedStore(denoKvStore<Client>(kv, "Client"), ACCOUNT_CACHE_MS),
  // Required on Deno: without it secrets can be neither stored nor used (503 naming the variable).
  sealer: await sealerFrom(env("SIGNPOST_ENCRYPTION_KEY")),
  // The default chain as far as the permissions reach (see README, Deno): env, ~/.aws, token files, container, IMDS.
  credentials: defaultChain(io, { signer, log: (entry) => log("stdout", entry) }),
  roles: createRoleCredentials(io, { signer, log: (entry) => log("stdout", entry) }),
  presigner: signer,
  config: { adminToken: await adminToken(dataDir), corsOrigins: corsOrigins(env("SIGNPOST_CORS_ORIGINS")) },
  log: (entry) => log("stdout", entry),
});

const server = Deno.serve(
  {
    port: Number(env("PORT") ?? 8787),
    hostname: env("HOST") ?? "127.0.0.1",
    onListen: ({ hostname, port }) => {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      log("stderr", { message: "listening", url: `http://${host}:${port}`, dataDir });
    },
  },
  app.fetch,
);

if (!onDeploy) {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, async () => {
      log("stderr", { message: "stopping", signal });
      await server.shutdown();
      kv.close();
      Deno.exit(0);
    });
  }
}
