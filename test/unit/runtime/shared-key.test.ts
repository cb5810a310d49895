// Replicas on one database seal with one key: the check the database keeps (runtime/shared-key.ts).
import { describe, expect, it } from "vitest";
import { createSealer } from "../../../src/crypto/seal.ts";
import { checkSharedKey, type SealingKeyCheck } from "../../../src/runtime/shared-key.ts";
import { memoryStore } from "../../../src/store/memory.ts";

const key = (id: string, byte: number) => `${id}:${Buffer.alloc(32, byte).toString("base64")}`;

describe("the shared sealing key", () => {
  it("is recorded by the first replica and matched by the next ones; a replica with another key is refused, naming how", async () => {
    const store = memoryStore<SealingKeyCheck>();
    expect(await checkSharedKey(store, await createSealer(key("k1", 1)))).toBe("recorded");
    expect(await checkSharedKey(store, await createSealer(key("k1", 1)))).toBe("matches");
    await expect(checkSharedKey(store, await createSealer(key("k1", 2)))).rejects.toThrow('its other replicas seal with key id "k1", which this one has under that id with other bytes');
    await expect(checkSharedKey(store, await createSealer(key("k9", 1)))).rejects.toThrow('key id "k1", which this one does not have; every replica needs the same SIGNPOST_ENCRYPTION_KEY');
    const stored = (await store.get("active"))!;
    expect(stored["key-id"]).toBe("k1");
    expect(JSON.stringify(stored)).not.toContain(Buffer.alloc(32, 1).toString("base64"));
  });

  it("moves on to a newer key when the replica lists the old one after it (rotation), and then refuses one with the old key alone", async () => {
    const store = memoryStore<SealingKeyCheck>();
    await checkSharedKey(store, await createSealer(key("k1", 1)));
    expect(await checkSharedKey(store, await createSealer(`${key("k2", 2)},${key("k1", 1)}`))).toBe("rotated");
    expect((await store.get("active"))!["key-id"]).toBe("k2");
    expect(await checkSharedKey(store, await createSealer(key("k2", 2)))).toBe("matches");
    await expect(checkSharedKey(store, await createSealer(key("k1", 1)))).rejects.toThrow('seal with key id "k2", which this one does not have');
  });

  it("never moves back: a replica still set up for the rotation's first step (old key first) is refused once the replicas rotated (an attack, 2026-12-01)", async () => {
    const store = memoryStore<SealingKeyCheck>();
    await checkSharedKey(store, await createSealer(`${key("k1", 1)},${key("k2", 2)}`)); // step 1: the new key listed after
    expect(await checkSharedKey(store, await createSealer(`${key("k2", 2)},${key("k1", 1)}`))).toBe("rotated"); // step 2
    expect(await checkSharedKey(store, await createSealer(key("k2", 2)))).toBe("matches"); // step 3: the old key dropped
    await expect(checkSharedKey(store, await createSealer(`${key("k1", 1)},${key("k2", 2)}`))).rejects.toThrow(
      'SIGNPOST_ENCRYPTION_KEY puts key id "k1" first, which the database\'s replicas rotated away from (they seal with "k2"): list "k2" first',
    );
    const stored = (await store.get("active"))!;
    expect([stored["key-id"], stored.retired?.map((retired) => retired["key-id"])]).toEqual(["k2", ["k1"]]);
    expect(JSON.stringify(stored)).not.toContain(Buffer.alloc(32, 1).toString("base64"));
    expect(await checkSharedKey(store, await createSealer(key("k2", 2)))).toBe("matches"); // a k2 replica still starts
    // A later rotation works, and a key id used again with new bytes is a new key, not the retired one.
    expect(await checkSharedKey(store, await createSealer(`${key("k1", 9)},${key("k2", 2)}`))).toBe("rotated");
    expect((await store.get("active"))!.retired?.map((retired) => retired["key-id"])).toEqual(["k1", "k2"]);
    await expect(checkSharedKey(store, await createSealer(`${key("k2", 2)},${key("k1", 9)}`))).rejects.toThrow('puts key id "k2" first, which the database\'s replicas rotated away from');
  });

  it("lets one of two first replicas with different keys record, and refuses the other", async () => {
    const store = memoryStore<SealingKeyCheck>();
    const results = await Promise.allSettled([checkSharedKey(store, await createSealer(key("a", 1))), checkSharedKey(store, await createSealer(key("b", 2)))]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
  });
});
