// Cloudflare Workers entry. Accounts and clients in the KV namespace bound as ACCOUNTS; SIGNPOST_ADMIN_TOKEN,
// SIGNPOST_ENCRYPTION_KEY and the optional AWS_* default credentials come as secrets. Signing uses Web Crypto.
import type { ExecutionContext, KVNamespace } from "@cloudflare/workers-types";
import type { AwsAccount } from "../account.ts";
import { type App, createApp, corsOrigins } from "../app.ts";
import type { Client } from "../clients.ts";
import { fromEnv } from "../credentials/env.ts";
import { sealerFrom } from "../seal.ts";
import { createPresigner, webCryptoSha256 } from "../signer.ts";
import { ACCOUNT_CACHE_MS, cachedStore } from "../store/cache.ts";
import { workersKvStore } from "../store/workers-kv.ts";

export interface Env {
  ACCOUNTS: KVNamespace;
  SIGNPOST_ADMIN_TOKEN?: string;
  /** base64 32-byte key(s) sealing secrets in KV; without it, secrets can be neither stored nor used (503). */
  SIGNPOST_ENCRYPTION_KEY?: string;
  SIGNPOST_CORS_ORIGINS?: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  AWS_SESSION_TOKEN?: string;
  AWS_CREDENTIAL_EXPIRATION?: string;
}

// One app per isolate (bindings do not change within one).
let app: Promise<App> | undefined;

async function build(env: Env): Promise<App> {
  return createApp({
    store: cachedStore(workersKvStore<AwsAccount>(env.ACCOUNTS, "AwsAccount"), ACCOUNT_CACHE_MS),
    clients: cachedStore(workersKvStore<Client>(env.ACCOUNTS, "Client"), ACCOUNT_CACHE_MS),
    sealer: await sealerFrom(env.SIGNPOST_ENCRYPTION_KEY),
    credentials: fromEnv(env as unknown as Record<string, string | undefined>),
    presigner: createPresigner(webCryptoSha256()),
    config: { adminToken: env.SIGNPOST_ADMIN_TOKEN, corsOrigins: corsOrigins(env.SIGNPOST_CORS_ORIGINS) },
    log: (entry) => console.log(JSON.stringify(entry)),
  });
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    app ??= build(env);
    return (await app).fetch(request, env, ctx);
  },
};
