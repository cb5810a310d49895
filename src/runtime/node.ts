// Node entry: `npm start`. Accounts and clients in an embedded Deno KV file (@deno/kv) under SIGNPOST_DATA_DIR.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { serve } from "@hono/node-server";
import { openKv } from "@deno/kv";
import type { AwsAccount } from "../account.ts";
import { createApp } from "../app.ts";
import type { Client } from "../clients.ts";
import * as settings from "../config.ts";
import { defaultChain } from "../credentials/chain.ts";
import { createRoleCredentials } from "../credentials/roles.ts";
import { createSealer } from "../seal.ts";
import { createPresigner } from "../signer.ts";
import { cachedStore } from "../store/cache.ts";
import { denoKvStore } from "../store/kv.ts";
import type { ResourceStore } from "../store/store.ts";
import { keptSecret, randomSecret, type SecretFiles } from "./kept-secret.ts";
import { nodeSha256 } from "./node-crypto.ts";
import { nodeIo } from "./node-io.ts";

function writeLine(stream: NodeJS.WriteStream, entry: Record<string, unknown>) {
  stream.write(`${JSON.stringify(entry)}\n`);
}

/**
 * The request log and audit lines: gathered and written once per turn of the event loop, so that a busy server
 * makes one write for many requests instead of two system calls for each. Flushed on exit, too.
 */
function batchedLines(stream: NodeJS.WriteStream): (entry: Record<string, unknown>) => void {
  let pending = "";
  const flush = () => {
    if (pending === "") return;
    const lines = pending;
    pending = "";
    stream.write(lines);
  };
  process.on("exit", flush);
  return (entry) => {
    if (pending === "") setImmediate(flush);
    pending += `${JSON.stringify(entry)}\n`;
  };
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

/**
 * The database file made (or made again) private before SQLite opens it: SQLite gives its -wal and -shm files the
 * database's mode, so all three are 0600 even in a folder that already existed (a mounted volume).
 */
function privateDatabase(path: string): string {
  closeSync(openSync(path, "a", 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
  return path;
}

/** A warning when others may read or enter the data folder (it holds the sealed secrets and their key). */
function warnIfOpen(dataDir: string) {
  const mode = statSync(dataDir).mode & 0o777;
  if (mode & 0o077) writeLine(process.stderr, { level: "warn", message: "the data folder is open to other users: chmod 700 it", dataDir, mode: mode.toString(8) });
}

async function main() {
  const env = process.env;
  const dataDir = resolve(env.SIGNPOST_DATA_DIR || ".signpost");
  const port = settings.port(env);
  const hostname = env.HOST || "127.0.0.1";
  // How long an account or client read is trusted; 0 reads the store on every request (the HTTP bench times both).
  const cacheMs = settings.cacheMs(env);
  const cached = <T extends AwsAccount | Client>(store: ResourceStore<T>) => (cacheMs > 0 ? cachedStore(store, cacheMs) : store);
  const token = settings.adminToken(env.SIGNPOST_ADMIN_TOKEN);

  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  warnIfOpen(dataDir);
  const kv = await openKv(privateDatabase(join(dataDir, "accounts.kv")));
  const admin = await keptSecret(files, { configured: token, path: join(dataDir, "admin-token"), make: () => randomSecret(true) });
  if (admin.source === "file") writeLine(process.stderr, { message: "SIGNPOST_ADMIN_TOKEN read from file", file: join(dataDir, "admin-token") });
  if (admin.source === "generated") process.stderr.write(`signpost: generated an admin token, kept in ${join(dataDir, "admin-token")} (mode 0600):\n${admin.value}\n`);
  // Sealing key for secrets at rest: generated once and kept beside the data (back it up apart from it).
  const encryptionKey = await keptSecret(files, { configured: env.SIGNPOST_ENCRYPTION_KEY, path: join(dataDir, "encryption-key"), make: () => randomSecret(false) });
  if (encryptionKey.source === "file") writeLine(process.stderr, { message: "SIGNPOST_ENCRYPTION_KEY read from file", file: join(dataDir, "encryption-key") });
  if (encryptionKey.source === "generated") writeLine(process.stderr, { message: "generated an encryption key for secrets at rest", file: join(dataDir, "encryption-key") });
  const signer = createPresigner(nodeSha256);
  const io = nodeIo();
  const log = batchedLines(process.stdout);
  const app = createApp({
    store: cached(denoKvStore<AwsAccount>(kv, "AwsAccount")),
    clients: cached(denoKvStore<Client>(kv, "Client")),
    sealer: await createSealer(encryptionKey.value), // a bad key stops the start with its reason
    credentials: defaultChain(io, { signer, log }),
    roles: createRoleCredentials(io, { signer, log }),
    presigner: signer,
    config: { adminToken: settings.adminToken(admin.value), corsOrigins: settings.corsOrigins(env) },
    log,
  });

  const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
    const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
    writeLine(process.stderr, { message: "listening", url: `http://${host}:${info.port}`, dataDir, cacheMs });
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
      kv.close();
      process.exit(0);
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
