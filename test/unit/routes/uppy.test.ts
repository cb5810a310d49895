// $sign (issue 15), in process: @uppy/aws-s3 6's signRequest argument in, what signRequest must return out. Each S3
// operation Uppy sends becomes the presigned request S3 expects (checked with @smithy/signature-v4), under the grant it
// maps to; and each way around a client's policy is tried: keys outside its prefixes, dot segments, someone else's
// upload, headers or types smuggled in, a lifetime over its maximum.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createTestApp, diagnostics, NOW, SAMPLE_ACCOUNT, SAMPLE_SECRET, storageTestApp } from "../../app.ts";
import { signedBy } from "../../verify-url.ts";

const CREDS = { accessKeyId: SAMPLE_ACCOUNT["access-key-id"], secretAccessKey: SAMPLE_SECRET };
const HOST = "https://my-bucket.s3.eu-west-1.amazonaws.com";
const POLICY = { operations: ["upload"], accounts: ["acc"], buckets: ["my-bucket"], prefixes: ["users/{client}/"] };

async function setup(policy: Record<string, unknown> = POLICY) {
  const t = await storageTestApp();
  const app = await t.createClient("app", policy);
  const sign = (body: unknown, auth?: string, query = "") => t.call({ method: "POST", path: `/aws/storage/acc/my-bucket/$sign${query}`, body, auth });
  return { ...t, app, sign };
}

describe("$sign: each S3 operation Uppy sends becomes the presigned request S3 expects", () => {
  it("PutObject: a PUT URL signing host only (a browser's preflight could not carry a signed type), the key, and no-store", async () => {
    const { sign, logs } = await setup();
    const answer = await sign({ method: "PUT", key: "photos/cat.png", contentType: "image/png" });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual({ url: expect.any(String), key: "photos/cat.png", "expires-at": "2026-01-03T03:04:05Z" });
    expect(answer.headers.get("cache-control")).toBe("no-store");
    const url = new URL(answer.json.url);
    expect(`${url.origin}${url.pathname}`).toBe(`${HOST}/photos/cat.png`);
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("host");
    expect(await signedBy(url.href, "PUT", CREDS)).toBe(true);
    expect(await signedBy(url.href, "GET", CREDS)).toBe(false);
    expect(logs.find((entry) => entry.action === "sign")).toMatchObject({ who: "admin", operation: "upload", "s3-operation": "PutObject", key: "photos/cat.png", "expires-in": 86400 });
  });

  it.each([
    ["CreateMultipartUpload", { method: "POST" }, "POST", { uploads: "" }, true],
    ["UploadPart", { method: "PUT", uploadId: "2~a+b/c=", partNumber: 3 }, "PUT", { partNumber: "3", uploadId: "2~a+b/c=" }, false],
    ["CompleteMultipartUpload", { method: "POST", uploadId: "2~u" }, "POST", { uploadId: "2~u" }, false],
    ["ListParts", { method: "GET", uploadId: "2~u" }, "GET", { uploadId: "2~u" }, false],
    ["AbortMultipartUpload", { method: "DELETE", uploadId: "2~u" }, "DELETE", { uploadId: "2~u" }, false],
    ["DeleteObject", { method: "DELETE" }, "DELETE", {}, false],
  ] as const)("%s", async (name, request, method, query, returnsKey) => {
    const { sign, logs, requests } = await setup();
    const answer = await sign({ ...request, key: "videos/big file.mp4" });
    expect(answer.status, answer.text).toBe(200);
    expect(Object.keys(answer.json).sort()).toEqual(["expires-at", "url", ...(returnsKey ? ["key"] : [])].sort());
    const url = new URL(answer.json.url);
    expect(`${url.origin}${url.pathname}`).toBe(`${HOST}/videos/big%20file.mp4`);
    const signedQuery = Object.fromEntries([...url.searchParams].filter(([name]) => !name.startsWith("X-Amz-")));
    expect(signedQuery).toEqual(query);
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("host");
    expect(await signedBy(url.href, method, CREDS)).toBe(true);
    expect(logs.find((entry) => entry.action === "sign")).toMatchObject({ "s3-operation": name, operation: name === "DeleteObject" ? "delete" : "upload" });
    expect(requests).toHaveLength(0); // the browser calls S3, not signpost
  });

  it("takes expiresIn as the URL's lifetime", async () => {
    const { sign } = await setup();
    const answer = await sign({ method: "PUT", key: "a.txt", expiresIn: 900 });
    expect(new URL(answer.json.url).searchParams.get("X-Amz-Expires")).toBe("900");
    expect(answer.json["expires-at"]).toBe(new Date(NOW + 900_000).toISOString().replace(".000Z", "Z"));
  });
});

describe("$sign: keys in the caller's folder", () => {
  it("places a bare name (Uppy's <uuid>-<name>) in the client's folder for PutObject and CreateMultipartUpload, and says so", async () => {
    const { sign, app } = await setup();
    for (const method of ["PUT", "POST"]) {
      const answer = await sign({ method, key: "0b7e-cat.png" }, app);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json.key).toBe("users/app/0b7e-cat.png");
      expect(new URL(answer.json.url).pathname).toBe("/users/app/0b7e-cat.png");
    }
    // already inside: kept as it is
    expect((await sign({ method: "PUT", key: "users/app/x/cat.png" }, app)).json.key).toBe("users/app/x/cat.png");
  });

  it("moves nothing else: a key with a folder is judged as it is, and the later calls carry the key they were given", async () => {
    const { sign, app } = await setup();
    const outside = await sign({ method: "PUT", key: "users/other/cat.png" }, app);
    expect(outside.status).toBe(403);
    expect(diagnostics(outside)).toBe("this client may not upload this key (allowed prefixes: users/app/)");
    expect((await sign({ method: "PUT", key: "0b7e-cat.png", uploadId: "u", partNumber: 1 }, app)).status).toBe(403);
    expect((await sign({ method: "POST", key: "0b7e-cat.png", uploadId: "u" }, app)).status).toBe(403);
  });

  it("leaves the admin's keys where they are", async () => {
    const { sign } = await setup();
    expect((await sign({ method: "PUT", key: "0b7e-cat.png" })).json.key).toBe("0b7e-cat.png");
  });
});

describe("$sign: attacks on a client's policy", () => {
  it("refuses every operation on a key outside the client's prefixes, someone else's upload included, before any URL", async () => {
    const { sign, app, logs } = await setup({ ...POLICY, operations: ["upload", "delete"] });
    for (const request of [
      { method: "PUT", key: "users/bob/x.bin" },
      { method: "POST", key: "users/bob/x.bin" },
      { method: "PUT", key: "users/bob/x.bin", uploadId: "bobs-upload", partNumber: 1 },
      { method: "POST", key: "users/bob/x.bin", uploadId: "bobs-upload" },
      { method: "GET", key: "users/bob/x.bin", uploadId: "bobs-upload" },
      { method: "DELETE", key: "users/bob/x.bin", uploadId: "bobs-upload" },
      { method: "DELETE", key: "users/bob/x.bin" },
      { method: "PUT", key: "users/appendix/x.bin" }, // a prefix of "users/app/" is not the folder
    ]) {
      const answer = await sign(request, app);
      expect(answer.status, JSON.stringify(request)).toBe(403);
      expect(answer.text).not.toContain("X-Amz-Signature");
    }
    expect(logs.filter((entry) => entry.action === "sign")).toHaveLength(0);
  });

  it("refuses dot segments; an encoded one is a literal key that stays in the folder", async () => {
    const { sign, app } = await setup();
    for (const key of ["users/app/../bob/x", "users/app/./x", "users/app/..", "../x"]) {
      const answer = await sign({ method: "PUT", key }, app);
      expect(answer.status, key).toBe(400);
      expect(diagnostics(answer)).toMatch(/'\.' or '\.\.' path segments/);
    }
    const encoded = await sign({ method: "PUT", key: "users/app/%2e%2e/bob/x" }, app);
    expect(encoded.status).toBe(200);
    expect(new URL(encoded.json.url).pathname).toBe("/users/app/%252e%252e/bob/x");
  });

  it("takes no headers of the caller's, and no type that is not a media type: the URL signs host only", async () => {
    const { sign, app } = await setup();
    const smuggled = await sign({ method: "PUT", key: "users/app/x", headers: { "x-amz-acl": "public-read" } }, app);
    expect(smuggled.status).toBe(400);
    expect(diagnostics(smuggled)).toMatch(/unknown field: "headers"/);
    for (const contentType of ["image/png\r\nx-amz-acl: public-read", "image/png\nx-amz-copy-source: /other/secret", "x-amz-acl: public-read", 42, ""]) {
      const answer = await sign({ method: "PUT", key: "users/app/x", contentType }, app);
      expect(answer.status, JSON.stringify(contentType)).toBe(400);
    }
    expect((await sign({ method: "POST", key: "users/app/x", contentType: "image/png" }, app)).status).toBe(400);
    const fine = await sign({ method: "PUT", key: "users/app/x", contentType: "text/plain; charset=utf-8" }, app);
    expect(new URL(fine.json.url).searchParams.get("X-Amz-SignedHeaders")).toBe("host");
    expect(fine.json.headers).toBeUndefined();
  });

  it("holds a client to its operations and its maximum lifetime", async () => {
    const { sign, app } = await setup({ ...POLICY, "max-expiration": 600 });
    const remove = await sign({ method: "DELETE", key: "users/app/x" }, app);
    expect(remove.status).toBe(403);
    expect(diagnostics(remove)).toMatch(/may not delete/);
    expect((await sign({ method: "PUT", key: "users/app/x", expiresIn: 601 }, app)).status).toBe(403);
    expect((await sign({ method: "PUT", key: "users/app/x" }, app, "?expiration=601")).status).toBe(403);
    expect(new URL((await sign({ method: "PUT", key: "users/app/x" }, app)).json.url).searchParams.get("X-Amz-Expires")).toBe("600");
    const reader = await setup({ ...POLICY, operations: ["download"] });
    expect((await reader.sign({ method: "PUT", key: "users/app/x" }, reader.app)).status).toBe(403);
    expect((await reader.sign({ method: "GET", key: "users/app/x", uploadId: "u" }, reader.app)).status).toBe(403);
  });

  it("refuses what is not one of the seven requests, with 400 naming them", async () => {
    const { sign } = await setup();
    for (const body of [
      { method: "GET", key: "k" },
      { method: "put", key: "k" },
      { method: "PATCH", key: "k" },
      { key: "k" },
      { method: "PUT" },
      { method: "PUT", key: 7 },
      { method: "PUT", key: "/k" },
      { method: "PUT", key: "k", partNumber: 1 },
      { method: "POST", key: "k", uploadId: "u", partNumber: 1 },
      { method: "PUT", key: "k", uploadId: "u" },
      { method: "PUT", key: "k", uploadId: "u", partNumber: 0 },
      { method: "PUT", key: "k", uploadId: "u", partNumber: 10001 },
      { method: "PUT", key: "k", uploadId: "u", partNumber: 1.5 },
      { method: "PUT", key: "k", uploadId: "", partNumber: 1 },
      { method: "PUT", key: "k", uploadId: "a b", partNumber: 1 },
      { method: "PUT", key: "k", expiresIn: 0 },
      { method: "PUT", key: "k", expiresIn: 604801 },
      { method: "PUT", key: "k", expiresIn: "60" },
      [{ method: "PUT", key: "k" }],
    ]) {
      const answer = await sign(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.json.resourceType).toBe("OperationOutcome");
    }
    expect(diagnostics(await sign({ method: "GET", key: "k" }))).toMatch(/^give method PUT \(PutObject; with uploadId and partNumber, UploadPart\)/);
  });
});

describe("CORS for browsers calling $sign and the Companion routes from another origin", () => {
  const cors = async () => {
    const t = createTestApp({ corsOrigins: ["https://app.example"] });
    await t.putAccount("acc", { ...SAMPLE_ACCOUNT, "single-tenant": true });
    return t;
  };

  it.each([
    ["POST", "/aws/storage/acc/my-bucket/$sign"],
    ["GET", "/companion/acc/my-bucket/s3/params?filename=a.txt"],
    ["POST", "/companion/acc/my-bucket/s3/multipart"],
    ["DELETE", "/companion/acc/my-bucket/s3/multipart/u?key=k"],
  ])("answers the preflight of %s %s with Authorization and Content-Type, never with credentials", async (method, path) => {
    const { app } = await cors();
    const preflight = await app.request(path, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": method, "access-control-request-headers": "authorization,content-type,accept" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(preflight.headers.get("access-control-allow-methods")).toContain(method);
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    // A cookie is for same-origin pages only: no credentialed cross-origin request passes the browser.
    expect(preflight.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("lets the page read signpost's refusals (the message Uppy shows)", async () => {
    const t = await cors();
    const client = await t.createClient("app", { ...POLICY, buckets: ["*"] });
    for (const [path, body] of [["/aws/storage/acc/my-bucket/$sign", { method: "PUT", key: "elsewhere/x" }], ["/companion/acc/my-bucket/s3/multipart", { filename: "x" }]] as const) {
      const refused = await t.call({ method: "POST", path, body, auth: path.startsWith("/companion") ? "Bearer wrong~secret" : client, headers: { origin: "https://app.example" } });
      expect([401, 403]).toContain(refused.status);
      expect(refused.headers.get("access-control-allow-origin")).toBe("https://app.example");
    }
  });
});

describe("the README's adapter", () => {
  it("is the one the browser test runs (test/browser/uppy-6/page.ts)", () => {
    const lines = (text: string) => text.split("\n").map((line) => line.trim());
    const page = lines(readFileSync(new URL("../../browser/uppy-6/page.ts", import.meta.url), "utf8"));
    const start = page.indexOf("async signRequest(request) {");
    const adapter = page.slice(start, page.indexOf("},", start) + 1);
    expect(adapter.length).toBeGreaterThan(8);
    const readme = lines(readFileSync(new URL("../../../README.md", import.meta.url), "utf8")).join("\n");
    expect(readme).toContain(adapter.join("\n"));
  });
});
