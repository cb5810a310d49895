// Issue 6, in process: POST policies (checked against an independent node:crypto SigV4 HMAC chain) and the
// multipart endpoints against a fake S3 that records each signed request (checked with @smithy/signature-v4).
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { AwsAccount } from "../../src/account.ts";
import { createApp, type LogEntry } from "../../src/app.ts";
import type { Client } from "../../src/clients.ts";
import { fromEnv } from "../../src/credentials/env.ts";
import { nodeSha256 } from "../../src/runtime/node-crypto.ts";
import { createPresigner } from "../../src/signer.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { testSealer } from "../sealer.ts";

const TOKEN = "test-admin-token-0123456789abcdef";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

type Handler = (request: Request) => Response | Promise<Response>;

export async function setup(s3: Handler = () => new Response("", { status: 500 }), env: Record<string, string> = {}) {
  const logs: LogEntry[] = [];
  const requests: { method: string; url: string; headers: Record<string, string>; body: string }[] = [];
  const app = createApp({
    store: memoryStore<AwsAccount>(),
    clients: memoryStore<Client>(),
    sealer: testSealer,
    credentials: fromEnv(env),
    presigner: createPresigner(nodeSha256),
    config: { adminToken: TOKEN },
    now: () => NOW,
    log: (entry) => logs.push(entry),
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const body = await request.clone().text();
      requests.push({ method: request.method, url: request.url, headers: Object.fromEntries(request.headers), body });
      return s3(request);
    },
  });
  const call = async (method: string, path: string, body?: unknown, auth = `Bearer ${TOKEN}`) => {
    const response = await app.request(path, {
      method,
      headers: { authorization: auth, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
  };
  // single-tenant: what S3 does with unsigned headers is tested in test/unit/security.test.ts and on RGW
  const account = { region: "eu-west-1", "access-key-id": "AKIAIOSFODNN7EXAMPLE", "secret-access-key": SECRET, "single-tenant": true };
  expect((await call("PUT", "/AwsAccount/acc", account)).status).toBe(201);
  expect((await call("PUT", "/AwsAccount/minio", { ...account, host: "127.0.0.1:9000", "path-style": true, "use-ssl": false })).status).toBe(201);
  return { app, logs, call, requests };
}

/** SigV4's signing key and HMAC, with node:crypto and no code from src/signer.ts. */
function hmacChain(secret: string, day: string, region: string, text: string): string {
  let key: Buffer = createHmac("sha256", `AWS4${secret}`).update(day).digest();
  for (const part of [region, "s3", "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
  return createHmac("sha256", key).update(text).digest("hex");
}

describe("POST policy", () => {
  it("answers the form URL and fields; the policy lists every condition and is signed with the SigV4 key", async () => {
    const { call, logs } = await setup();
    const response = await call("POST", "/aws/storage/acc/my-bucket/$post-policy?expiration=600", { filename: "up/ünï.png", "content-type": "image/png", "max-size": 1048576 });
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const { url, fields, "expires-at": expiresAt } = response.json();
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
    const { call } = await setup(undefined, { AWS_ACCESS_KEY_ID: "ASIATEMP", AWS_SECRET_ACCESS_KEY: "temp-secret", AWS_SESSION_TOKEN: "tok+en/=" });
    expect((await call("PUT", "/AwsAccount/tmp", { region: "us-east-1", host: "127.0.0.1:9000", "path-style": true })).status).toBe(201);
    const { url, fields } = (await call("POST", "/aws/storage/tmp/b-1/$post-policy", { prefix: "users/7/", "min-size": 10 })).json();
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
    const { call } = await setup();
    const response = await call("POST", "/aws/storage/acc/my-bucket/$post-policy", body);
    expect(response.status).toBe(400);
    expect(response.json().issue[0].diagnostics).toMatch(message);
  });

  it("needs the upload grant and a key within the client's prefixes", async () => {
    const { call } = await setup();
    const reader = (await call("PUT", "/Client/reader", { policy: { operations: ["download"] } })).json().secret;
    expect((await call("POST", "/aws/storage/acc/my-bucket/$post-policy", { filename: "a" }, `Bearer ${reader}`)).status).toBe(403);
    const user = (await call("PUT", "/Client/user", { policy: { operations: ["upload"], prefixes: ["users/{client}/"] } })).json().secret;
    const auth = `Bearer ${user}`;
    expect((await call("POST", "/aws/storage/acc/my-bucket/$post-policy", { prefix: "users/" }, auth)).status).toBe(403);
    expect((await call("POST", "/aws/storage/acc/my-bucket/$post-policy", { prefix: "users/user/" }, auth)).status).toBe(200);
  });

  it("answers 405 for unknown operations", async () => {
    const { call } = await setup();
    const response = await call("POST", "/aws/storage/acc/my-bucket/$nope", {});
    expect(response.status).toBe(405);
    expect(response.json().issue[0].diagnostics).toMatch(/\$post-policy/);
  });
});

// ---------------------------------------------------------------------------------------------
// Multipart: the S3 calls signpost makes, against a fake S3, each signature re-made by @smithy/signature-v4.

import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { signedBy } from "../verify-url.ts";

const CREDS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: SECRET };
const xml = (body: string, status = 200) => new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, { status, headers: { "content-type": "application/xml" } });

async function expectSignedLikeSmithy(request: { method: string; url: string; headers: Record<string, string>; body: string }) {
  const url = new URL(request.url);
  const { authorization, "x-amz-date": _date, ...headers } = request.headers;
  const signer = new SignatureV4({ service: "s3", region: "eu-west-1", credentials: CREDS, sha256: Hash.bind(null, "sha256"), uriEscapePath: false, applyChecksum: false });
  const signed = (await signer.sign(
    { method: request.method, protocol: url.protocol, hostname: url.hostname, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: { ...headers, host: url.host }, body: request.body } as any,
    { signingDate: new Date(NOW) },
  )) as unknown as { headers: Record<string, string> };
  expect(authorization).toBe(signed.headers.authorization);
}

describe("multipart uploads", () => {
  const op = (call: Awaited<ReturnType<typeof setup>>["call"], name: string, body: unknown, auth?: string) => call("POST", `/aws/storage/acc/my-bucket/$${name}`, body, auth);

  it("creates with a signed POST ?uploads (content-type kept), parsing UploadId", async () => {
    const { call, requests, logs } = await setup(() => xml("<InitiateMultipartUploadResult><Bucket>my-bucket</Bucket><Key>big file.bin</Key><UploadId>2~abc&amp;def</UploadId></InitiateMultipartUploadResult>"));
    const response = await op(call, "create-multipart", { filename: "big file.bin", "content-type": "video/mp4" });
    expect(response.status, response.text).toBe(200);
    expect(response.json()).toEqual({ filename: "big file.bin", "upload-id": "2~abc&def" });
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: "POST", url: "https://my-bucket.s3.eu-west-1.amazonaws.com/big%20file.bin?uploads=" });
    expect(requests[0]!.headers).toMatchObject({ "content-type": "video/mp4", "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": "20260102T030405Z" });
    expect(requests[0]!.headers.authorization).toContain("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date,");
    await expectSignedLikeSmithy(requests[0]!);
    expect(logs.find((entry) => entry.action === "create-multipart")).toMatchObject({ operation: "upload", key: "big file.bin", who: "admin" });
  });

  it("presigns part URLs (partNumber and uploadId signed), one or many per call", async () => {
    const { call, requests } = await setup();
    const response = await op(call, "presign-parts", { filename: "a/b.bin", "upload-id": "2~x+y/z=", parts: [3, 1, 2] });
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const { parts, "expires-at": expiresAt } = response.json();
    expect(expiresAt).toBe("2026-01-03T03:04:05Z");
    expect(parts.map((p: { "part-number": number }) => p["part-number"])).toEqual([3, 1, 2]);
    for (const { "part-number": n, url } of parts) {
      const parsed = new URL(url);
      expect(parsed.pathname).toBe("/a/b.bin");
      expect(parsed.searchParams.get("partNumber")).toBe(String(n));
      expect(parsed.searchParams.get("uploadId")).toBe("2~x+y/z=");
      expect(await signedBy(url, "PUT", CREDS)).toBe(true);
    }
    expect(requests).toHaveLength(0); // presigning needs no call to S3
  });

  it("lists every part across pages", async () => {
    const page = (parts: number[], next?: number) =>
      xml(`<ListPartsResult><UploadId>u</UploadId><IsTruncated>${next ? "true" : "false"}</IsTruncated>${next ? `<NextPartNumberMarker>${next}</NextPartNumberMarker>` : ""}${parts.map((n) => `<Part><PartNumber>${n}</PartNumber><ETag>&quot;e${n}&quot;</ETag><Size>${n * 10}</Size></Part>`).join("")}</ListPartsResult>`);
    let calls = 0;
    const { call, requests } = await setup(() => (calls++ === 0 ? page([1, 2], 2) : page([3])));
    const response = await op(call, "list-parts", { filename: "k", "upload-id": "u" });
    expect(response.status, response.text).toBe(200);
    expect(response.json().parts).toEqual([1, 2, 3].map((n) => ({ "part-number": n, etag: `"e${n}"`, size: n * 10 })));
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "GET https://my-bucket.s3.eu-west-1.amazonaws.com/k?uploadId=u",
      "GET https://my-bucket.s3.eu-west-1.amazonaws.com/k?part-number-marker=2&uploadId=u",
    ]);
    for (const request of requests) await expectSignedLikeSmithy(request);
  });

  it("completes with the parts in order, ETags escaped, and the body signed", async () => {
    const { call, requests } = await setup(() => xml('<CompleteMultipartUploadResult><ETag>"abc-2"</ETag></CompleteMultipartUploadResult>'));
    const response = await op(call, "complete-multipart", { filename: "k", "upload-id": "u", parts: [{ "part-number": 2, etag: '"b<&>"' }, { "part-number": 1, etag: '"a"' }] });
    expect(response.status, response.text).toBe(200);
    expect(response.json()).toEqual({ filename: "k", etag: '"abc-2"' });
    expect(requests[0]).toMatchObject({ method: "POST", url: "https://my-bucket.s3.eu-west-1.amazonaws.com/k?uploadId=u" });
    expect(requests[0]!.body).toBe(
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#34;a&#34;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&#34;b&#60;&#38;&#62;&#34;</ETag></Part></CompleteMultipartUpload>",
    );
    await expectSignedLikeSmithy(requests[0]!);
  });

  it("completes with every uploaded part when none are named", async () => {
    const { call, requests } = await setup((request) =>
      request.method === "GET"
        ? xml("<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag><Size>5</Size></Part></ListPartsResult>")
        : xml("<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>"),
    );
    const response = await op(call, "complete-multipart", { filename: "k", "upload-id": "u" });
    expect(response.status, response.text).toBe(200);
    expect(response.json()).toEqual({ filename: "k" });
    expect(requests.map((r) => r.method)).toEqual(["GET", "POST"]);
    expect(requests[1]!.body).toContain("<PartNumber>1</PartNumber><ETag>&#34;a&#34;</ETag>");
  });

  it("aborts with a signed DELETE", async () => {
    const { call, requests, logs } = await setup(() => new Response(null, { status: 204 }));
    const response = await op(call, "abort-multipart", { filename: "k", "upload-id": "u" });
    expect(response.json()).toEqual({ filename: "k", "upload-id": "u", aborted: true });
    expect(requests[0]).toMatchObject({ method: "DELETE", url: "https://my-bucket.s3.eu-west-1.amazonaws.com/k?uploadId=u" });
    await expectSignedLikeSmithy(requests[0]!);
    expect(logs.some((entry) => entry.action === "abort-multipart")).toBe(true);
  });

  it.each([
    ["404 NoSuchUpload", () => xml("<Error><Code>NoSuchUpload</Code><Message>gone</Message></Error>", 404), 404, /S3 ListParts: HTTP 404 NoSuchUpload: gone/],
    ["400 InvalidPart", () => xml("<Error><Code>InvalidPart</Code></Error>", 400), 400, /HTTP 400 InvalidPart/],
    ["403", () => xml("<Error><Code>AccessDenied</Code></Error>", 403), 502, /HTTP 403 AccessDenied/],
    ["200 with an Error", () => xml("<Error><Code>InternalError</Code></Error>"), 502, /HTTP 200 InternalError/],
    ["a DTD", () => xml('<!DOCTYPE x [<!ENTITY a "b">]><ListPartsResult/>'), 502, /DTD/],
    ["a network error", () => Promise.reject(new TypeError("fetch failed")), 502, /could not reach my-bucket\.s3\.eu-west-1\.amazonaws\.com/],
    ["a part without ETag", () => xml("<ListPartsResult><Part><PartNumber>1</PartNumber></Part></ListPartsResult>"), 502, /lacks PartNumber or ETag/],
  ])("answers S3's %s as an OperationOutcome", async (_, s3, status, message) => {
    const { call } = await setup(s3 as Handler);
    const response = await op(call, "list-parts", { filename: "k", "upload-id": "u" });
    expect(response.status).toBe(status);
    expect(response.json()).toMatchObject({ resourceType: "OperationOutcome", issue: [{ diagnostics: expect.stringMatching(message) }] });
  });

  it.each([
    ["create-multipart", {}, /object key is empty/],
    ["create-multipart", { filename: "k", "content-type": "x" }, /content-type must be a media type/],
    ["presign-parts", { filename: "k", "upload-id": "u" }, /parts must be a list/],
    ["presign-parts", { filename: "k", "upload-id": "u", parts: [0] }, /parts must be a list/],
    ["presign-parts", { filename: "k", "upload-id": "u", parts: [10001] }, /whole number/],
    ["presign-parts", { filename: "k", "upload-id": "u", parts: [1, 1] }, /parts must be a list/],
    ["presign-parts", { filename: "k", "upload-id": "u", parts: Array.from({ length: 1001 }, (_, i) => i + 1) }, /parts must be a list of 1 to 1000/],
    ["list-parts", { filename: "k" }, /upload-id is required/],
    ["list-parts", { filename: "k", "upload-id": "a b" }, /upload-id is required/],
    ["complete-multipart", { filename: "k", "upload-id": "u", parts: [] }, /parts must be a list/],
    ["complete-multipart", { filename: "k", "upload-id": "u", parts: [{ "part-number": 1 }] }, /parts must be a list/],
    ["complete-multipart", { filename: "k", "upload-id": "u", parts: [{ "part-number": 1, etag: "a" }, { "part-number": 1, etag: "b" }] }, /different part numbers/],
    ["complete-multipart", { filename: "k", "upload-id": "u", parts: [{ "part-number": 1, etag: "a\nb" }] }, /parts must be a list/],
    ["complete-multipart", { filename: "k", "upload-id": "u", parts: [null] }, /parts must be a list/],
    ["abort-multipart", { filename: "k", "upload-id": "u", extra: 1 }, /unknown field: "extra"/],
  ])("%s refuses %j with 400 before calling S3", async (name, body, message) => {
    const { call, requests } = await setup();
    const response = await op(call, name, body);
    expect(response.status).toBe(400);
    expect(response.json().issue[0].diagnostics).toMatch(message);
    expect(requests).toHaveLength(0);
  });

  it("needs the upload grant and a key within the client's prefixes, for every operation", async () => {
    const { call, requests } = await setup(() => new Response(null, { status: 204 }));
    const reader = `Bearer ${(await call("PUT", "/Client/reader", { policy: { operations: ["download", "delete"] } })).json().secret}`;
    const user = `Bearer ${(await call("PUT", "/Client/user", { policy: { operations: ["upload"], prefixes: ["users/{client}/"] } })).json().secret}`;
    const bodies: [string, Record<string, unknown>][] = [
      ["create-multipart", {}],
      ["presign-parts", { "upload-id": "u", parts: [1] }],
      ["list-parts", { "upload-id": "u" }],
      ["complete-multipart", { "upload-id": "u", parts: [{ "part-number": 1, etag: "e" }] }],
      ["abort-multipart", { "upload-id": "u" }],
    ];
    for (const [name, body] of bodies) {
      expect((await op(call, name, { filename: "users/user/k", ...body }, reader)).status, name).toBe(403);
      expect((await op(call, name, { filename: "users/other/k", ...body }, user)).status, name).toBe(403);
    }
    expect(requests).toHaveLength(0);
    expect((await op(call, "abort-multipart", { filename: "users/user/k", "upload-id": "u" }, user)).status).toBe(200);
  });
});
