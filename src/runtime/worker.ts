// Cloudflare Workers entry. Accounts and clients in the KV namespace bound as ACCOUNTS; SIGNPOST_ADMIN_TOKEN,
// SIGNPOST_ENCRYPTION_KEY and the optional AWS_* default credentials come as secrets. Signing uses Web Crypto.
// Default credentials: the chain with the bindings as its environment, and web identity when a token is bound
// (AWS_WEB_IDENTITY_TOKEN + AWS_ROLE_ARN); no files, no processes, no metadata endpoints. Accounts with role-arn
// assume their role through STS.
import type { ExecutionContext, KVNamespace } from "@cloudflare/workers-types";
import type { App } from "../app.ts";
import { webCryptoSha256 } from "../aws/signer.ts";
import { compose } from "../compose.ts";
import { edgeChain } from "../credentials/chain.ts";
import { serviceSettings, SettingError } from "../config.ts";
import { sealerFrom } from "../crypto/seal.ts";
import type { AwsAccount } from "../domain/account.ts";
import type { Client } from "../domain/client.ts";
import type { TokenIntrospector } from "../domain/introspector.ts";
import { operationOutcome } from "../errors.ts";
import { render } from "../http/body.ts";
import { textLog } from "../http/log.ts";
import { workersKvStore } from "../store/workers-kv.ts";

export interface Env {
  ACCOUNTS: KVNamespace;
  SIGNPOST_ADMIN_TOKEN?: string;
  /** base64 32-byte key(s) sealing secrets in KV; without it, secrets can be neither stored nor used (503). */
  SIGNPOST_ENCRYPTION_KEY?: string;
  SIGNPOST_CORS_ORIGINS?: string;
  /** How long an isolate trusts an account or client it read (ms; default 5000, 0 reads KV every time). */
  SIGNPOST_ACCOUNT_CACHE_MS?: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  AWS_SESSION_TOKEN?: string;
  AWS_CREDENTIAL_EXPIRATION?: string;
  /** A web identity token (an OIDC JWT) to exchange with STS AssumeRoleWithWebIdentity for AWS_ROLE_ARN. */
  AWS_WEB_IDENTITY_TOKEN?: string;
  AWS_ROLE_ARN?: string;
  AWS_ROLE_SESSION_NAME?: string;
  AWS_REGION?: string;
  AWS_ENDPOINT_URL_STS?: string;
  AWS_ENDPOINT_URL?: string;
}

// One app per isolate (bindings do not change within one).
let app: Promise<App> | undefined;

async function build(env: Env): Promise<App> {
  // Text bindings only (secrets and vars), as the settings and the chain's environment.
  const vars = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  const settings = serviceSettings(vars);
  const io = { env: vars, metadataEndpoints: false };
  const log = textLog((line) => console.log(line));
  return compose({
    accounts: workersKvStore<AwsAccount>(env.ACCOUNTS, "AwsAccount"),
    clients: workersKvStore<Client>(env.ACCOUNTS, "Client"),
    introspectors: workersKvStore<TokenIntrospector>(env.ACCOUNTS, "TokenIntrospector"),
    sealer: await sealerFrom(settings.encryptionKey),
    sha256: webCryptoSha256(),
    io,
    // The part of the chain a Worker can reach (its bindings, and web identity with a bound token): the file and
    // metadata sources would only step aside here, and they would weigh on the bundle.
    credentials: () => edgeChain(io, { log, token: env.AWS_WEB_IDENTITY_TOKEN, tokenName: "the binding AWS_WEB_IDENTITY_TOKEN" }),
    settings,
    log,
  });
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    app ??= build(env);
    let built: App;
    try {
      built = await app;
    } catch (error) {
      // A bad binding (SIGNPOST_ACCOUNT_CACHE_MS=abc): every request says which, as Node and Deno do at start.
      const message = error instanceof SettingError ? error.message : "signpost could not start";
      return render(operationOutcome(503, message), 503, "json");
    }
    return built.fetch(request, env, ctx);
  },
};
