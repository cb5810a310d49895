// The store contract (contract.ts) on every store: memory, Deno KV (@deno/kv, in memory and in a file), the cache in
// front of one, Workers KV (a real KV namespace in workerd, through Miniflare) and PostgreSQL (a throw-away cluster,
// test/postgres.ts); then what is particular to each (PostgreSQL's: postgres.test.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openKv } from "@deno/kv";
import { HttpError } from "../../../src/errors.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AwsAccount } from "../../../src/domain/account.ts";
import { denoKvStore } from "../../../src/store/kv.ts";
import { cachedStore, MAX_ENTRIES } from "../../../src/store/cache.ts";
import { memoryStore } from "../../../src/store/memory.ts";
import { Miniflare } from "miniflare";
import { workersKvStore, type WorkersKvLike } from "../../../src/store/workers-kv.ts";
import { postgresStore } from "../../../src/store/postgres.ts";
import { account, nextVersion, storeContract } from "./contract.ts";
import { postgresClients } from "./postgres-clients.ts";

const dir = mkdtempSync(join(tmpdir(), "signpost-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// One KV namespace in workerd for the Workers KV store; each test takes its own resource type as a prefix.
let miniflare: Miniflare | undefined;
afterAll(() => miniflare?.dispose());
const workersKv = async (): Promise<WorkersKvLike> => {
  miniflare ??= new Miniflare({ modules: true, script: "export default { fetch() { return new Response(); } }", kvNamespaces: ["ACCOUNTS"] });
  return (await miniflare.getKVNamespace("ACCOUNTS")) as unknown as WorkersKvLike;
};

// One PostgreSQL cluster and database; each test takes its own resource type.
const pg = postgresClients(afterAll);
// workerd and the cluster started before the tests, under a start-up's time limit: started by a store's first
// test, they took its 5 s (and the next two tests') when the machine was busy (a flake, 2026-12-01 and -02).
beforeAll(async () => {
  await Promise.all([workersKv(), pg.postgresJs(), pg.nodePg()]);
}, 120_000);

const stores: Parameters<typeof storeContract>[] = [
  ["memory", async () => memoryStore<AwsAccount>()],
  ["Deno KV (@deno/kv, in memory)", async () => denoKvStore<AwsAccount>(await openKv(), "AwsAccount")],
  ["Deno KV (@deno/kv, file)", async () => denoKvStore<AwsAccount>(await openKv(join(dir, `${Math.random()}.kv`)), "AwsAccount")],
  ["cache over Deno KV", async () => cachedStore(denoKvStore<AwsAccount>(await openKv(), "AwsAccount"), 60_000)],
  // KV has no compare-and-set: concurrent writes of one id keep the last (README, Cloudflare Workers).
  ["Workers KV (workerd)", async () => workersKvStore<AwsAccount>(await workersKv(), `AwsAccount-${Math.random()}`), { atomic: false }],
  ["PostgreSQL (postgres.js)", async () => postgresStore<AwsAccount>((await pg.postgresJs()).client, `AwsAccount-${Math.random()}`)],
  ["PostgreSQL (pg)", async () => postgresStore<AwsAccount>(await pg.nodePg(), `AwsAccount-${Math.random()}`)],
];

describe("Deno KV", () => {
  it("retries its own locked calls, never the caller's error, whatever that says (a 400 naming a host \"[busy]\" took 32 reads; a review, 2026-12-01)", async () => {
    const kv = await openKv();
    let reads = 0;
    const counting = new Proxy(kv, { get: (target, name) => (name === "get" ? (...args: unknown[]) => (reads++, (target.get as (...a: unknown[]) => unknown)(...args)) : Reflect.get(target, name)) });
    const store = denoKvStore<AwsAccount>(counting as typeof kv, "AwsAccount");
    await store.put("a", () => account("a"));
    reads = 0;
    await expect(store.put("a", () => {
      throw new HttpError(400, 'AwsAccount: host "[busy]" is not a host name');
    })).rejects.toThrow(/\[busy\]/);
    expect(reads).toBe(1);
    kv.close();
  });
});

describe("cache", () => {
  it("serves reads from memory for ttl, sees its own writes at once, and others' after ttl", async () => {
    let time = 0;
    const backing = memoryStore<AwsAccount>();
    let reads = 0;
    const counting = { ...backing, get: (id: string) => (reads++, backing.get(id)) };
    const cache = cachedStore(counting, 1000, () => time);
    await cache.put("a", () => account("a"));
    expect(await cache.get("a")).toEqual(account("a"));
    expect(await cache.get("a")).toEqual(account("a"));
    expect(reads).toBe(0);
    await backing.put("a", () => account("a", "2")); // a write elsewhere
    expect((await cache.get("a"))!.meta.versionId).toBe("1");
    time = 1001;
    expect((await cache.get("a"))!.meta.versionId).toBe("2");
    expect(reads).toBe(1);
    await cache.delete("a");
    expect(await cache.get("a")).toBeNull();
    expect(await cache.get("missing")).toBeNull();
    expect(await cache.get("missing")).toBeNull();
    expect(reads).toBe(2); // absent accounts are cached too
  });
});

describe("cache refresh", () => {
  /** A store whose reads take their value from `backing` at once, then wait until released; counted. */
  function heldStore() {
    const backing = memoryStore<AwsAccount>();
    const pending: (() => void)[] = [];
    let reads = 0;
    let failing = false;
    const store = {
      ...backing,
      get: async (id: string) => {
        reads++;
        const value = await backing.get(id);
        await new Promise<void>((release) => pending.push(release));
        if (failing) throw new Error("store down");
        return value;
      },
    };
    /** Releases every held read (newest first with `newestFirst`) until none is left. */
    const settle = async (newestFirst = false) => {
      for (let i = 0; i < 5; i++) {
        while (pending.length) (newestFirst ? pending.pop() : pending.shift())!();
        await new Promise((r) => setTimeout(r, 0));
      }
    };
    return { backing, store, settle, reads: () => reads, fail: (on: boolean) => (failing = on) };
  }

  it("reads an account in use again in the last fifth of its ttl, in the background, and never serves it older than ttl", async () => {
    let time = 0;
    const held = heldStore();
    const cache = cachedStore(held.store, 1000, () => time);
    await cache.put("a", () => account("a"));
    await held.backing.put("a", () => account("a", "2")); // a write elsewhere
    time = 799;
    expect((await cache.get("a"))!.meta.versionId).toBe("1");
    expect(held.reads()).toBe(0); // still fresh: no read
    time = 800;
    expect((await cache.get("a"))!.meta.versionId).toBe("1"); // answered at once from memory...
    expect((await cache.get("a"))!.meta.versionId).toBe("1");
    expect(held.reads()).toBe(1); // ...while one read (not two) runs
    await held.settle();
    expect((await cache.get("a"))!.meta.versionId).toBe("2");
    time = 1500; // past the first entry's ttl, within the refreshed one's
    expect((await cache.get("a"))!.meta.versionId).toBe("2");
    expect(held.reads()).toBe(1);

    // A refresh that fails leaves the entry to expire; then the read is in the request's path again.
    await held.backing.put("a", () => account("a", "3"));
    held.fail(true);
    time = 1650;
    expect((await cache.get("a"))!.meta.versionId).toBe("2");
    await held.settle();
    held.fail(false);
    time = 1801; // the entry (read at 800) has expired
    const waiting = cache.get("a");
    await held.settle();
    expect((await waiting)!.meta.versionId).toBe("3");
  });

  it("does not let a read that started before a write through the cache put the older value back", async () => {
    let time = 0;
    const held = heldStore();
    const cache = cachedStore(held.store, 1000, () => time);
    await cache.put("a", () => account("a"));
    time = 900;
    await cache.get("a"); // starts a background read of version 1
    const miss = cache.get("b"); // and a read of an account not cached
    await cache.put("a", () => account("a", "2"));
    await cache.put("b", () => account("b", "2"));
    await held.settle();
    expect(await miss).toBeNull(); // what the store held when the read began
    expect((await cache.get("a"))!.meta.versionId).toBe("2");
    expect((await cache.get("b"))!.meta.versionId).toBe("2");
  });

  it("does not either when the cache was cleared (full) while the read waited", async () => {
    const held = heldStore();
    const cache = cachedStore(held.store, 1000, () => 0);
    await held.backing.put("a", () => account("a"));
    const miss = cache.get("a"); // reads version 1, held
    await cache.put("a", () => account("a", "2"));
    // Enough other accounts to fill the cache, which then clears itself; their reads end before the first one.
    const others = Array.from({ length: MAX_ENTRIES }, (_, i) => cache.get(`other-${i}`));
    await new Promise((r) => setTimeout(r, 0)); // every read is now held
    expect(held.reads()).toBe(MAX_ENTRIES + 1);
    await held.settle(true);
    await Promise.all(others);
    expect((await miss)!.meta.versionId).toBe("1");
    const after = cache.get("a");
    await held.settle();
    expect((await after)!.meta.versionId).toBe("2");
  });
});

describe("cache told of changes elsewhere (a change feed)", () => {
  it("reads an invalidated id again at once, present or absent, and clear() forgets everything", async () => {
    const backing = memoryStore<AwsAccount>();
    const cache = cachedStore(backing, 60_000, () => 0);
    await cache.put("a", () => account("a"));
    expect(await cache.get("b")).toBeNull(); // absent, and kept so
    await backing.put("a", () => account("a", "2"));
    await backing.put("b", () => account("b"));
    expect((await cache.get("a"))!.meta.versionId).toBe("1");
    expect(await cache.get("b")).toBeNull();
    cache.invalidate("a");
    cache.invalidate("b");
    expect((await cache.get("a"))!.meta.versionId).toBe("2");
    expect((await cache.get("b"))!.id).toBe("b");
    await backing.put("a", () => account("a", "3"));
    await backing.delete("b");
    cache.clear();
    expect((await cache.get("a"))!.meta.versionId).toBe("3");
    expect(await cache.get("b")).toBeNull();
  });

  it("keeps no read, nor a write's own answer, that was under way when it was told", async () => {
    const backing = memoryStore<AwsAccount>();
    await backing.put("a", () => account("a"));
    let release!: () => void;
    const slow = { ...backing, get: async (id: string) => {
      const value = await backing.get(id);
      await new Promise<void>((resolve) => (release = resolve));
      return value;
    } };
    const cache = cachedStore(slow, 60_000, () => 0);
    const reading = cache.get("a"); // reads version 1, held
    await new Promise((r) => setTimeout(r, 0));
    await backing.put("a", () => account("a", "2")); // written elsewhere, and told
    cache.invalidate("a");
    release();
    expect((await reading)!.meta.versionId).toBe("1");
    const next = cache.get("a");
    await new Promise((r) => setTimeout(r, 0));
    release();
    expect((await next)!.meta.versionId).toBe("2");

    // A write through the cache whose answer comes after a change was told: not kept (a later write may be the one told).
    let finish!: () => void;
    const held = { ...backing, put: async (...args: Parameters<typeof backing.put>) => {
      const result = await backing.put(...args);
      await new Promise<void>((resolve) => (finish = resolve));
      return result;
    } };
    let reads = 0;
    const counted = cachedStore({ ...held, get: (id: string) => (reads++, backing.get(id)) }, 60_000, () => 0);
    const writing = counted.put("a", () => account("a", "3"));
    await new Promise((r) => setTimeout(r, 0));
    await backing.put("a", () => account("a", "4")); // another replica's, told while ours was on its way back
    counted.invalidate("a");
    finish();
    await writing;
    expect((await counted.get("a"))!.meta.versionId).toBe("4");
    expect(reads).toBe(1);
  });

  it("keeps a read under way when another id is invalidated (a busy feed does not empty the cache)", async () => {
    const backing = memoryStore<AwsAccount>();
    await backing.put("a", () => account("a"));
    let reads = 0;
    let release!: () => void;
    const slow = { ...backing, get: async (id: string) => {
      reads++;
      const value = await backing.get(id);
      await new Promise<void>((resolve) => (release = resolve));
      return value;
    } };
    const cache = cachedStore(slow, 60_000, () => 0);
    const reading = cache.get("a");
    await new Promise((r) => setTimeout(r, 0));
    cache.invalidate("other");
    release();
    await reading;
    expect((await cache.get("a"))!.id).toBe("a");
    expect(reads).toBe(1);
  });
});

for (const [name, make, options] of stores) storeContract(name, make, options);

describe("Deno KV file", () => {
  it("loses no update when two handles (as two processes would) write one account at once", async () => {
    const path = join(dir, "shared.kv");
    const [one, two] = [denoKvStore<AwsAccount>(await openKv(path), "AwsAccount"), denoKvStore<AwsAccount>(await openKv(path), "AwsAccount")];
    const writes = Array.from({ length: 40 }, (_, i) => (i % 2 ? one : two).put("hot", nextVersion("hot")));
    const versions = (await Promise.all(writes)).map((r) => Number(r.current.meta.versionId)).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("keeps accounts across a close and reopen", async () => {
    const path = join(dir, "reopen.kv");
    const kv = await openKv(path);
    await denoKvStore<AwsAccount>(kv, "AwsAccount").put("kept", () => account("kept"));
    kv.close();
    const reopened = await openKv(path);
    expect(await denoKvStore<AwsAccount>(reopened, "AwsAccount").get("kept")).toEqual(account("kept"));
    reopened.close();
  });
});
