// Multipart uploads, in process, against a fake S3 that records each signed request (checked with
// @smithy/signature-v4): create, part URLs, list, complete, abort, and S3's refusals.
import { describe, expect, it } from "vitest";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import type { Client } from "../../../src/domain/client.ts";
import { NOW, type S3Handler, SAMPLE_SECRET as SECRET, storageTestApp } from "../../app.ts";
import { signedBy } from "../../verify-url.ts";


// ---------------------------------------------------------------------------------------------
// Multipart: the S3 calls signpost makes, against a fake S3, each signature re-made by @smithy/signature-v4.

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
  const op = (call: Awaited<ReturnType<typeof storageTestApp>>["call"], name: string, body: unknown, auth?: string) => call({ method: "POST", path: `/aws/storage/acc/my-bucket/$${name}`, body, auth });

  it("creates with a signed POST ?uploads (content-type kept), parsing UploadId", async () => {
    const { call, requests, logs } = await storageTestApp(() => xml("<InitiateMultipartUploadResult><Bucket>my-bucket</Bucket><Key>big file.bin</Key><UploadId>2~abc&amp;def</UploadId></InitiateMultipartUploadResult>"));
    const response = await op(call, "create-multipart", { filename: "big file.bin", "content-type": "video/mp4" });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toEqual({ filename: "big file.bin", "upload-id": "2~abc&def" });
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: "POST", url: "https://my-bucket.s3.eu-west-1.amazonaws.com/big%20file.bin?uploads=" });
    expect(requests[0]!.headers).toMatchObject({ "content-type": "video/mp4", "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": "20260102T030405Z" });
    expect(requests[0]!.headers.authorization).toContain("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date,");
    await expectSignedLikeSmithy(requests[0]!);
    expect(logs.find((entry) => entry.action === "create-multipart")).toMatchObject({ operation: "upload", key: "big file.bin", who: "admin" });
  });

  it("presigns part URLs (partNumber and uploadId signed), one or many per call", async () => {
    const { call, requests } = await storageTestApp();
    const response = await op(call, "presign-parts", { filename: "a/b.bin", "upload-id": "2~x+y/z=", parts: [3, 1, 2] });
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const { parts, "expires-at": expiresAt } = response.json;
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
    const { call, requests } = await storageTestApp(() => (calls++ === 0 ? page([1, 2], 2) : page([3])));
    const response = await op(call, "list-parts", { filename: "k", "upload-id": "u" });
    expect(response.status, response.text).toBe(200);
    expect(response.json.parts).toEqual([1, 2, 3].map((n) => ({ "part-number": n, etag: `"e${n}"`, size: n * 10 })));
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "GET https://my-bucket.s3.eu-west-1.amazonaws.com/k?uploadId=u",
      "GET https://my-bucket.s3.eu-west-1.amazonaws.com/k?part-number-marker=2&uploadId=u",
    ]);
    for (const request of requests) await expectSignedLikeSmithy(request);
  });

  it("completes with the parts in order, ETags escaped, and the body signed", async () => {
    const { call, requests } = await storageTestApp(() => xml('<CompleteMultipartUploadResult><ETag>"abc-2"</ETag></CompleteMultipartUploadResult>'));
    const response = await op(call, "complete-multipart", { filename: "k", "upload-id": "u", parts: [{ "part-number": 2, etag: '"b<&>"' }, { "part-number": 1, etag: '"a"' }] });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toEqual({ filename: "k", etag: '"abc-2"' });
    expect(requests[0]).toMatchObject({ method: "POST", url: "https://my-bucket.s3.eu-west-1.amazonaws.com/k?uploadId=u" });
    expect(requests[0]!.body).toBe(
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#34;a&#34;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&#34;b&#60;&#38;&#62;&#34;</ETag></Part></CompleteMultipartUpload>",
    );
    await expectSignedLikeSmithy(requests[0]!);
  });

  it("completes with every uploaded part when none are named", async () => {
    const { call, requests } = await storageTestApp((request) =>
      request.method === "GET"
        ? xml("<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag><Size>5</Size></Part></ListPartsResult>")
        : xml("<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>"),
    );
    const response = await op(call, "complete-multipart", { filename: "k", "upload-id": "u" });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toEqual({ filename: "k" });
    expect(requests.map((r) => r.method)).toEqual(["GET", "POST"]);
    expect(requests[1]!.body).toContain("<PartNumber>1</PartNumber><ETag>&#34;a&#34;</ETag>");
  });

  it("aborts with a signed DELETE", async () => {
    const { call, requests, logs } = await storageTestApp(() => new Response(null, { status: 204 }));
    const response = await op(call, "abort-multipart", { filename: "k", "upload-id": "u" });
    expect(response.json).toEqual({ filename: "k", "upload-id": "u", aborted: true });
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
    const { call } = await storageTestApp(s3 as S3Handler);
    const response = await op(call, "list-parts", { filename: "k", "upload-id": "u" });
    expect(response.status).toBe(status);
    expect(response.json).toMatchObject({ resourceType: "OperationOutcome", issue: [{ diagnostics: expect.stringMatching(message) }] });
  });

  it.each([
    ["create-multipart", {}, /object key is empty/],
    ["create-multipart", { filename: "k", "content-type": "x" }, /content-type must be a media type/],
    ["presign-parts", { filename: "k", "upload-id": "u" }, /parts must be a list/],
    ["presign-parts", { filename: "k", "upload-id": "u", parts: [0] }, /parts must be a list/],
    ["presign-parts", { filename: "k", "upload-id": "u", parts: [10001] }, /part numbers from 1 to 10000/],
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
    const { call, requests } = await storageTestApp();
    const response = await op(call, name, body);
    expect(response.status).toBe(400);
    expect(response.json.issue[0].diagnostics).toMatch(message);
    expect(requests).toHaveLength(0);
  });

  it("needs the upload grant and a key within the client's prefixes, for every operation", async () => {
    const { call, requests } = await storageTestApp(() => new Response(null, { status: 204 }));
    const reader = `Bearer ${(await call({ method: "PUT", path: "/Client/reader", body: { policy: { operations: ["download", "delete"] } } })).json.secret}`;
    const user = `Bearer ${(await call({ method: "PUT", path: "/Client/user", body: { policy: { operations: ["upload"], prefixes: ["users/{client}/"] } } })).json.secret}`;
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
