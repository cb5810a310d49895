// $post-policy, in process: the form's fields and policy, checked against an independent node:crypto SigV4 HMAC
// chain, and its input rules.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { AwsAccount } from "../../../src/domain/account.ts";
import type { Client } from "../../../src/domain/client.ts";
import { SAMPLE_SECRET as SECRET, storageTestApp } from "../../app.ts";


/** SigV4's signing key and HMAC, with node:crypto and no code from src/aws/signer.ts. */
function hmacChain(secret: string, day: string, region: string, text: string): string {
  let key: Buffer = createHmac("sha256", `AWS4${secret}`).update(day).digest();
  for (const part of [region, "s3", "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
  return createHmac("sha256", key).update(text).digest("hex");
}

describe("POST policy", () => {
  it("answers the form URL and fields; the policy lists every condition and is signed with the SigV4 key", async () => {
    const { call, logs } = await storageTestApp();
    const response = await call({ method: "POST", path: "/aws/storage/acc/my-bucket/$post-policy?expiration=600", body: { filename: "up/ünï.png", "content-type": "image/png", "max-size": 1048576 } });
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const { url, fields, "expires-at": expiresAt } = response.json;
    expect(url).toBe("https://my-bucket.s3.eu-west-1.amazonaws.com/");
    expect(expiresAt).toBe("2026-01-02T03:14:05Z");
    expect(Object.keys(fields)).toEqual(["bucket", "Content-Type", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "key", "Policy", "X-Amz-Signature"]);
    expect(fields).toMatchObject({ bucket: "my-bucket", key: "up/ünï.png", "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20260102/eu-west-1/s3/aws4_request", "X-Amz-Date": "20260102T030405Z" });
    const policy = JSON.parse(Buffer.from(fields.Policy, "base64").toString("utf8"));
    expect(policy).toEqual({
      expiration: "2026-01-02T03:14:05.000Z",
      conditions: [
        { bucket: "my-bucket" },
        { "Content-Type": "image/png" },
        { "X-Amz-Algorithm": "AWS4-HMAC-SHA256" },
        { "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20260102/eu-west-1/s3/aws4_request" },
        { "X-Amz-Date": "20260102T030405Z" },
        { key: "up/ünï.png" },
        ["content-length-range", 0, 1048576],
      ],
    });
    expect(fields["X-Amz-Signature"]).toBe(hmacChain(SECRET, "20260102", "eu-west-1", fields.Policy));
    expect(logs.find((entry) => entry.action === "post-policy")).toMatchObject({ operation: "upload", key: "up/ünï.png", "max-size": 1048576, who: "admin" });
  });

  it("path-style URL, key prefix with ${filename}, session token field", async () => {
    const { call } = await storageTestApp(undefined, { AWS_ACCESS_KEY_ID: "ASIATEMP", AWS_SECRET_ACCESS_KEY: "temp-secret", AWS_SESSION_TOKEN: "tok+en/=" });
    expect((await call({ method: "PUT", path: "/AwsAccount/tmp", body: { region: "us-east-1", host: "127.0.0.1:9000", "path-style": true } })).status).toBe(201);
    const { url, fields } = (await call({ method: "POST", path: "/aws/storage/tmp/b-1/$post-policy", body: { prefix: "users/7/", "min-size": 10 } })).json;
    expect(url).toBe("https://127.0.0.1:9000/b-1");
    expect(fields.key).toBe("users/7/${filename}");
    expect(fields["X-Amz-Security-Token"]).toBe("tok+en/=");
    const policy = JSON.parse(atob(fields.Policy));
    expect(policy.conditions).toContainEqual(["starts-with", "$key", "users/7/"]);
    expect(policy.conditions).toContainEqual({ "X-Amz-Security-Token": "tok+en/=" });
    expect(policy.conditions).toContainEqual(["content-length-range", 10, 5 * 1024 ** 3]);
    expect(fields["X-Amz-Signature"]).toBe(hmacChain("temp-secret", "20260102", "us-east-1", fields.Policy));
  });

  it.each([
    [{}, /either filename .* or prefix/],
    [{ filename: "a", prefix: "b" }, /either filename .* or prefix/],
    [{ filename: "a/../b" }, /'\.' or '\.\.'/],
    [{ filename: "a", "max-size": 1.5 }, /max-size must be a whole number/],
    [{ filename: "a", "max-size": 5 * 1024 ** 3 + 1 }, /max-size must be a whole number from 0 to 5368709120/],
    [{ filename: "a", "min-size": "1" }, /min-size must be a whole number/],
    [{ filename: "a", "min-size": 2, "max-size": 1 }, /max-size must not be less than min-size/],
    [{ filename: "a", "content-type": "text" }, /content-type must be a media type/],
    [{ filename: "a", key: "b" }, /unknown field: "key"/],
  ])("refuses %j with 400", async (body, message) => {
    const { call } = await storageTestApp();
    const response = await call({ method: "POST", path: "/aws/storage/acc/my-bucket/$post-policy", body });
    expect(response.status).toBe(400);
    expect(response.json.issue[0].diagnostics).toMatch(message);
  });

  it("needs the upload grant and a key within the client's prefixes", async () => {
    const { call } = await storageTestApp();
    const reader = (await call({ method: "PUT", path: "/Client/reader", body: { policy: { operations: ["download"] } } })).json.secret;
    expect((await call({ method: "POST", path: "/aws/storage/acc/my-bucket/$post-policy", body: { filename: "a" }, auth: `Bearer ${reader}` })).status).toBe(403);
    const user = (await call({ method: "PUT", path: "/Client/user", body: { policy: { operations: ["upload"], prefixes: ["users/{client}/"] } } })).json.secret;
    const auth = `Bearer ${user}`;
    expect((await call({ method: "POST", path: "/aws/storage/acc/my-bucket/$post-policy", body: { prefix: "users/" }, auth })).status).toBe(403);
    expect((await call({ method: "POST", path: "/aws/storage/acc/my-bucket/$post-policy", body: { prefix: "users/user/" }, auth })).status).toBe(200);
  });

  it("answers 405 for unknown operations", async () => {
    const { call } = await storageTestApp();
    const response = await call({ method: "POST", path: "/aws/storage/acc/my-bucket/$nope", body: {} });
    expect(response.status).toBe(405);
    expect(response.json.issue[0].diagnostics).toMatch(/\$post-policy/);
  });
});
