// Secrets at rest: sealed with AES-256-GCM, bound to their account, key rotation.
import { describe, expect, it } from "vitest";
import { createTestApp, NOW, SAMPLE_SECRET, withAccounts } from "../../app.ts";
import type { AwsAccount } from "../../../src/domain/account.ts";
import { nodeSha256 } from "../../../src/runtime/node-crypto.ts";
import { createSealer } from "../../../src/crypto/seal.ts";
import { createPresigner } from "../../../src/aws/signer.ts";
import { memoryStore } from "../../../src/store/memory.ts";

describe("secrets at rest", () => {
  it("stores secret-access-key sealed, and still signs with it", async () => {
    const { store, call, admin } = await withAccounts();
    const stored = await store.get("acc");
    expect(stored!["secret-access-key"]).toMatch(/^sealed:v1:test:[A-Za-z0-9_-]+$/);
    expect(JSON.stringify(stored)).not.toContain(SAMPLE_SECRET);
    const reference = await createPresigner(nodeSha256).presign({
      method: "GET", protocol: "https:", host: "b-1.s3.us-east-1.amazonaws.com", path: "/k", region: "us-east-1",
      credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: SAMPLE_SECRET }, expiresIn: 86400, date: new Date(NOW),
    });
    expect((await call({ method: "GET", path: "/aws/storage/acc/b-1/k" })).json.url).toBe(reference);
  });

  it("refuses a tampered sealed value, or one moved to another account, with 503 and no ciphertext", async () => {
    const { store, call, admin } = await withAccounts();
    const sealed = (await store.get("acc"))!["secret-access-key"]!;
    const flipped = sealed.slice(0, -2) + (sealed.at(-2) === "A" ? "B" : "A") + sealed.slice(-1); // always a different byte
    await store.put("acc", (account) => ({ ...account!, "secret-access-key": flipped }));
    const tampered = await call({ method: "GET", path: "/aws/storage/acc/b-1/k" });
    expect(tampered.status).toBe(503);
    expect(tampered.text).not.toContain(flipped.slice(14));
    await store.put("other", (account) => ({ ...account!, "secret-access-key": sealed }));
    const moved = await call({ method: "GET", path: "/aws/storage/other/b-1/k" });
    expect(moved.status).toBe(503);
    expect(moved.json.issue[0].diagnostics).toMatch(/moved from another record/);
  });

  it("rotates keys: the first key seals, older ones still open, a missing one is named", async () => {
    const oldKey = btoa("o".repeat(32));
    const newKey = btoa("n".repeat(32));
    const before = await withAccounts({ sealer: await createSealer(`old:${oldKey}`) });
    const sealedOld = (await before.store.get("acc"))!["secret-access-key"]!;
    expect(sealedOld).toMatch(/^sealed:v1:old:/);

    const rotatedSealer = await createSealer(`new:${newKey},old:${oldKey}`);
    expect(await rotatedSealer.unseal(sealedOld, "AwsAccount/acc")).toBe(SAMPLE_SECRET);
    const resealed = await rotatedSealer.seal(SAMPLE_SECRET, "AwsAccount/acc");
    expect(resealed).toMatch(/^sealed:v1:new:/);

    const withoutOld = await createSealer(`new:${newKey}`);
    await expect(withoutOld.unseal(sealedOld, "AwsAccount/acc")).rejects.toThrow(/key id "old"/);
  });

  it.each([
    [undefined, /SIGNPOST_ENCRYPTION_KEY is not set/],
    ["", /SIGNPOST_ENCRYPTION_KEY is not set/],
    [btoa("short"), /exactly 32 bytes/],
    [`a:${btoa("x".repeat(32))},a:${btoa("y".repeat(32))}`, /appears twice/],
  ])("refuses the key setting %j", async (config, pattern) => {
    await expect(createSealer(config)).rejects.toThrow(pattern);
  });
});

describe("sealed secrets (issue 11, review)", () => {
  it("a sealed value copied to another account does not open there, even while the first one's is cached", async () => {
    const accounts = memoryStore<AwsAccount>();
    const { call, admin } = createTestApp({ accounts });
    for (const id of ["first", "second"]) await call({ method: "PUT", path: `/AwsAccount/${id}`, body: { region: "us-east-1", "access-key-id": `AKID${id.toUpperCase()}`, "secret-access-key": `${id}-secret-0123456789` } });
    expect((await call({ method: "GET", path: "/aws/storage/first/b-1/k" })).status).toBe(200); // opened and kept in memory
    const sealed = (await accounts.get("first"))!["secret-access-key"]!;
    await accounts.put("second", (stored) => ({ ...stored!, "secret-access-key": sealed }));
    const moved = await call({ method: "GET", path: "/aws/storage/second/b-1/k" });
    expect(moved.status).toBe(503);
    expect(moved.json.issue[0].diagnostics).toMatch(/moved from another record/);
  });
});
