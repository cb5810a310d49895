// RDS IAM tokens: signpost's own signer against @aws-sdk/rds-signer, byte for byte, with and without a session token.
import { Signer } from "@aws-sdk/rds-signer";
import { afterEach, describe, expect, it, vi } from "vitest";
import { rdsAuthToken, rdsRegion } from "../../../src/aws/rds.ts";
import { createPresigner, webCryptoSha256 } from "../../../src/aws/signer.ts";
import { nodeSha256 } from "../../../src/runtime/node-crypto.ts";

afterEach(() => vi.useRealTimers());

describe("RDS IAM token", () => {
  const date = new Date("2026-03-04T05:06:07Z");
  const cases = [
    { hostname: "signpost.abcdefghijkl.eu-west-1.rds.amazonaws.com", port: 5432, username: "signpost", region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" } },
    { hostname: "db.internal", port: 6543, username: "app user+1@x", region: "us-gov-west-1", credentials: { accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret/with+chars=", sessionToken: "FwoGZXIvYXdzE//token+with/slashes==" } },
  ];

  it.each(cases)("equals @aws-sdk/rds-signer's for $hostname", async (request) => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(date);
    const theirs = await new Signer({ ...request }).getAuthToken();
    for (const crypto of [nodeSha256, webCryptoSha256()] as const) {
      const ours = await rdsAuthToken(createPresigner(crypto as never), { ...request, date });
      expect(ours).toBe(theirs);
    }
    expect(theirs).toMatch(/^[^/]+:\d+\/\?Action=connect&DBUser=/);
    expect(theirs).toContain("X-Amz-Expires=900");
  });

  it("finds the region in an RDS endpoint's name", () => {
    expect(rdsRegion("signpost.abcdefghijkl.eu-west-1.rds.amazonaws.com")).toBe("eu-west-1");
    expect(rdsRegion("x.y.cn-north-1.rds.amazonaws.com.cn")).toBe("cn-north-1");
    expect(rdsRegion("db.internal")).toBeUndefined();
  });
});
