// Node entry: `npm start`. Accounts in an embedded Deno KV file (@deno/kv) under SIGNPOST_DATA_DIR.
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { serve } from "@hono/node-server";
import { openKv } from "@deno/kv";
import type { AwsAccount } from "../account.ts";
import { createApp, corsOrigins } from "../app.ts";
import type { Client } from "../clients.ts";
import { defaultChain } from "../credentials/chain.ts";
import { createRoleCredentials } from "../credentials/roles.ts";
import { createSealer } from "../seal.ts";
import { createPresigner } from "../signer.ts";
import { ACCOUNT_CACHE_MS, cachedStore } from "../store/cache.ts";
import { denoKvStore } from "../store/kv.ts";
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

/**
 * A secret from the environment, else the one kept in the data folder, else a new one written there (mode 0600).
 * Returns it with whether it was just made.
 */
function keptSecret(dataDir: string, variable: string, file: string, make: () => string): { value: string; made: boolean } {
  const configured = process.env[variable];
  if (configured) return { value: configured, made: false };
  const path = join(dataDir, file);
  try {
    const stored = readFileSync(path, "utf8").trim();
    if (stored) {
      writeLine(process.stderr, { message: `${variable} read from file`, file: path });
      return { value: stored, made: false };
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const value = make();
  writeFileSync(path, `${value}\n`, { mode: 0o600, flag: "wx" }); // wx: never overwrite what another start wrote
  return { value, made: true };
}

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

function adminToken(dataDir: string): string {
  const token = keptSecret(dataDir, "SIGNPOST_ADMIN_TOKEN", "admin-token", () => randomBytes(32).toString("base64url"));
  if (token.value.length < 16) throw new Error("SIGNPOST_ADMIN_TOKEN must be at least 16 characters");
  if (token.made) {
    process.stderr.write(`signpost: generated an admin token, kept in ${join(dataDir, "admin-token")} (mode 0600):\n${token.value}\n`);
  }
  return token.value;
}

async function main() {
  const dataDir = resolve(process.env.SIGNPOST_DATA_DIR || ".signpost");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const port = Number(process.env.PORT || 8787);
  const hostname = process.env.HOST || "127.0.0.1";

  // How long an account read is trusted; 0 reads the store on every request (the HTTP bench times both).
  const accountCacheMs = process.env.SIGNPOST_ACCOUNT_CACHE_MS ? Number(process.env.SIGNPOST_ACCOUNT_CACHE_MS) : ACCOUNT_CACHE_MS;
  if (!Number.isInteger(accountCacheMs) || accountCacheMs < 0) throw new Error("SIGNPOST_ACCOUNT_CACHE_MS must be a whole number of milliseconds");
  warnIfOpen(dataDir);
  const kv = await openKv(privateDatabase(join(dataDir, "accounts.kv")));
  const accounts = denoKvStore<AwsAccount>(kv, "AwsAccount");
  // Sealing key for secrets at rest: generated once and kept beside the data (back it up with it).
  const encryptionKey = keptSecret(dataDir, "SIGNPOST_ENCRYPTION_KEY", "encryption-key", () => randomBytes(32).toString("base64"));
  if (encryptionKey.made) writeLine(process.stderr, { message: "generated an encryption key for secrets at rest", file: join(dataDir, "encryption-key") });
  const signer = createPresigner(nodeSha256);
  const io = nodeIo();
  const log = batchedLines(process.stdout);
  const app = createApp({
    store: accountCacheMs > 0 ? cachedStore(accounts, accountCacheMs) : accounts,
    clients: cachedStore(denoKvStore<Client>(kv, "Client"), ACCOUNT_CACHE_MS),
    sealer: await createSealer(encryptionKey.value), // a bad key stops the start with its reason
    credentials: defaultChain(io, { signer, log }),
    roles: createRoleCredentials(io, { signer, log }),
    presigner: signer,
    config: { adminToken: adminToken(dataDir), corsOrigins: corsOrigins(process.env.SIGNPOST_CORS_ORIGINS) },
    log,
  });

  const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
    const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
    writeLine(process.stderr, { message: "listening", url: `http://${host}:${info.port}`, dataDir, accountCacheMs });
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
