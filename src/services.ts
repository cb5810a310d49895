// What the routes are given: the stores, the use cases (presigning, signing) and the protocol clients (S3, the
// back-end checks), built once from what a runtime (or a test) hands in.
import { introspectorIndex } from "./auth/introspectors.ts";
import { keySets } from "./auth/key-sets.ts";
import { backendChecks } from "./aws/probe.ts";
import { s3Client } from "./aws/s3.ts";
import type { HeaderSigner, Presigner } from "./aws/signer.ts";
import type { CredentialProvider } from "./credentials/provider.ts";
import type { Sealer } from "./crypto/seal.ts";
import { accountReader, type AwsAccount } from "./domain/account.ts";
import type { Client } from "./domain/client.ts";
import type { TokenIntrospector } from "./domain/introspector.ts";
import { presigning } from "./domain/presign.ts";
import type { RoleCredentials } from "./domain/roles.ts";
import { createSigning } from "./domain/signing.ts";
import { auditor, isoClock, type Log, textLog } from "./http/log.ts";
import { ACCOUNT_CACHE_MS } from "./store/cache.ts";
import type { ChangeFeed, ResourceStore } from "./store/store.ts";

export interface AppConfig {
  /** The token every route but /health requires; when unset, those routes answer 503 (fail closed). */
  adminToken: string | undefined;
  maxBodyBytes?: number;
  /** Browser origins allowed by CORS (`*` for any); none by default. */
  corsOrigins?: string[];
  /** How long this replica trusts its read of the TokenIntrospectors (SIGNPOST_ACCOUNT_CACHE_MS). */
  cacheMs?: number;
}

export interface AppDeps {
  store: ResourceStore<AwsAccount>;
  clients: ResourceStore<Client>;
  introspectors: ResourceStore<TokenIntrospector>;
  /** Writes by every replica (PostgreSQL's LISTEN/NOTIFY): a TokenIntrospector changed anywhere is read again at once. */
  changes?: ChangeFeed;
  /** Seals secret-access-key at rest; unseals it only to sign. */
  sealer: Sealer;
  /** Credentials for accounts without access-key-id (the default chain). */
  credentials: CredentialProvider;
  /** STS AssumeRole for accounts with role-arn; without it such accounts answer 503. */
  roles?: RoleCredentials;
  presigner: Presigner & HeaderSigner;
  config: AppConfig;
  /** HTTP client for the calls signpost makes itself (multipart, back-end checks); default the global fetch. */
  fetch?: typeof fetch;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** One call per request, per audited action and per unexpected error; never secrets or signed URLs. */
  log?: Log;
}

export function services(deps: AppDeps) {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? textLog(() => {});
  const iso = isoClock();
  const outbound = deps.fetch ? { fetch: deps.fetch } : {};
  const s3 = s3Client({ signer: deps.presigner, ...outbound, now });
  const checks = backendChecks({ s3, presigner: deps.presigner, ...outbound, now });
  const signing = createSigning({ sealer: deps.sealer, credentials: deps.credentials, ...(deps.roles ? { roles: deps.roles } : {}), checks });
  const accounts = accountReader(deps.store);
  const index = introspectorIndex(deps.introspectors, deps.config.cacheMs ?? ACCOUNT_CACHE_MS, now);
  const sets = keySets({ ...outbound, now, log });
  // A change elsewhere is read again at once. The fetched key sets are kept: each is tied to its introspector's
  // version, so a changed or re-made one starts a new set by itself, and a notice (which any database user may send)
  // must not throw away keys in hand while the issuer is down.
  deps.changes?.subscribe({
    changed(type) {
      if (type === "TokenIntrospector") index.clear();
    },
    reset: () => index.clear(),
  });
  return {
    store: deps.store,
    clients: deps.clients,
    introspectors: deps.introspectors,
    introspectorIndex: index,
    keySets: sets,
    sealer: deps.sealer,
    accounts,
    signing,
    checks,
    s3,
    presign: presigning({ accounts, signing, presigner: deps.presigner, now }),
    presigner: deps.presigner,
    now,
    log,
    iso,
    audit: auditor(log, now, iso),
  };
}

export type Services = ReturnType<typeof services>;
