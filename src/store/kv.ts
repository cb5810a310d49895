// Accounts in a Deno KV database: Deno.openKv() on Deno and Deno Deploy, @deno/kv (the same engine,
// an SQLite file) on Node. Both speak this API, so both share one on-disk format.
import type { AwsAccount } from "../account.ts";
import type { AccountStore } from "./store.ts";

type KvKey = readonly (string | number | bigint | boolean | Uint8Array)[];

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
  list<T>(selector: { prefix: KvKey }): AsyncIterable<{ key: KvKey; value: T }>;
  atomic(): KvAtomic;
}

const PREFIX = ["AwsAccount"] as const;
const MAX_ATTEMPTS = 32;

export function denoKvStore(kv: DenoKvLike): AccountStore {
  const keyOf = (id: string): KvKey => [...PREFIX, id];
  // Writers in this process take turns per id; the versionstamp check catches writers elsewhere.
  const queues = new Map<string, Promise<unknown>>();

  /** Reads, computes and commits only if nobody wrote in between (optimistic concurrency). */
  async function attempt<T>(id: string, step: (entry: KvEntry<AwsAccount>, op: KvAtomic) => T): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        const entry = await kv.get<AwsAccount>(keyOf(id));
        const op = kv.atomic().check({ key: keyOf(id), versionstamp: entry.versionstamp });
        const result = step(entry, op);
        if ((await op.commit()).ok) return result;
      } catch (error) {
        // SQLite (@deno/kv) reports another process's open write as "database is locked": wait and retry.
        if (!/database is locked|busy/i.test(String(error)) || tries === MAX_ATTEMPTS) throw error;
      }
      if (tries === MAX_ATTEMPTS) throw new Error(`AwsAccount/${id}: too many concurrent writes`);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * tries));
    }
  }

  function update<T>(id: string, step: (entry: KvEntry<AwsAccount>, op: KvAtomic) => T): Promise<T> {
    const run = (queues.get(id) ?? Promise.resolve()).catch(() => {}).then(() => attempt(id, step));
    queues.set(id, run);
    const forget = () => {
      if (queues.get(id) === run) queues.delete(id);
    };
    run.then(forget, forget);
    return run;
  }

  return {
    get: async (id) => (await kv.get<AwsAccount>(keyOf(id))).value,
    async list() {
      const accounts: AwsAccount[] = [];
      for await (const entry of kv.list<AwsAccount>({ prefix: PREFIX })) accounts.push(entry.value);
      return accounts;
    },
    put: (id, next) =>
      update(id, (entry, op) => {
        const current = next(entry.value);
        op.set(keyOf(id), current);
        return { previous: entry.value, current };
      }),
    delete: (id) =>
      update(id, (entry, op) => {
        if (entry.value !== null) op.delete(keyOf(id));
        return entry.value;
      }),
  };
}
