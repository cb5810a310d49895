/// <reference lib="deno.ns" />
/// <reference lib="deno.unstable" />
// Deno and Deno Deploy entry (`deno task start` runs it through deno-start.ts, which grants the permissions). Accounts
// and clients in Deno KV: on Deno Deploy its managed database, elsewhere the file SIGNPOST_DATA_DIR/accounts.kv (the
// same format as the Node store, with the same kept admin token and encryption key, so the two can take turns); or,
// with SIGNPOST_DATABASE_URL, in PostgreSQL shared by every replica (postgres.ts, the same client as on Node).
import postgres from "npm:postgres@3.4.9";
import type { AwsAccount } from "../domain/account.ts";
import type { Client } from "../domain/client.ts";
import type { TokenIntrospector } from "../domain/introspector.ts";
import { adminToken, readSettings, SERVER_ENV_NAMES, SettingError } from "../config.ts";
import { compose } from "../compose.ts";
import { defaultChain } from "../credentials/chain.ts";
import { CREDENTIAL_ENV_NAMES } from "../credentials/names.ts";
import { sealerFrom } from "../crypto/seal.ts";
import { textLog } from "../http/log.ts";
import { denoKvStore } from "../store/kv.ts";
import { denoIo, readEnv } from "./deno-io.ts";
import { checkDataFolder, folderSecrets, type SecretFiles } from "./kept-secret.ts";
import { openSharedDatabase, type PostgresFactory, type PostgresStores, serverRdsIam } from "./postgres.ts";
import { type SealingKeyCheck, secretStores } from "./shared-key.ts";
import { midstateSha256 } from "./node-crypto.ts";
import { answersPerTurn, linesPerTurn } from "./per-turn.ts";

/** Start-up and shutdown lines go to stderr; the request log and audit lines to stdout (logLine in main). */
const logToStderr = textLog((line) => console.error(line));

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
  if (denied.length) logToStderr({ level: "warn", message: "not permitted to read these variables (--allow-env); taken as unset", variables: denied.join(",") });
  const settings = readSettings(env);
  const onDeploy = env.DENO_DEPLOYMENT_ID !== undefined;
  const io = denoIo(env, { deploy: onDeploy });
  // Deno Deploy's log takes each console.log call as one entry: a line each there. Elsewhere a turn's lines go out in
  // few calls, as on Node (per-turn.ts): a console.log costs about 3.5 µs, a batch of 100 URLs has 101 lines.
  const turnLines = onDeploy ? undefined : linesPerTurn((text) => console.log(text.slice(0, -1)));
  // Written before the process ends: on Deno.exit (which dispatches unload too) and on an uncaught error, as Node
  // writes them on "exit". A signal without a listener (SIGHUP) still ends it at once.
  if (turnLines) for (const event of ["unload", "error", "unhandledrejection"]) globalThis.addEventListener(event, turnLines.flush);
  const logLine = turnLines ?? textLog((line) => console.log(line));
  const shared = settings.databaseUrl ? await openSharedDatabase(postgres as unknown as PostgresFactory, settings, serverRdsIam(io, logLine, env)) : undefined;
  const dataDir = onDeploy || shared ? undefined : settings.dataDir;
  let token = settings.adminToken;
  let sealer = shared?.sealer;
  // On a data folder, the file in it (opened once the folder is judged); on Deno Deploy, its own KV.
  let kv: Deno.Kv | undefined;
  const kvStores = (db: Deno.Kv) => ({
    accounts: denoKvStore<AwsAccount>(db, "AwsAccount"),
    clients: denoKvStore<Client>(db, "Client"),
    introspectors: denoKvStore<TokenIntrospector>(db, "TokenIntrospector"),
  });
  let stores: Pick<PostgresStores, "accounts" | "clients" | "introspectors"> | undefined = shared?.db;
  if (dataDir) {
    await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
    const folder = await Deno.stat(dataDir);
    // Who we are needs --allow-sys=uid, which deno task start grants; run without it, the mode alone is judged. The
    // folders above are not checked here: the server may read only its own folder (Node checks them).
    const me = Deno.permissions.querySync({ name: "sys", kind: "uid" }).state === "granted" ? Deno.uid() : null;
    checkDataFolder(dataDir, { mode: folder.mode ?? 0, uid: folder.uid }, me, logToStderr);
    // Outside Deno Deploy, kept in the data folder as Node keeps them: one folder, either runtime.
    kv = await Deno.openKv(await privateDatabase(`${dataDir}/accounts.kv`));
    stores = kvStores(kv);
    const kept = await folderSecrets(files, dataDir, settings, denoKvStore<SealingKeyCheck>(kv, "SealingKey"), secretStores(stores), logToStderr, (text) => console.error(text.trimEnd()));
    token = adminToken(kept.adminToken);
    sealer = kept.sealer;
  } else if (!shared) {
    // On Deno Deploy without SIGNPOST_ADMIN_TOKEN every route but /health answers 503 (fail closed); without
    // SIGNPOST_ENCRYPTION_KEY, storing or using a secret does.
    kv = await Deno.openKv();
    stores = kvStores(kv);
    sealer = await sealerFrom(settings.encryptionKey);
  }
  const app = compose({
    ...stores!,
    ...(shared ? { changes: shared.db.changes } : {}),
    sealer: sealer!,
    // Deno's node:crypto answers synchronously: 3x the URLs per second of its Web Crypto (awaited on a worker thread).
    // Its calls cost about a microsecond each, so the HMAC of each URL is computed in JavaScript (midstate-hmac.ts).
    sha256: midstateSha256,
    // The default chain as far as the permissions reach (see README, Deno): env, ~/.aws, token files, container, IMDS.
    io,
    credentials: (signer) => defaultChain(io, { signer, log: logLine }),
    settings: { ...settings, adminToken: shared?.adminToken ?? token },
    log: logLine,
  });

  const { port, cacheMs } = settings;
  const hostname = settings.host;
  let server: Deno.HttpServer | undefined;
  // Before the server prints "listening": whoever waits for that line may stop it at once, and a SIGTERM before the
  // listener is added would kill it (exit 143) instead of stopping it.
  if (!onDeploy) {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      Deno.addSignalListener(signal, async () => {
        logToStderr({ message: "stopping", signal });
        await server?.shutdown();
        kv?.close();
        await shared?.db.close();
        Deno.exit(0);
      });
    }
  }
  try {
    server = Deno.serve({
      port,
      hostname,
      onListen: ({ hostname, port }) => {
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        logToStderr({ message: "listening", url: `http://${host}:${port}`, ...(shared ? { database: shared.db.where } : { dataDir }), cacheMs });
      },
    }, answersPerTurn(app.fetch)); // Deno's server writes each answer at once too: the same wake-ups (BENCHMARKS.md, part 8)
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) throw new SettingError(`port ${port} on ${hostname} is in use: set PORT to another (0 picks a free one)`);
    if (error instanceof Deno.errors.AddrNotAvailable) throw new SettingError(`HOST ${hostname} is not an address of this machine`);
    throw error;
  }
}

main().catch((error) => {
  // One line, never a stack: a bad setting names its variable, a missing permission names the flag to add.
  const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
  const permission = error instanceof Error && (error.name === "NotCapable" || error.name === "PermissionDenied");
  logToStderr({ message: "failed to start", error: permission ? `${message} (start it with deno task start, which grants what SIGNPOST_DATA_DIR needs)` : message });
  Deno.exit(1);
});
