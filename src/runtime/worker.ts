// Cloudflare Workers entry. Accounts in the KV namespace bound as ACCOUNTS; SIGNPOST_ADMIN_TOKEN and the
// optional AWS_* default credentials come as secrets. Signing uses Web Crypto.
import type { ExecutionContext, KVNamespace } from "@cloudflare/workers-types";
import type { Hono } from "hono";
import type { AwsAccount } from "../account.ts";
import { createApp } from "../app.ts";
import { fromEnv } from "../credentials/env.ts";
import { createPresigner, webCryptoSha256 } from "../signer.ts";
import { ACCOUNT_CACHE_MS, cachedStore } from "../store/cache.ts";
import { workersKvStore } from "../store/workers-kv.ts";

export interface Env {
  ACCOUNTS: KVNamespace;
  SIGNPOST_ADMIN_TOKEN?: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  AWS_SESSION_TOKEN?: string;
  AWS_CREDENTIAL_EXPIRATION?: string;
}

// One app per isolate (bindings do not change within one).
let app: Hono | undefined;

function build(env: Env): Hono {
  return createApp({
    store: cachedStore(workersKvStore<AwsAccount>(env.ACCOUNTS, "AwsAccount"), ACCOUNT_CACHE_MS),
    credentials: fromEnv(env as unknown as Record<string, string | undefined>),
    presigner: createPresigner(webCryptoSha256()),
    config: { adminToken: env.SIGNPOST_ADMIN_TOKEN },
    log: (entry) => console.log(JSON.stringify(entry)),
  });
}

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    app ??= build(env);
    return app.fetch(request, env, ctx);
  },
};
