// domain/presign.ts on its own: the expiration asked for, the lifetime a URL gets (never longer than its
// credentials), the grant and the URLs under it.
import { describe, expect, it } from "vitest";
import { createPresigner } from "../../../src/aws/signer.ts";
import type { AwsAccount } from "../../../src/domain/account.ts";
import { ADMIN } from "../../../src/domain/policy.ts";
import { MAX_EXPIRATION, parseExpiration, presigning, urlLifetime } from "../../../src/domain/presign.ts";
import type { Signing } from "../../../src/domain/signing.ts";
import { HttpError } from "../../../src/errors.ts";
import { nodeSha256 } from "../../../src/runtime/node-crypto.ts";
import { NOW } from "../../app.ts";

describe("parseExpiration", () => {
  it("takes 1 to 604800 seconds in decimal digits, once; undefined when absent", () => {
    expect(parseExpiration([])).toBeUndefined();
    expect(parseExpiration(["1"])).toBe(1);
    expect(parseExpiration([String(MAX_EXPIRATION)])).toBe(MAX_EXPIRATION);
    for (const values of [["0"], ["604801"], ["1e3"], ["-1"], [" 5"], ["0x10"], ["1", "2"], [""]]) {
      expect(() => parseExpiration(values), values.join(",")).toThrow(HttpError);
    }
  });
});

describe("urlLifetime", () => {
  const date = new Date(NOW + 400); // a fraction of a second: X-Amz-Date has none
  const keys = { accessKeyId: "AKID", secretAccessKey: "s" };

  it("gives what was asked with long-term keys, counted from the signing second", () => {
    expect(urlLifetime(3600, keys, date)).toEqual({ expiresIn: 3600, expiresAt: new Date(NOW + 3600_000), capped: false });
  });

  it("cuts the lifetime to the credentials' and says so", () => {
    const expiration = new Date(NOW + 600_000 + 999);
    expect(urlLifetime(3600, { ...keys, expiration }, date)).toEqual({ expiresIn: 600, expiresAt: new Date(NOW + 600_000), capped: true });
    expect(urlLifetime(60, { ...keys, expiration }, date).capped).toBe(false);
  });

  it("refuses credentials with less than a second left (503)", () => {
    expect(() => urlLifetime(60, { ...keys, expiration: new Date(NOW + 900) }, date)).toThrow(/expired/);
  });
});

describe("presigning", () => {
  const account: AwsAccount = { resourceType: "AwsAccount", id: "acc", region: "eu-west-1", "path-style": false, "use-ssl": true, meta: { versionId: "1", lastUpdated: "" } };
  const credentials = { accessKeyId: "ASIATEMP", secretAccessKey: "temp-secret", sessionToken: "token", expiration: new Date(NOW + 120_000) };
  const signing = { urlCredentials: async () => credentials, accountCredentials: async () => ({ accessKeyId: "AKIDOWN", secretAccessKey: "own" }) } as unknown as Signing;
  const presign = presigning({ accounts: { find: async () => account }, signing, presigner: createPresigner(nodeSha256), now: () => NOW });

  it("grants with the URL credentials, fixed time and capped lifetime; signpost's own calls get the account's", async () => {
    const grant = await presign.grant(ADMIN, { operation: "download", accountId: "acc", bucket: "b-1", key: "k", expiration: undefined, use: "url" });
    expect(grant).toMatchObject({ account, credentials, date: new Date(NOW), expiresIn: 120, capped: true });
    const call = await presign.grant(ADMIN, { operation: "upload", accountId: "acc", bucket: "b-1", key: "k", expiration: 60, use: "call" });
    expect(call.credentials.accessKeyId).toBe("AKIDOWN");
    expect(call.expiresIn).toBe(60);
  });

  it("signs every URL of a grant with its credentials, time and lifetime", async () => {
    const grant = await presign.grant(ADMIN, { operation: "download", accountId: "acc", bucket: "b-1", key: "a b", expiration: 60, use: "url" });
    const url = new URL(await presign.url(grant, { method: "GET", bucket: "b-1", key: "a b", query: { "response-content-type": "text/plain" } }));
    expect(url.origin + url.pathname).toBe("https://b-1.s3.eu-west-1.amazonaws.com/a%20b");
    expect(url.searchParams.get("X-Amz-Credential")).toMatch(/^ASIATEMP\/20260102\/eu-west-1\/s3\/aws4_request$/);
    expect(url.searchParams.get("X-Amz-Security-Token")).toBe("token");
    expect(url.searchParams.get("X-Amz-Expires")).toBe("60");
    expect(url.searchParams.get("response-content-type")).toBe("text/plain");
  });
});
