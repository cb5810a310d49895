// Builds the service from a runtime's parts: the stores, the sealer, the hash primitives and what the host lends
// (environment, files, processes). The three runtimes call only this, then serve what it returns.
import { createApp, type App } from "./app.ts";
import { createPresigner, type HeaderSigner, type Sha256 } from "./aws/signer.ts";
import type { Settings } from "./config.ts";
import type { CredentialProvider, HostIO } from "./credentials/provider.ts";
import type { Sealer } from "./crypto/seal.ts";
import type { AwsAccount } from "./domain/account.ts";
import type { Client } from "./domain/client.ts";
import type { TokenIntrospector } from "./domain/introspector.ts";
import { createRoleCredentials } from "./domain/roles.ts";
import type { Log } from "./http/log.ts";
import { cachedStore } from "./store/cache.ts";
import type { ChangeFeed, Resource, ResourceStore } from "./store/store.ts";

export interface RuntimeParts<Key> {
  /** Where accounts, clients and token introspectors live (the runtime's own store); compose puts the read cache in front. */
  accounts: ResourceStore<AwsAccount>;
  clients: ResourceStore<Client>;
  introspectors: ResourceStore<TokenIntrospector>;
  /** Writes made by every replica as they commit (PostgreSQL): the caches forget what changed at once. */
  changes?: ChangeFeed;
  sealer: Sealer;
  /** node:crypto where the runtime has it (synchronous), else Web Crypto. */
  sha256: Sha256<Key>;
  io: HostIO;
  /**
   * The default credential chain, given the signer (profiles with role_arn sign AssumeRole): every AWS source
   * (defaultChain), or an edge runtime's (edgeChain). Passed in, so that a Worker's bundle holds only its own.
   */
  credentials: (signer: HeaderSigner) => CredentialProvider;
  settings: Pick<Settings, "adminToken" | "corsOrigins" | "cacheMs">;
  log: Log;
}

export function compose<Key>(parts: RuntimeParts<Key>): App {
  const { io, log, settings } = parts;
  const signer = createPresigner(parts.sha256);
  const caches = new Map<string, { invalidate(id: string): void; clear(): void }>();
  const cached = <T extends Resource>(type: string, store: ResourceStore<T>) => {
    if (settings.cacheMs <= 0) return store;
    const cache = cachedStore(store, settings.cacheMs);
    caches.set(type, cache);
    return cache;
  };
  const store = cached("AwsAccount", parts.accounts);
  const clients = cached("Client", parts.clients);
  parts.changes?.subscribe({
    changed: (type, id) => caches.get(type)?.invalidate(id),
    reset: () => caches.forEach((cache) => cache.clear()),
  });
  return createApp({
    store,
    clients,
    // Read as a whole, by an index with its own lifetime (auth/introspectors.ts).
    introspectors: parts.introspectors,
    ...(parts.changes ? { changes: parts.changes } : {}),
    sealer: parts.sealer,
    credentials: parts.credentials(signer),
    roles: createRoleCredentials(io, { signer, log }),
    presigner: signer,
    config: { adminToken: settings.adminToken, corsOrigins: settings.corsOrigins, cacheMs: settings.cacheMs },
    log,
  });
}
