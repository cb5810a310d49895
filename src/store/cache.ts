// A short-lived read cache in front of a store, for the presign hot path. Writes through this cache
// refresh it at once; writes made elsewhere (another isolate, process or region) show after `ttlMs`.
import type { Resource, ResourceStore } from "./store.ts";

const MAX_ENTRIES = 10_000;

/** How long a process or isolate trusts an account it read; its own writes refresh the cache at once. */
export const ACCOUNT_CACHE_MS = 5_000;

/** A deep copy that nobody can change: handed out on every hit instead of a fresh copy. */
function frozenCopy<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  const copy = (Array.isArray(value) ? value.map(frozenCopy) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, frozenCopy(v)]))) as T;
  return Object.freeze(copy);
}

export function cachedStore<T extends Resource>(store: ResourceStore<T>, ttlMs: number, now: () => number = Date.now): ResourceStore<T> {
  const entries = new Map<string, { account: T | null; until: number }>();
  const remember = (id: string, account: T | null) => {
    if (entries.size >= MAX_ENTRIES) entries.clear();
    const frozen = frozenCopy(account);
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
