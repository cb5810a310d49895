// A short-lived read cache in front of a store, for the presign hot path. Writes through this cache
// refresh it at once; writes made elsewhere (another isolate, process or region) show after `ttlMs`, or at once
// where a change feed tells of them (invalidate, clear: PostgreSQL's LISTEN/NOTIFY, see compose.ts).
import { frozenCopy, type Resource, type ResourceStore } from "./store.ts";

export const MAX_ENTRIES = 10_000;
/**
 * Ids found absent are kept apart, and fewer of them: anyone can present a well-formed unknown client id, and a flood
 * of those must not push the real entries out (nor, on Workers, turn every request into a billed KV read again).
 */
export const MAX_ABSENT = 1_000;

/** How long a process or isolate trusts an account it read; its own writes refresh the cache at once. */
export const ACCOUNT_CACHE_MS = 5_000;

/** A cached store, which can also be told that a record changed elsewhere. */
export interface CachedStore<T extends Resource> extends ResourceStore<T> {
  /** Forgets `id`: its next read goes to the store (and no read begun before this keeps its older answer). */
  invalidate(id: string): void;
  /** Forgets everything. */
  clear(): void;
}

export function cachedStore<T extends Resource>(store: ResourceStore<T>, ttlMs: number, now: () => number = Date.now): CachedStore<T> {
  interface Entry {
    account: T | null;
    until: number;
    refreshing?: boolean;
  }
  const entries = new Map<string, Entry>();
  const absent = new Map<string, Entry>();
  // A read (or a write's answer) that began before a clear or an invalidation of its id cannot tell "never cached"
  // from "dropped since", so it checks these: `epoch` counts both, `clearedAt` is the last clear's, `droppedAt` each
  // id's last invalidation (itself bounded: when full, it counts as a clear).
  let epoch = 0;
  let clearedAt = 0;
  const droppedAt = new Map<string, number>();
  const changedSince = (id: string, since: number) => clearedAt > since || (droppedAt.get(id) ?? 0) > since;
  const remember = (id: string, account: T | null) => {
    const map = account === null ? absent : entries;
    if (map.size >= (account === null ? MAX_ABSENT : MAX_ENTRIES)) {
      map.clear();
      clearedAt = ++epoch;
    }
    (account === null ? entries : absent).delete(id);
    const frozen = frozenCopy(account);
    map.set(id, { account: frozen, until: now() + ttlMs });
    return frozen;
  };
  const cached = (id: string) => entries.get(id) ?? absent.get(id);
  /** Reads `id` and keeps the result, unless a write through this cache (or a newer read) replaced `seen` meanwhile. */
  const read = async (id: string, seen: Entry | undefined) => {
    const since = epoch;
    const account = await store.get(id);
    return cached(id) === seen && !changedSince(id, since) ? remember(id, account) : frozenCopy(account);
  };
  const forget = (id: string) => {
    entries.delete(id);
    absent.delete(id);
  };
  return {
    invalidate(id) {
      forget(id);
      if (droppedAt.size >= MAX_ENTRIES) {
        droppedAt.clear();
        clearedAt = epoch + 1;
      }
      droppedAt.set(id, ++epoch);
    },
    clear() {
      entries.clear();
      absent.clear();
      droppedAt.clear();
      clearedAt = ++epoch;
    },
    async get(id) {
      const hit = cached(id);
      const time = now();
      if (hit && hit.until > time) {
        // In the last fifth of its life an entry is read again in the background: accounts in use never wait for
        // the store, and nothing older than ttlMs is served (a refresh that fails or lags leaves the entry to expire).
        if (!hit.refreshing && hit.until - time <= ttlMs / 5) {
          hit.refreshing = true;
          read(id, hit).catch(() => (hit.refreshing = false));
        }
        return hit.account;
      }
      return read(id, hit);
    },
    list: () => store.list(),
    // A write through the cache refreshes it, unless the change feed named its id (or cleared) meanwhile: then a later
    // write elsewhere may be the one told of, and the entry is dropped rather than set to this one.
    async put(id, next) {
      const since = epoch;
      const result = await store.put(id, next);
      if (changedSince(id, since)) forget(id);
      else remember(id, result.current);
      return result;
    },
    async delete(id, check) {
      const since = epoch;
      const previous = await store.delete(id, check);
      if (changedSince(id, since)) forget(id);
      else remember(id, null);
      return previous;
    },
  };
}
