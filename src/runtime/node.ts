// Node entry: `npm start`. Accounts in an embedded Deno KV file (@deno/kv) under SIGNPOST_DATA_DIR.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { serve } from "@hono/node-server";
import { openKv } from "@deno/kv";
import type { AwsAccount } from "../account.ts";
import { createApp } from "../app.ts";
import { defaultChain } from "../credentials/chain.ts";
import { createRoleCredentials } from "../credentials/roles.ts";
import { createPresigner } from "../signer.ts";
import { ACCOUNT_CACHE_MS, cachedStore } from "../store/cache.ts";
import { denoKvStore } from "../store/kv.ts";
import { nodeSha256 } from "./node-crypto.ts";
import { nodeIo } from "./node-io.ts";

function writeLine(stream: NodeJS.WriteStream, entry: Record<string, unknown>) {
  stream.write(`${JSON.stringify(entry)}\n`);
}

/** SIGNPOST_ADMIN_TOKEN, else the token kept in the data folder, else a new one (printed once). */
function adminToken(dataDir: string): string {
  const fromEnvironment = process.env.SIGNPOST_ADMIN_TOKEN;
  if (fromEnvironment) {
    if (fromEnvironment.length < 16) throw new Error("SIGNPOST_ADMIN_TOKEN must be at least 16 characters");
    return fromEnvironment;
  }
  const file = join(dataDir, "admin-token");
  try {
    const stored = readFileSync(file, "utf8").trim();
    if (stored) {
      writeLine(process.stderr, { message: "admin token read from file", file });
      return stored;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const token = randomBytes(32).toString("base64url");
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: "wx" }); // wx: never overwrite a token another start wrote
  process.stderr.write(`signpost: generated an admin token, kept in ${file} (mode 0600):\n${token}\n`);
  return token;
}

async function main() {
  const dataDir = resolve(process.env.SIGNPOST_DATA_DIR || ".signpost");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const port = Number(process.env.PORT || 8787);
  const hostname = process.env.HOST || "127.0.0.1";

  const kv = await openKv(join(dataDir, "accounts.kv"));
  const signer = createPresigner(nodeSha256);
  const io = nodeIo();
  const log = (entry: Record<string, unknown>) => writeLine(process.stdout, entry);
  const app = createApp({
    store: cachedStore(denoKvStore<AwsAccount>(kv, "AwsAccount"), ACCOUNT_CACHE_MS),
    credentials: defaultChain(io, { signer, log }),
    roles: createRoleCredentials(io, { signer, log }),
    presigner: signer,
    config: { adminToken: adminToken(dataDir) },
    log,
  });

  const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
    const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
    writeLine(process.stderr, { message: "listening", url: `http://${host}:${info.port}`, dataDir });
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
