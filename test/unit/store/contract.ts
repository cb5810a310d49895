// The contract every store keeps (store/store.ts), as a suite to run on each implementation: a new store is one
// more line in stores.test.ts.
import { describe, expect, it } from "vitest";
import type { AwsAccount } from "../../../src/domain/account.ts";
import type { ResourceStore } from "../../../src/store/store.ts";

export const account = (id: string, version = "1", region = "us-east-1"): AwsAccount => ({
  resourceType: "AwsAccount",
  id,
  region,
  "path-style": false,
  "use-ssl": true,
  meta: { versionId: version, lastUpdated: "2026-01-02T03:04:05.000Z" },
});

export const nextVersion = (id: string) => (previous: AwsAccount | null) => account(id, String(Number(previous?.meta.versionId ?? 0) + 1));

/** `atomic: false` for a store without compare-and-set (Workers KV), which skips the concurrency checks. */
export function storeContract(name: string, make: () => Promise<ResourceStore<AwsAccount>>, options: { atomic?: boolean } = {}): void {
  describe(name, () => {
    it("puts, gets, lists in id order and deletes", async () => {
      const store = await make();
      expect(await store.get("a")).toBeNull();
      const first = await store.put("b", () => account("b"));
      expect(first).toEqual({ previous: null, current: account("b") });
      await store.put("a", () => account("a"));
      const second = await store.put("b", (previous) => ({ ...previous!, region: "eu-west-1", meta: { ...previous!.meta, versionId: "2" } }));
      expect(second.previous).toEqual(account("b"));
      expect(await store.get("b")).toEqual(account("b", "2", "eu-west-1"));
      expect((await store.list()).map((a) => a.id)).toEqual(["a", "b"]);
      expect(await store.delete("a")).toEqual(account("a"));
      expect(await store.delete("a")).toBeNull();
      expect((await store.list()).map((a) => a.id)).toEqual(["b"]);
    });

    it("does not let callers change what is stored", async () => {
      const store = await make();
      const { current } = await store.put("a", () => account("a"));
      const attempt = (change: () => void) => {
        try {
          change();
        } catch {
          // frozen: refusing is fine too
        }
      };
      attempt(() => (current.region = "mutated"));
      const read = (await store.get("a"))!;
      attempt(() => (read.region = "mutated too"));
      attempt(() => (read.meta.versionId = "99"));
      expect(await store.get("a")).toEqual(account("a"));
    });

    it("refuses a delete when the check on the stored resource throws, and removes nothing", async () => {
      const store = await make();
      await store.put("guarded", () => account("guarded"));
      await expect(store.delete("guarded", () => {
        throw new Error("not yours");
      })).rejects.toThrow("not yours");
      expect(await store.get("guarded")).toEqual(account("guarded"));
      let seen: AwsAccount | undefined;
      expect(await store.delete("guarded", (stored) => void (seen = stored))).toEqual(account("guarded"));
      expect(seen).toEqual(account("guarded"));
      expect(await store.get("guarded")).toBeNull();
    });

    it.skipIf(options.atomic === false)("loses no update under 50 concurrent read-modify-writes of one account", async () => {
      const store = await make();
      const results = await Promise.all(Array.from({ length: 50 }, () => store.put("hot", nextVersion("hot"))));
      const versions = results.map((r) => Number(r.current.meta.versionId)).sort((a, b) => a - b);
      expect(versions).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect((await store.get("hot"))!.meta.versionId).toBe("50");
      expect(results.filter((r) => r.previous === null)).toHaveLength(1);
    });

    it("keeps ids that share a prefix apart", async () => {
      const store = await make();
      await store.put("a", () => account("a"));
      await store.put("a.b", () => account("a.b"));
      await store.delete("a");
      expect((await store.list()).map((a) => a.id)).toEqual(["a.b"]);
    });
  });
}
