// Node entry: `npm start`. Accounts and clients in an embedded Deno KV file (@deno/kv) under SIGNPOST_DATA_DIR, or,
// with SIGNPOST_DATABASE_URL, in PostgreSQL shared by every replica (postgres.ts).
import { mkdirSync, realpathSync, statSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { serve } from "@hono/node-server";
import { openKv } from "@deno/kv";
import postgres from "postgres";
import type { AwsAccount } from "../domain/account.ts";
import type { Client } from "../domain/client.ts";
import type { TokenIntrospector } from "../domain/introspector.ts";
import { adminToken, readSettings } from "../config.ts";
import { compose } from "../compose.ts";
import type { HostIO } from "../credentials/provider.ts";
import type { Log } from "../http/log.ts";
import { defaultChain } from "../credentials/chain.ts";
import { denoKvStore } from "../store/kv.ts";
import { checkDataFolder, checkFoldersAbove, folderSecrets, foldersAbove, type SecretFiles } from "./kept-secret.ts";
import { openSharedDatabase, type PostgresFactory, serverRdsIam } from "./postgres.ts";
import { type SealingKeyCheck, secretStores } from "./shared-key.ts";
import { nodeSha256 } from "./node-crypto.ts";
import { nodeIo, privateDatabase } from "./node-io.ts";
import { answersPerTurn, linesPerTurn } from "./per-turn.ts";

function writeLine(stream: NodeJS.WriteStream, entry: Record<string, unknown>) {
  stream.write(`${JSON.stringify(entry)}\n`);
}

const files: SecretFiles = {
  async read(path) {
    try {
      return await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  },
  async create(path, text) {
    try {
      await writeFile(path, text, { mode: 0o600, flag: "wx" }); // wx: never overwrite what another start wrote
    } catch (error) {
      throw (error as NodeJS.ErrnoException).code === "EEXIST" ? Object.assign(error as Error, { exists: true }) : error;
    }
  },
};

/** The stores, sealer and admin token: from the data folder (the default), or from a shared PostgreSQL. */
async function storage(settings: ReturnType<typeof readSettings>, io: HostIO, log: Log) {
  if (settings.databaseUrl) {
    const { db, sealer, adminToken: token } = await openSharedDatabase(postgres as unknown as PostgresFactory, settings, serverRdsIam(io, log, process.env));
    return { ...db, sealer, adminToken: token, at: { database: db.where }, close: () => db.close() };
  }
  const named = resolve(settings.dataDir);
  mkdirSync(named, { recursive: true, mode: 0o700 });
  // Its links resolved once, and the folder judged and used by that path: a link another user may swap later is
  // never followed again (the folders on the real path hold no link, and are judged).
  const dataDir = realpathSync(named);
  const me = process.getuid?.() ?? null;
  const say = (entry: Record<string, string>) => writeLine(process.stderr, entry);
  checkFoldersAbove(dataDir, foldersAbove(dataDir).map((path) => {
    const { mode, uid } = statSync(path);
    return { path, mode, uid };
  }), me, say);
  checkDataFolder(dataDir, statSync(dataDir), me, say);
  const kv = await openKv(privateDatabase(join(dataDir, "accounts.kv")));
  const stores = { accounts: denoKvStore<AwsAccount>(kv, "AwsAccount"), clients: denoKvStore<Client>(kv, "Client"), introspectors: denoKvStore<TokenIntrospector>(kv, "TokenIntrospector") };
  const kept = await folderSecrets(files, dataDir, settings, denoKvStore<SealingKeyCheck>(kv, "SealingKey"), secretStores(stores), say, (text) => process.stderr.write(text));
  return {
    ...stores,
    changes: undefined,
    sealer: kept.sealer,
    adminToken: kept.adminToken,
    at: { dataDir },
    close: async () => kv.close(),
  };
}

async function main() {
  const settings = readSettings(process.env);
  const io = nodeIo();
  // The request log and audit lines, a turn's lines in few writes (per-turn.ts); flushed on exit, too.
  const log = linesPerTurn((text) => process.stdout.write(text));
  process.on("exit", log.flush);
  const stores = await storage(settings, io, log);
  const app = compose({
    accounts: stores.accounts,
    clients: stores.clients,
    introspectors: stores.introspectors,
    ...(stores.changes ? { changes: stores.changes } : {}),
    sealer: stores.sealer,
    sha256: nodeSha256,
    io,
    credentials: (signer) => defaultChain(io, { signer, log }),
    settings: { ...settings, adminToken: adminToken(stores.adminToken) },
    log,
  });

  const { port, host: hostname, cacheMs } = settings;
  const server = serve({ fetch: answersPerTurn(app.fetch), port, hostname }, (info) => {
    const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
    writeLine(process.stderr, { message: "listening", url: `http://${host}:${info.port}`, ...stores.at, cacheMs });
  });
  server.once("error", (error: NodeJS.ErrnoException) => {
    const reason = error.code === "EADDRINUSE" ? `port ${port} on ${hostname} is in use: set PORT to another (0 picks a free one)`
      : error.code === "EADDRNOTAVAIL" ? `HOST ${hostname} is not an address of this machine`
      : error.code === "EACCES" ? `not allowed to listen on port ${port}: use one above 1023`
      : error.message;
    writeLine(process.stderr, { message: "failed to start", error: reason });
    process.exit(1);
  });

  const stop = (signal: string) => {
    writeLine(process.stderr, { message: "stopping", signal });
    server.close(() => {
      stores.close().finally(() => process.exit(0));
    });
    // Idle keep-alive connections would hold close() open; in-flight requests have finished by now.
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

main().catch((error) => {
  writeLine(process.stderr, { message: "failed to start", error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
