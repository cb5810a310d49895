/// <reference lib="deno.ns" />
/// <reference lib="deno.unstable" />
// Deno and Deno Deploy entry (`deno task start` runs it through deno-start.ts, which grants the permissions). Accounts
// and clients in Deno KV: on Deno Deploy its managed database, elsewhere the file SIGNPOST_DATA_DIR/accounts.kv (the
// same format as the Node store, with the same kept admin token and encryption key, so the two can take turns).
import type { AwsAccount } from "../account.ts";
import { createApp } from "../app.ts";
import type { Client } from "../clients.ts";
import * as settings from "../config.ts";
import { defaultChain } from "../credentials/chain.ts";
import { createRoleCredentials } from "../credentials/roles.ts";
import { sealerFrom } from "../seal.ts";
import { createPresigner } from "../signer.ts";
import { cachedStore } from "../store/cache.ts";
import { denoKvStore } from "../store/kv.ts";
import type { ResourceStore } from "../store/store.ts";
import { denoIo, readEnv } from "./deno-io.ts";
import { CREDENTIAL_ENV_NAMES, DEFAULT_DATA_DIR, SERVER_ENV_NAMES } from "./deno-permissions.ts";
import { keptSecret, randomSecret, type SecretFiles } from "./kept-secret.ts";
import { nodeSha256 } from "./node-crypto.ts";

function log(stream: "stdout" | "stderr", entry: Record<string, unknown>) {
  (stream === "stdout" ? console.log : console.error)(JSON.stringify(entry));
}

const files: SecretFiles = {
  async read(path) {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  },
  async create(path, text) {
    try {
      await Deno.writeTextFile(path, text, { mode: 0o600, createNew: true });
    } catch (error) {
      throw error instanceof Deno.errors.AlreadyExists ? Object.assign(error, { exists: true }) : error;
    }
  },
};

/** As on Node: the database file 0600 before SQLite opens it, so its -wal and -shm files get that mode too. */
async function privateDatabase(path: string): Promise<string> {
  (await Deno.open(path, { create: true, append: true, mode: 0o600 })).close();
  for (const file of [path, `${path}-wal`, `${path}-shm`]) await Deno.chmod(file, 0o600).catch(() => {});
  return path;
}

async function main() {
  // Read by name: `deno task start` grants --allow-env for exactly these. A name the permissions deny reads as unset.
  const { env, denied } = readEnv([...SERVER_ENV_NAMES, ...CREDENTIAL_ENV_NAMES]);
  if (denied.length) log("stderr", { level: "warn", message: "not permitted to read these variables (--allow-env); taken as unset", variables: denied.join(",") });
  const onDeploy = env.DENO_DEPLOYMENT_ID !== undefined;
  const dataDir = onDeploy ? undefined : (env.SIGNPOST_DATA_DIR || DEFAULT_DATA_DIR).replace(/\/+$/, "");
  const port = settings.port(env);
  const cacheMs = settings.cacheMs(env);
  const cached = <T extends AwsAccount | Client>(store: ResourceStore<T>) => (cacheMs > 0 ? cachedStore(store, cacheMs) : store);
  let adminToken = settings.adminToken(env.SIGNPOST_ADMIN_TOKEN);
  let encryptionKey = env.SIGNPOST_ENCRYPTION_KEY;

  if (dataDir) {
    await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (((await Deno.stat(dataDir)).mode ?? 0) & 0o077) log("stderr", { level: "warn", message: "the data folder is open to other users: chmod 700 it", dataDir });
    // Outside Deno Deploy, kept in the data folder as Node keeps them: one folder, either runtime.
    const admin = await keptSecret(files, { configured: adminToken, path: `${dataDir}/admin-token`, make: () => randomSecret(true) });
    if (admin.source === "file") log("stderr", { message: "SIGNPOST_ADMIN_TOKEN read from file", file: `${dataDir}/admin-token` });
    if (admin.source === "generated") console.error(`signpost: generated an admin token, kept in ${dataDir}/admin-token (mode 0600):\n${admin.value}`);
    adminToken = settings.adminToken(admin.value);
    const key = await keptSecret(files, { configured: encryptionKey, path: `${dataDir}/encryption-key`, make: () => randomSecret(false) });
    if (key.source === "file") log("stderr", { message: "SIGNPOST_ENCRYPTION_KEY read from file", file: `${dataDir}/encryption-key` });
    if (key.source === "generated") log("stderr", { message: "generated an encryption key for secrets at rest", file: `${dataDir}/encryption-key` });
    encryptionKey = key.value;
  }
  // On Deno Deploy without SIGNPOST_ADMIN_TOKEN every route but /health answers 503 (fail closed); without
  // SIGNPOST_ENCRYPTION_KEY, storing or using a secret does.

  const kv = await Deno.openKv(dataDir ? await privateDatabase(`${dataDir}/accounts.kv`) : undefined);
  // Deno's node:crypto answers synchronously: 3x the URLs per second of its Web Crypto (awaited on a worker thread).
  const signer = createPresigner(nodeSha256);
  const io = denoIo(env, { deploy: onDeploy });
  const app = createApp({
    store: cached(denoKvStore<AwsAccount>(kv, "AwsAccount")),
    clients: cached(denoKvStore<Client>(kv, "Client")),
    sealer: await sealerFrom(encryptionKey),
    // The default chain as far as the permissions reach (see README, Deno): env, ~/.aws, token files, container, IMDS.
    credentials: defaultChain(io, { signer, log: (entry) => log("stdout", entry) }),
    roles: createRoleCredentials(io, { signer, log: (entry) => log("stdout", entry) }),
    presigner: signer,
    config: { adminToken, corsOrigins: settings.corsOrigins(env) },
    log: (entry) => log("stdout", entry),
  });

  const hostname = env.HOST ?? "127.0.0.1";
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      port,
      hostname,
      onListen: ({ hostname, port }) => {
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        log("stderr", { message: "listening", url: `http://${host}:${port}`, dataDir, cacheMs });
      },
    }, app.fetch);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) throw new settings.SettingError(`port ${port} on ${hostname} is in use: set PORT to another (0 picks a free one)`);
    if (error instanceof Deno.errors.AddrNotAvailable) throw new settings.SettingError(`HOST ${hostname} is not an address of this machine`);
    throw error;
  }

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
}

main().catch((error) => {
  // One line, never a stack: a bad setting names its variable, a missing permission names the flag to add.
  const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
  const permission = error instanceof Error && (error.name === "NotCapable" || error.name === "PermissionDenied");
  log("stderr", { message: "failed to start", error: permission ? `${message} (start it with deno task start, which grants what SIGNPOST_DATA_DIR needs)` : message });
  Deno.exit(1);
});
