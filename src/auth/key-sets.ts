// The public keys a TokenIntrospector's tokens are checked with: its own, or its issuer's JWKS (found through
// <iss>/.well-known/openid-configuration when no jwks_uri is given). A fetched set is trusted for cache_ttl; a kid
// it lacks makes at most one early refetch per 30 s; concurrent requests share one fetch. When a refresh fails,
// the keys in hand keep working for STALE_MS more (the failure logged); with none in hand, 503. Each fetch: 5 s,
// 256 KiB, no redirects, https (http only on this machine), no link-local or metadata hosts.
import { fetchOutbound, isRedirect } from "../aws/client.ts";
import type { Log } from "../credentials/provider.ts";
import { checkIssuerUrl, DEFAULT_CACHE_TTL, isPlainHttp, type PublicJwk, publicJwk, type TokenIntrospector } from "../domain/introspector.ts";
import { describeError, HttpError } from "../errors.ts";

export const KID_COOLDOWN_MS = 30_000;
export const FETCH_TIMEOUT_MS = 5_000;
export const MAX_DOCUMENT_BYTES = 256 * 1024;
/** How long keys in hand keep working past cache_ttl while the issuer cannot be reached. */
export const STALE_MS = 60 * 60_000;
/** After a failed fetch, the next one waits this long: an issuer that is down is not asked on every request. */
export const RETRY_MS = 5_000;
const MAX_KEYS = 100;
const MAX_ENTRIES = 1_000;

interface Entry {
  /** The introspector version the entry is for: a change to it starts afresh. */
  version: string;
  keys?: PublicJwk[];
  freshUntil: number;
  usableUntil: number;
  kidRefetchAfter: number;
  failure?: { reason: string; until: number };
  inflight?: Promise<void>;
}

class FetchProblem extends Error {}

export type KeySets = ReturnType<typeof keySets>;

export function keySets(deps: { fetch?: typeof fetch; now: () => number; log: Log }) {
  const fetcher = deps.fetch ?? ((input, init) => fetch(input, init));
  const entries = new Map<string, Entry>();

  async function getJson(url: string, what: string): Promise<Record<string, unknown>> {
    const answer = await fetchOutbound(fetcher, url, { headers: { accept: "application/json" }, timeoutMs: FETCH_TIMEOUT_MS, maxBytes: MAX_DOCUMENT_BYTES });
    if (isRedirect(answer.status)) throw new FetchProblem(`${what} answered ${answer.status}, a redirect (not followed)`);
    if (answer.status !== 200) throw new FetchProblem(`${what} answered ${answer.status}`);
    let document: unknown;
    try {
      document = JSON.parse(answer.text);
    } catch {
      throw new FetchProblem(`${what} is not JSON`);
    }
    if (typeof document !== "object" || document === null || Array.isArray(document)) throw new FetchProblem(`${what} is not a JSON object`);
    return document as Record<string, unknown>;
  }

  const problem = (message: string): never => {
    throw new FetchProblem(message);
  };

  async function load(introspector: TokenIntrospector): Promise<PublicJwk[]> {
    let uri = introspector.jwks_uri;
    if (uri === undefined) {
      const iss = introspector.jwt.iss;
      const discovery = await getJson(`${iss.replace(/\/$/, "")}/.well-known/openid-configuration`, "the discovery document");
      // OpenID Connect Discovery 1.0, 4.3: the document must name the very issuer it was fetched for.
      if (discovery.issuer !== iss) problem("the discovery document names another issuer");
      uri = checkIssuerUrl(discovery.jwks_uri, "the discovery document's jwks_uri", problem);
      // Only the admin gives an introspector an http address; an https issuer's document may not lead to one.
      if (isPlainHttp(uri) && !isPlainHttp(iss)) problem("the discovery document of an https issuer names an http jwks_uri");
    }
    const set = await getJson(uri, "the key set");
    if (!Array.isArray(set.keys)) problem("the key set has no keys list");
    // Keys signpost cannot use (encryption keys, other types) are passed over, not fatal: issuers publish those too.
    const usable: PublicJwk[] = [];
    for (const candidate of set.keys as unknown[]) {
      try {
        usable.push(publicJwk(candidate, "key", problem));
      } catch {
        continue;
      }
      if (usable.length === MAX_KEYS) break;
    }
    if (usable.length === 0) problem("the key set holds no key signpost can verify with");
    return usable;
  }

  function refresh(entry: Entry, introspector: TokenIntrospector): Promise<void> {
    entry.inflight ??= (async () => {
      try {
        const keys = await load(introspector);
        const now = deps.now();
        const ttl = (introspector.cache_ttl ?? DEFAULT_CACHE_TTL) * 1000;
        Object.assign(entry, { keys, freshUntil: now + ttl, usableUntil: now + ttl + STALE_MS, failure: undefined });
      } catch (error) {
        const now = deps.now();
        const reason = error instanceof FetchProblem || error instanceof HttpError ? error.message : describeError(error);
        deps.log({ level: "warn", message: "could not fetch a token issuer's keys", introspector: introspector.id, error: reason, "keys-in-hand": entry.keys !== undefined && now < entry.usableUntil });
        entry.failure = { reason, until: now + RETRY_MS };
        if (entry.keys && now < entry.usableUntil) entry.freshUntil = Math.min(now + RETRY_MS, entry.usableUntil);
        else entry.keys = undefined;
      } finally {
        entry.inflight = undefined;
      }
    })();
    return entry.inflight;
  }

  // The reason goes to the log only: whoever presents a token must not learn what answers at an address.
  const unavailable = (introspector: TokenIntrospector) =>
    new HttpError(503, `the keys of TokenIntrospector/${introspector.id} cannot be fetched now, so its tokens cannot be checked (the reason is in signpost's log)`);

  return {
    /** The keys for a token with `kid` (undefined when it names none); refetched early for an unknown kid. */
    async keys(introspector: TokenIntrospector, kid: string | undefined): Promise<PublicJwk[]> {
      if (introspector.jwt.keys) return introspector.jwt.keys;
      // Where the keys come from is part of it: a record deleted and made again never inherits the old set.
      const version = `${introspector.meta.versionId}\n${introspector.meta.lastUpdated}\n${introspector.jwt.iss}\n${introspector.jwks_uri ?? ""}`;
      let entry = entries.get(introspector.id);
      if (!entry || entry.version !== version) {
        if (entries.size >= MAX_ENTRIES) entries.clear();
        entry = { version, freshUntil: 0, usableUntil: 0, kidRefetchAfter: 0 };
        entries.set(introspector.id, entry);
      }
      const now = deps.now();
      if (now >= entry.freshUntil && !(entry.failure && now < entry.failure.until)) await refresh(entry, introspector);
      else if (entry.inflight) await entry.inflight;
      if (!entry.keys) throw unavailable(introspector);
      if (kid !== undefined && !entry.keys.some((key) => key.kid === kid) && deps.now() >= entry.kidRefetchAfter) {
        // A key the issuer has just rotated in; a flood of made-up kids costs one fetch per cooldown.
        entry.kidRefetchAfter = deps.now() + KID_COOLDOWN_MS;
        await refresh(entry, introspector);
        if (!entry.keys) throw unavailable(introspector);
      }
      return entry.keys;
    },
    /** After a write or delete here: the next token starts afresh. */
    forget: (id: string) => entries.delete(id),
  };
}
