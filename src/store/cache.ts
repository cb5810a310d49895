// A short-lived read cache in front of a store, for the presign hot path. Writes through this cache
// refresh it at once; writes made elsewhere (another isolate, process or region) show after `ttlMs`.
import type { AwsAccount } from "../account.ts";
import type { AccountStore } from "./store.ts";

const MAX_ENTRIES = 10_000;

/** How long a process or isolate trusts an account it read; its own writes refresh the cache at once. */
export const ACCOUNT_CACHE_MS = 5_000;

export function cachedStore(store: AccountStore, ttlMs: number, now: () => number = Date.now): AccountStore {
  const entries = new Map<string, { account: AwsAccount | null; until: number }>();
  const remember = (id: string, account: AwsAccount | null) => {
    if (entries.size >= MAX_ENTRIES) entries.clear();
    // Frozen rather than copied on every hit: callers get the same object, and cannot change it.
    const frozen = account && Object.freeze({ ...account, meta: Object.freeze({ ...account.meta }) });
    entries.set(id, { account: frozen, until: now() + ttlMs });
    return frozen;
  };
  return {
    async get(id) {
      const hit = entries.get(id);
      if (hit && hit.until > now()) return hit.account;
      return remember(id, await store.get(id));
    },
    list: () => store.list(),
    async put(id, next) {
      const result = await store.put(id, next);
      remember(id, result.current);
      return result;
    },
    async delete(id) {
      const previous = await store.delete(id);
      remember(id, null);
      return previous;
    },
  };
}
