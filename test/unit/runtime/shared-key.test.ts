// Replicas on one database seal with one key: the check the database keeps (runtime/shared-key.ts).
import { describe, expect, it } from "vitest";
import { createSealer } from "../../../src/crypto/seal.ts";
import { folderSecrets, type SecretFiles } from "../../../src/runtime/kept-secret.ts";
import { checkSharedKey, dataFolderKey, firstSealedSecret, recordStoreKey, requireStoreKey, type SealingKeyCheck } from "../../../src/runtime/shared-key.ts";
import { memoryStore } from "../../../src/store/memory.ts";
import type { Resource } from "../../../src/store/store.ts";

/** A store holding one account whose secret is sealed with `sealerKey`, and its check if `check`. */
async function sealedStore(sealerKey: string, check: boolean) {
  const sealer = await createSealer(sealerKey);
  const accounts = memoryStore<Resource & Record<string, unknown>>();
  const sealed = await sealer.seal("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AwsAccount/a");
  await accounts.put("a", () => ({ resourceType: "AwsAccount", id: "a", "secret-access-key": sealed, meta: { versionId: "1", lastUpdated: "" } }));
  const keyCheck = memoryStore<SealingKeyCheck>();
  if (check) await checkSharedKey(keyCheck, sealer);
  const stores = { AwsAccount: accounts };
  return { keyCheck, stores, firstSecret: () => firstSealedSecret(stores) };
}

/** Secret files in memory, as kept-secret.ts reads and makes them. */
function filesIn(initial: Record<string, string> = {}): SecretFiles & { files: Map<string, string> } {
  const files = new Map(Object.entries(initial));
  return {
    files,
    read: async (path) => files.get(path),
    create: async (path, text) => {
      if (files.has(path)) throw Object.assign(new Error("exists"), { exists: true });
      files.set(path, text);
    },
  };
}

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

  it("before a store has a check, takes none that cannot open a secret it holds (an import, or a version before the check), and records nothing then (a review, 2026-12-02)", async () => {
    const { keyCheck, firstSecret } = await sealedStore(key("k1", 1), false);
    const holder = dataFolderKey("/data", "SIGNPOST_ENCRYPTION_KEY");
    await expect(checkSharedKey(keyCheck, await createSealer(key("k2", 2)), holder, firstSecret)).rejects.toThrow('the secrets in /data are sealed with key id "k1", which this key does not have');
    await expect(checkSharedKey(keyCheck, await createSealer(key("k1", 9)), holder, firstSecret)).rejects.toThrow('"k1", which this key has under that id with other bytes');
    expect(await keyCheck.get("active")).toBeNull();
    expect(await checkSharedKey(keyCheck, await createSealer(key("k1", 1)), holder, firstSecret)).toBe("recorded");
  });

  it("is only checked by requireStoreKey (the import's), never recorded nor rotated by it", async () => {
    const { keyCheck, firstSecret } = await sealedStore(key("k1", 1), true);
    const before = await keyCheck.get("active");
    const holder = dataFolderKey("/data", "SIGNPOST_ENCRYPTION_KEY");
    expect(await requireStoreKey(keyCheck, await createSealer(`${key("k2", 2)},${key("k1", 1)}`), holder, firstSecret)).toEqual(before);
    expect(await keyCheck.get("active")).toEqual(before); // a rotation list: checked, not moved to k2
    await expect(requireStoreKey(keyCheck, await createSealer(key("k2", 2)), holder, firstSecret)).rejects.toThrow('is sealed with key id "k1"');
    const empty = memoryStore<SealingKeyCheck>();
    await expect(requireStoreKey(empty, await createSealer(key("k2", 2)), holder, firstSecret)).rejects.toThrow('the secrets in /data are sealed with key id "k1"');
    expect(await requireStoreKey(empty, await createSealer(key("k2", 2)), holder, async () => undefined)).toBeNull();
    expect(await empty.get("active")).toBeNull();
  });

  it("takes a new key by rekey, retiring the lost one and naming the records to store again", async () => {
    const { keyCheck, stores } = await sealedStore(key("k1", 1), true);
    const fresh = await createSealer(key("k2", 2));
    expect(await recordStoreKey(keyCheck, fresh, stores)).toEqual({ previous: "k1", unopened: ["AwsAccount/a"], underOlder: [] });
    // With the old key still listed after the new one: nothing is lost, but the account is named, to be sealed again.
    expect(await recordStoreKey(memoryStore<SealingKeyCheck>(), await createSealer(`${key("k2", 2)},${key("k1", 1)}`), stores)).toEqual({ previous: undefined, unopened: [], underOlder: ['AwsAccount/a (key id "k1")'] });
    expect(await checkSharedKey(keyCheck, fresh)).toBe("matches");
    await expect(checkSharedKey(keyCheck, await createSealer(key("k1", 1)))).rejects.toThrow('seal with key id "k2"');
    await expect(checkSharedKey(keyCheck, await createSealer(`${key("k1", 1)},${key("k2", 2)}`))).rejects.toThrow("rotated away from");
  });
});

describe("a data folder's secrets (folderSecrets)", () => {
  const configured = (encryptionKey?: string) => ({ adminToken: undefined, encryptionKey });
  const quiet = () => {};

  it("makes a key and an admin token for a new folder, and records the key", async () => {
    const files = filesIn();
    const keyCheck = memoryStore<SealingKeyCheck>();
    const { sealer } = await folderSecrets(files, "/data", configured(), keyCheck, {}, quiet, quiet);
    expect([...files.files.keys()].sort()).toEqual(["/data/admin-token", "/data/encryption-key"]);
    expect((await keyCheck.get("active"))?.["key-id"]).toBe(sealer.activeKeyId);
  });

  it("makes nothing over secrets sealed already, with a check or without one: no key, no admin token", async () => {
    for (const check of [true, false]) {
      const { keyCheck, stores } = await sealedStore(key("k1", 1), check);
      const files = filesIn();
      await expect(folderSecrets(files, "/data", configured(), keyCheck, stores, quiet, quiet)).rejects.toThrow('the secrets in /data are sealed with key id "k1", and there is no key to open them: set SIGNPOST_ENCRYPTION_KEY to that key, or put it back in /data/encryption-key');
      expect(files.files.size).toBe(0);
      // The file put back, or the variable set: it opens.
      expect((await folderSecrets(filesIn({ "/data/encryption-key": `${key("k1", 1)}\n` }), "/data", configured(), keyCheck, stores, quiet, quiet)).sealer.activeKeyId).toBe("k1");
      expect((await folderSecrets(filesIn(), "/data", configured(key("k1", 1)), keyCheck, stores, quiet, quiet)).sealer.activeKeyId).toBe("k1");
    }
  });

  it("takes a new key when its key is gone and nothing is sealed with it (clients only), retiring the old one (a review, 2026-12-02)", async () => {
    const keyCheck = memoryStore<SealingKeyCheck>();
    await checkSharedKey(keyCheck, await createSealer(key("k1", 1)));
    const said: Record<string, string>[] = [];
    const files = filesIn();
    const { sealer } = await folderSecrets(files, "/data", configured(), keyCheck, { AwsAccount: memoryStore() }, (entry) => said.push(entry), quiet);
    expect(files.files.has("/data/encryption-key")).toBe(true);
    expect((await keyCheck.get("active"))?.["key-id"]).toBe(sealer.activeKeyId);
    expect(said).toContainEqual(expect.objectContaining({ level: "warn", retired: "k1" }));
    await expect(checkSharedKey(keyCheck, await createSealer(key("k1", 1)))).rejects.toThrow(); // the old key is not taken back
    // But a key given that is not the folder's is still refused: it is not gone, it is another.
    await expect(folderSecrets(filesIn(), "/data", configured(key("k3", 3)), keyCheck, {}, quiet, quiet)).rejects.toThrow("does not match the data folder's");
  });

  it("names where the wrong key came from and what to do about it", async () => {
    const { keyCheck, stores } = await sealedStore(key("k1", 1), true);
    await expect(folderSecrets(filesIn({ "/data/encryption-key": key("k2", 2) }), "/data", configured(), keyCheck, stores, quiet, quiet)).rejects.toThrow(
      'the encryption key (/data/encryption-key) does not match the data folder\'s: /data is sealed with key id "k1", which this key does not have; put that key back in /data/encryption-key (or set SIGNPOST_ENCRYPTION_KEY to it)',
    );
    await expect(folderSecrets(filesIn({ "/data/encryption-key": key("k1", 1) }), "/data", configured(key("k2", 2)), keyCheck, stores, quiet, quiet)).rejects.toThrow(
      "(SIGNPOST_ENCRYPTION_KEY) does not match the data folder's: /data is sealed with key id \"k1\", which this key does not have; set SIGNPOST_ENCRYPTION_KEY to that key (or leave it unset, if /data/encryption-key holds it)",
    );
  });
});
