// Resources in a Deno KV database, under [resourceType, id]: Deno.openKv() on Deno and Deno Deploy, @deno/kv (the same engine,
// an SQLite file) on Node. Both speak this API, so both share one on-disk format.
import type { Resource, ResourceStore } from "./store.ts";

// Our keys are all strings, which both Deno's and @deno/kv's key types accept.
type KvKey = readonly string[];

interface KvEntry<T> {
  value: T | null;
  versionstamp: string | null;
}

interface KvAtomic {
  check(...checks: { key: KvKey; versionstamp: string | null }[]): KvAtomic;
  set(key: KvKey, value: unknown): KvAtomic;
  delete(key: KvKey): KvAtomic;
  commit(): Promise<{ ok: boolean }>;
}

/** The part of Deno.Kv that the store uses. */
export interface DenoKvLike {
  get<T>(key: KvKey): Promise<KvEntry<T>>;
  list<T>(selector: { prefix: KvKey }): AsyncIterable<{ value: T }>;
  atomic(): KvAtomic;
}

// Values are UTF-8 JSON bytes: Deno KV stores Uint8Array as raw bytes, while other values are V8-serialized,
// and Node's older V8 cannot read what a newer Deno wrote. Bytes keep one format for both runtimes.
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encode = (resource: Resource): Uint8Array => encoder.encode(JSON.stringify(resource));
const decode = <T>(value: Uint8Array | null): T | null => (value === null ? null : JSON.parse(decoder.decode(value)));
const MAX_ATTEMPTS = 32;

const LOCKED = Symbol("locked");

/**
 * A store call, or LOCKED when SQLite (@deno/kv) reports another process's open write as "database is locked" (to be
 * tried again), unless this was the last try. Only the store's own calls: a 400 naming a host "[busy]" is no lock.
 */
async function unlessLocked<V>(call: () => Promise<V>, tries: number): Promise<V | typeof LOCKED> {
  try {
    return await call();
  } catch (error) {
    if (!/database is locked|busy/i.test(String(error)) || tries === MAX_ATTEMPTS) throw error;
    return LOCKED;
  }
}

export function denoKvStore<T extends Resource>(kv: DenoKvLike, resourceType: string): ResourceStore<T> {
  const keyOf = (id: string): KvKey => [resourceType, id];
  // Writers in this process take turns per id; the versionstamp check catches writers elsewhere.
  const queues = new Map<string, Promise<unknown>>();

  /** Reads, computes and commits only if nobody wrote in between (optimistic concurrency). */
  async function attempt<R>(id: string, step: (stored: T | null, op: KvAtomic) => R): Promise<R> {
    for (let tries = 1; ; tries++) {
      const entry = await unlessLocked(() => kv.get<Uint8Array>(keyOf(id)), tries);
      if (entry !== LOCKED) {
        const op = kv.atomic().check({ key: keyOf(id), versionstamp: entry.versionstamp });
        const result = step(decode<T>(entry.value), op); // the caller's errors are its own: never retried
        const committed = await unlessLocked(() => op.commit(), tries);
        if (committed !== LOCKED && committed.ok) return result;
      }
      if (tries === MAX_ATTEMPTS) throw new Error(`${resourceType}/${id}: too many concurrent writes`);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * tries));
    }
  }

  function update<R>(id: string, step: (stored: T | null, op: KvAtomic) => R): Promise<R> {
    const run = (queues.get(id) ?? Promise.resolve()).catch(() => {}).then(() => attempt(id, step));
    queues.set(id, run);
    const forget = () => {
      if (queues.get(id) === run) queues.delete(id);
    };
    run.then(forget, forget);
    return run;
  }

  return {
    get: async (id) => decode<T>((await kv.get<Uint8Array>(keyOf(id))).value),
    async list() {
      const resources: T[] = [];
      for await (const entry of kv.list<Uint8Array>({ prefix: [resourceType] })) resources.push(decode<T>(entry.value)!);
      return resources;
    },
    put: (id, next) =>
      update(id, (previous, op) => {
        const current = next(previous);
        op.set(keyOf(id), encode(current));
        return { previous, current };
      }),
    delete: (id, check) =>
      update(id, (previous, op) => {
        if (previous !== null) {
          check?.(previous);
          op.delete(keyOf(id));
        }
        return previous;
      }),
  };
}
