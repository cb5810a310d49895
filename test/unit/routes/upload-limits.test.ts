// Upload integrity and limits (issue 17), in process: what an upload pins (Content-MD5, x-amz-checksum-sha256,
// Content-Length, If-None-Match) is signed as headers and handed back; a caller's max-size and content-types bind
// every URL, form and multipart upload it gets; managers cannot grant more. What S3 makes of it: test/e2e.
import { describe, expect, it } from "vitest";
import { ADMIN, diagnostics, type S3Handler, SAMPLE_SECRET as SECRET, storageTestApp, s3Xml, storageClientApp } from "../../app.ts";
import { signedBy } from "../../verify-url.ts";

const CREDS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: SECRET };
const MD5 = "XUFAKrxLKna5cZ2REBfFkg=="; // md5("hello")
const SHA256 = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="; // sha256("hello")
const xml = s3Xml;

const withClient = storageClientApp;

describe("upload pins: signed as headers, handed back as `headers`", () => {
  it("signs each pin, keeps x-amz-checksum-sha256 a header (not in the query), and the signature is smithy's", async () => {
    const { call, logs } = await storageTestApp();
    const response = await call({ method: "POST", path: "/aws/storage/acc/my-bucket", body: { filename: "a/hello.txt", "content-type": "text/plain", "content-md5": MD5, "checksum-sha256": SHA256, "content-length": 5, "no-overwrite": true } });
    expect(response.status, response.text).toBe(200);
    const headers: Record<string, string> = { "content-type": "text/plain", "content-md5": MD5, "content-length": "5", "if-none-match": "*", "x-amz-checksum-sha256": SHA256 };
    expect(response.json.headers).toEqual(headers);
    const url = new URL(response.json.url);
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("content-length;content-md5;content-type;host;if-none-match;x-amz-checksum-sha256");
    expect([...url.searchParams.keys()].filter((name) => !name.startsWith("X-Amz-"))).toEqual([]);
    expect(await signedBy(url.href, "PUT", CREDS, headers)).toBe(true);
    // each header is part of the signature: a URL signed without one of them has another
    for (const name of Object.keys(headers)) {
      const { [name]: _, ...fewer } = headers;
      expect(await signedBy(url.href, "PUT", CREDS, fewer), name).toBe(false);
    }
    expect(logs.find((entry) => entry.action === "presign")).toMatchObject({ signed: "content-type content-md5 content-length if-none-match x-amz-checksum-sha256" });
  });

  it("answers headers: {} for a plain upload, and no headers for a download", async () => {
    const { call } = await storageTestApp();
    const upload = await call({ method: "POST", path: "/aws/storage/acc/my-bucket", body: { filename: "a.txt" } });
    expect(upload.json.headers).toEqual({});
    expect(new URL(upload.json.url).searchParams.get("X-Amz-SignedHeaders")).toBe("host");
    const download = await call({ method: "GET", path: "/aws/storage/acc/my-bucket/a.txt" });
    expect(download.json.headers).toBeUndefined();
  });

  it("no-overwrite: false signs nothing", async () => {
    const { call } = await storageTestApp();
    const response = await call({ method: "POST", path: "/aws/storage/acc/my-bucket", body: { filename: "a.txt", "no-overwrite": false } });
    expect(response.json.headers).toEqual({});
  });

  it.each([
    [{ "content-md5": "5d41402abc4b2a76b9719d911017c592" }, /content-md5 must be the base64 MD5/], // hex, not base64
    [{ "content-md5": "XUFAKrxLKna5cZ2REBfFkg=" }, /content-md5/],
    [{ "content-md5": "XUFAKrxLKna5cZ2REBfFkg==\r\nx-amz-acl: public-read" }, /content-md5/],
    [{ "content-md5": 5 }, /content-md5/],
    [{ "checksum-sha256": MD5 }, /checksum-sha256 must be the base64 SHA-256/],
    [{ "checksum-sha256": `${SHA256} ` }, /checksum-sha256/],
    [{ "content-length": -1 }, /content-length must be a whole number from 0 to 5368709120/],
    [{ "content-length": 1.5 }, /content-length/],
    [{ "content-length": "10" }, /content-length/],
    [{ "content-length": 5 * 1024 ** 3 + 1 }, /content-length/],
    [{ "no-overwrite": "true" }, /no-overwrite must be true or false/],
    [{ "if-none-match": "*" }, /unknown field: "if-none-match"/],
  ])("refuses %j with 400", async (fields, message) => {
    const { call } = await storageTestApp();
    const response = await call({ method: "POST", path: "/aws/storage/acc/my-bucket", body: { filename: "a.txt", ...fields } });
    expect(response.status).toBe(400);
    expect(diagnostics(response)).toMatch(message);
  });
});

describe("max-size", () => {
  it("binds a client's PUT URLs: a content-length is required, within max-size, and signed", async () => {
    const { as } = await withClient({ "max-size": 1000 });
    const none = await as("", { filename: "a.bin" });
    expect(none.status).toBe(403);
    expect(diagnostics(none)).toMatch(/this client may upload only with a declared content-length of at most 1000 bytes/);
    const over = await as("", { filename: "a.bin", "content-length": 1001 });
    expect(over.status).toBe(403);
    expect(diagnostics(over)).toMatch(/may not upload more than 1000 bytes/);
    const ok = await as("", { filename: "a.bin", "content-length": 1000 });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.headers).toEqual({ "content-length": "1000" });
    expect(await signedBy(ok.json.url, "PUT", CREDS, { "content-length": "1000" })).toBe(true);
  });

  it("does not bind downloads or the admin", async () => {
    const { call, auth } = await withClient({ "max-size": 10 });
    expect((await call({ method: "GET", path: "/aws/storage/acc/my-bucket/a.bin", auth })).status).toBe(200);
    expect((await call({ method: "POST", path: "/aws/storage/acc/my-bucket", body: { filename: "a.bin" }, auth: ADMIN })).status).toBe(200);
  });

  it("binds forms: the content-length-range ends at max-size, and asking for more is refused", async () => {
    const { as } = await withClient({ "max-size": 1000 });
    const range = async (body: Record<string, unknown>) => {
      const response = await as("/$post-policy", { filename: "f.bin", ...body });
      if (response.status !== 200) return `${response.status} ${diagnostics(response)}`;
      return JSON.parse(Buffer.from(response.json.fields.Policy, "base64").toString("utf8")).conditions.find((c: unknown) => Array.isArray(c) && c[0] === "content-length-range");
    };
    expect(await range({})).toEqual(["content-length-range", 0, 1000]);
    expect(await range({ "min-size": 10 })).toEqual(["content-length-range", 10, 1000]);
    expect(await range({ "max-size": 500 })).toEqual(["content-length-range", 0, 500]);
    expect(await range({ "content-length": 7 })).toEqual(["content-length-range", 7, 7]);
    expect(await range({ "max-size": 1001 })).toMatch(/^403 this client may not upload more than 1000 bytes/);
    expect(await range({ "content-length": 1001 })).toMatch(/^403 /);
    expect(await range({ "min-size": 1001, "max-size": 2000 })).toMatch(/^403 /);
    expect(await range({ "content-length": 7, "max-size": 9 })).toMatch(/^400 give content-length .* or min-size and max-size, not both/);
  });

  it("refuses pins a form cannot carry, with the reason", async () => {
    const { call } = await storageTestApp();
    for (const field of [{ "content-md5": MD5 }, { "checksum-sha256": SHA256 }, { "no-overwrite": true }]) {
      const response = await call({ method: "POST", path: "/aws/storage/acc/my-bucket/$post-policy", body: { filename: "f", ...field } });
      expect(response.status).toBe(400);
      expect(diagnostics(response)).toMatch(/cannot be pinned on a form upload .*use an upload URL/);
    }
  });

  it("binds part URLs: each declares its content-length (signed, in the answer's headers)", async () => {
    const { as } = await withClient({ "max-size": 20 * 1024 ** 2 });
    const bare = await as("/$presign-parts", { filename: "big.bin", "upload-id": "u", parts: [1] });
    expect(bare.status).toBe(403);
    expect(diagnostics(bare)).toMatch(/declared part 1 content-length of at most 20971520 bytes/);
    const over = await as("/$presign-parts", { filename: "big.bin", "upload-id": "u", parts: [{ "part-number": 1, "content-length": 20 * 1024 ** 2 + 1 }] });
    expect(over.status).toBe(403);
    const ok = await as("/$presign-parts", { filename: "big.bin", "upload-id": "u", parts: [{ "part-number": 2, "content-length": 5 * 1024 ** 2, "content-md5": MD5 }, { "part-number": 1, "content-length": 6 }] });
    expect(ok.status, ok.text).toBe(200);
    const [two, one] = ok.json.parts;
    expect(two.headers).toEqual({ "content-md5": MD5, "content-length": "5242880" });
    expect(one.headers).toEqual({ "content-length": "6" });
    expect(await signedBy(two.url, "PUT", CREDS, two.headers)).toBe(true);
    expect(await signedBy(one.url, "PUT", CREDS, one.headers)).toBe(true);
    expect(new URL(two.url).searchParams.get("partNumber")).toBe("2");
  });

  it("refuses a multipart upload declared over max-size at create", async () => {
    const { as, requests } = await withClient({ "max-size": 100 });
    const response = await as("/$create-multipart", { filename: "big.bin", "content-length": 101 });
    expect(response.status).toBe(403);
    expect(requests).toHaveLength(0);
  });

  const listing = (sizes: number[]) =>
    xml(`<ListPartsResult><IsTruncated>false</IsTruncated>${sizes.map((size, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>&quot;e${i + 1}&quot;</ETag><Size>${size}</Size></Part>`).join("")}</ListPartsResult>`);

  it("completes only when the uploaded parts hold no more than max-size; over, the upload is aborted", async () => {
    const s3 = (sizes: number[]): S3Handler => (request) =>
      request.method === "GET" ? listing(sizes) : request.method === "DELETE" ? new Response(null, { status: 204 }) : xml("<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>");
    const within = await withClient({ "max-size": 100 }, s3([60, 40]));
    const done = await within.as("/$complete-multipart", { filename: "big.bin", "upload-id": "u" });
    expect(done.status, done.text).toBe(200);
    expect(within.requests.map((r) => r.method)).toEqual(["GET", "POST"]);

    const over = await withClient({ "max-size": 100 }, s3([60, 41]));
    const refused = await over.as("/$complete-multipart", { filename: "big.bin", "upload-id": "u" });
    expect(refused.status).toBe(403);
    expect(diagnostics(refused)).toMatch(/may not upload more than 100 bytes: the parts hold 101, so the upload is aborted/);
    expect(over.requests.map((r) => `${r.method} ${new URL(r.url).search}`)).toEqual(["GET ?uploadId=u", "DELETE ?uploadId=u"]);

    // parts named by the client are counted by S3's listing, and must be the parts uploaded
    const named = await withClient({ "max-size": 100 }, s3([60, 41]));
    const first = await named.as("/$complete-multipart", { filename: "big.bin", "upload-id": "u", parts: [{ "part-number": 1, etag: '"e1"' }] });
    expect(first.status, first.text).toBe(200);
    const wrong = await named.as("/$complete-multipart", { filename: "big.bin", "upload-id": "u", parts: [{ "part-number": 1, etag: '"e2"' }] });
    expect(wrong.status).toBe(400);
    expect(diagnostics(wrong)).toMatch(/part 1 has not been uploaded with etag/);
    const missing = await named.as("/$complete-multipart", { filename: "big.bin", "upload-id": "u", parts: [{ "part-number": 3, etag: '"e3"' }] });
    expect(missing.status).toBe(400);
  });

  it("no-overwrite on complete: looks first (RGW 16 ignores If-None-Match there), then sends If-None-Match: * (signed)", async () => {
    let exists = false;
    const { call, requests } = await storageTestApp((request) =>
      request.method === "HEAD" ? new Response(null, { status: exists ? 200 : 404 }) : xml("<CompleteMultipartUploadResult><ETag>\"x\"</ETag></CompleteMultipartUploadResult>"));
    const complete = { filename: "k", "upload-id": "u", parts: [{ "part-number": 1, etag: '"a"' }], "no-overwrite": true };
    const response = await call({ method: "POST", path: "/aws/storage/acc/my-bucket/$complete-multipart", body: complete });
    expect(response.status, response.text).toBe(200);
    expect(requests.map((r) => r.method)).toEqual(["HEAD", "POST"]);
    expect(requests[1]!.headers["if-none-match"]).toBe("*");
    expect(requests[1]!.headers.authorization).toContain("SignedHeaders=content-type;host;if-none-match;x-amz-content-sha256;x-amz-date,");
    exists = true;
    const refused = await call({ method: "POST", path: "/aws/storage/acc/my-bucket/$complete-multipart", body: complete });
    expect(refused.status).toBe(412);
    expect(diagnostics(refused)).toMatch(/k exists already, and no-overwrite is set/);
    expect(requests.map((r) => r.method)).toEqual(["HEAD", "POST", "HEAD"]);
    const bad = await call({ method: "POST", path: "/aws/storage/acc/my-bucket/$complete-multipart", body: { filename: "k", "upload-id": "u", "no-overwrite": 1 } });
    expect(bad.status).toBe(400);
  });
});

describe("content-types", () => {
  it("uploads must pin a type within the list; image/* matches any image, never a wildcard or another type", async () => {
    const { as } = await withClient({ "content-types": ["image/*", "application/pdf"] });
    const status = async (type?: string) => (await as("", { filename: "f", ...(type === undefined ? {} : { "content-type": type }) })).status;
    expect(await status()).toBe(403);
    expect(await status("image/png")).toBe(200);
    expect(await status("image/svg+xml")).toBe(200);
    expect(await status("IMAGE/JPEG")).toBe(200);
    expect(await status("application/pdf; x=y")).toBe(200);
    expect(await status("text/html")).toBe(403);
    expect(await status("image/*")).toBe(403);
    expect(await status("*/*")).toBe(403);
    expect(await status("imagex/png")).toBe(403);
    expect(await status("application/pdfx")).toBe(403);
    expect(await status(`text/html; x="image/png"`)).toBe(403);
    const refused = await as("", { filename: "f", "content-type": "text/html" });
    expect(diagnostics(refused)).toMatch(/this client may not upload content-type text\/html \(allowed: image\/\*, application\/pdf\)/);
  });

  it("binds forms and multipart uploads the same way", async () => {
    const { as, requests } = await withClient({ "content-types": ["image/png"] }, () => xml("<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>"));
    expect((await as("/$post-policy", { filename: "f" })).status).toBe(403);
    expect((await as("/$post-policy", { filename: "f", "content-type": "text/html" })).status).toBe(403);
    expect((await as("/$post-policy", { filename: "f", "content-type": "image/png" })).status).toBe(200);
    expect((await as("/$create-multipart", { filename: "f" })).status).toBe(403);
    expect((await as("/$create-multipart", { filename: "f", "content-type": "text/html" })).status).toBe(403);
    expect(requests).toHaveLength(0);
    expect((await as("/$create-multipart", { filename: "f", "content-type": "image/png" })).status).toBe(200);
    expect(requests[0]!.headers["content-type"]).toBe("image/png");
  });

  it("downloads may have their type overridden only within the list", async () => {
    const { call, auth } = await withClient({ "content-types": ["image/*"] });
    const get = (query: string) => call({ method: "GET", path: `/aws/storage/acc/my-bucket/f.png${query}`, auth });
    expect((await get("")).status).toBe(200);
    expect((await get("?content-type=image%2Fpng")).status).toBe(200);
    expect((await get("?content-type=text%2Fhtml")).status).toBe(403);
  });
});

describe("policies: the fields and the manager's within rule", () => {
  it.each([
    [{ "max-size": -1 }, /policy.max-size must be a whole number/],
    [{ "max-size": 1.5 }, /policy.max-size/],
    [{ "content-types": [] }, /policy.content-types must be a list/],
    [{ "content-types": ["image"] }, /policy.content-types: each must be a media type/],
    [{ "content-types": ["Image/PNG"] }, /policy.content-types/],
    [{ "content-types": ["*/*"] }, /policy.content-types/],
    [{ "content-types": ["image/png; charset=x"] }, /policy.content-types/],
  ])("refuses %j", async (fields, message) => {
    const { call } = await storageTestApp();
    const response = await call({ method: "PUT", path: "/Client/x", body: { policy: { operations: ["upload"], ...fields } } });
    expect(response.status).toBe(400);
    expect(diagnostics(response)).toMatch(message);
  });

  it("a manager cannot grant a larger max-size, none when it has one, or types beyond its own", async () => {
    const t = await storageTestApp();
    const manager = await t.createClient("mgr", { operations: ["manage-clients", "upload"], "max-size": 1000, "content-types": ["image/*"] });
    const put = (policy: Record<string, unknown>) => t.call({ method: "PUT", path: "/Client/sub", body: { policy: { operations: ["upload"], ...policy } }, auth: manager });
    // no max-size (unbounded), a larger one, no content-types (any), a type beyond image/*
    for (const wider of [{ "content-types": ["image/*"] }, { "max-size": 1001, "content-types": ["image/*"] }, { "max-size": 1000 }, { "max-size": 1000, "content-types": ["image/*", "text/html"] }]) {
      const refused = await put(wider);
      expect(refused.status, JSON.stringify(wider)).toBe(403);
      expect(diagnostics(refused)).toMatch(/would hold more than this client's own policy grants/);
    }
    expect((await put({ "max-size": 1000, "content-types": ["image/*"] })).status).toBe(201);
    expect((await put({ "max-size": 10, "content-types": ["image/png", "image/jpeg"] })).status).toBe(200);
  });
});

describe("limits through Uppy's routes ($sign, Companion)", () => {
  const limited = { prefixes: ["users/{client}/"], "max-size": 1000, "content-types": ["image/png"] };
  const companion = "/companion/acc/my-bucket/s3";

  it("$sign gives a limited client no upload URL (it signs host alone), but still list, abort and delete", async () => {
    const t = await withClient({ ...limited, operations: ["upload", "delete"] });
    const sign = (body: Record<string, unknown>) => t.call({ method: "POST", path: "/aws/storage/acc/my-bucket/$sign", body, auth: t.auth });
    for (const body of [
      { method: "PUT", key: "users/app/a.png", contentType: "image/png" },
      { method: "POST", key: "users/app/a.png" },
      { method: "PUT", key: "users/app/a.png", uploadId: "u", partNumber: 1 },
      { method: "POST", key: "users/app/a.png", uploadId: "u" },
    ]) {
      const refused = await sign(body);
      expect(refused.status, JSON.stringify(body)).toBe(403);
      expect(diagnostics(refused)).toMatch(/it signs no header, so S3 could not hold it to this client's max-size and content-types/);
    }
    for (const body of [{ method: "GET", key: "users/app/a.png", uploadId: "u" }, { method: "DELETE", key: "users/app/a.png", uploadId: "u" }, { method: "DELETE", key: "users/app/a.png" }]) {
      expect((await sign(body)).status, JSON.stringify(body)).toBe(200);
    }
    // without limits, the same client shape gets them
    const free = await withClient({ prefixes: ["users/{client}/"] });
    expect((await free.call({ method: "POST", path: "/aws/storage/acc/my-bucket/$sign", body: { method: "PUT", key: "users/app/a.png" }, auth: free.auth })).status).toBe(200);
  });

  it("Companion: forms carry the type and a range up to max-size; PUT URLs and part URLs are refused; the total is checked at completion", async () => {
    const s3: S3Handler = (request) =>
      request.method === "GET" ? xml(`<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag><Size>1001</Size></Part></ListPartsResult>`)
      : request.method === "DELETE" ? new Response(null, { status: 204 })
      : xml("<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>");
    const t = await withClient(limited, s3);
    const get = (path: string, headers: Record<string, string> = {}) => t.call({ method: "GET", path: `${companion}${path}`, auth: t.auth, headers });
    const form = await get("/params?filename=a.png&type=image%2Fpng");
    expect(form.status, form.text).toBe(200);
    const conditions = JSON.parse(Buffer.from(form.json.fields.Policy, "base64").toString("utf8")).conditions;
    expect(conditions).toContainEqual(["content-length-range", 0, 1000]);
    expect(conditions).toContainEqual({ "Content-Type": "image/png" });
    expect((await get("/params?filename=a.html&type=text%2Fhtml")).status).toBe(403);
    expect((await get("/params?filename=a.png")).status).toBe(403); // no type
    const put = await get("/params?filename=a.png&type=image%2Fpng", { accept: "application/json" });
    expect(put.status).toBe(403);
    expect(put.json.error.message).toMatch(/PUT URL from \/s3\/params/);

    expect((await t.call({ method: "POST", path: `${companion}/multipart`, auth: t.auth, body: { filename: "a.html", type: "text/html" } })).status).toBe(403);
    // No multipart upload is started that could never get a part URL here: refused before S3 is called.
    const created = await t.call({ method: "POST", path: `${companion}/multipart`, auth: t.auth, body: { filename: "a.png", type: "image/png" } });
    expect(created.status, created.text).toBe(403);
    expect(created.json.error.message).toMatch(/Companion's part URLs declare no size.*\$create-multipart/);
    expect(t.requests).toHaveLength(0);
    // An upload made otherwise ($create-multipart, parts from $presign-parts): still no part URL, and the total checked.
    const key = encodeURIComponent("users/app/a.png");
    const part = await get(`/multipart/u/1?key=${key}`);
    expect(part.status).toBe(403);
    expect(part.json.error.message).toMatch(/declared part content-length/);
    const complete = await t.call({ method: "POST", path: `${companion}/multipart/u/complete?key=${key}`, auth: t.auth, body: { parts: [{ PartNumber: 1, ETag: '"e1"' }] } });
    expect(complete.status).toBe(403);
    expect(complete.json.error.message).toMatch(/the parts hold 1001, so the upload is aborted/);
    expect(t.requests.map((r) => r.method)).toEqual(["GET", "DELETE"]);
  });

  it("Companion: a caller with content-types alone gets multipart uploads (created with its type) and their part URLs", async () => {
    const t = await withClient({ prefixes: ["users/{client}/"], "content-types": ["image/png"] }, () => xml("<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>"));
    const created = await t.call({ method: "POST", path: `${companion}/multipart`, auth: t.auth, body: { filename: "a.png", type: "image/png" } });
    expect(created.status, created.text).toBe(200);
    expect(t.requests[0]!.headers["content-type"]).toBe("image/png");
    const part = await t.call({ method: "GET", path: `${companion}/multipart/u/1?key=${encodeURIComponent(created.json.key)}`, auth: t.auth });
    expect(part.status, part.text).toBe(200);
    // but no host-only PUT URL
    expect((await t.call({ method: "GET", path: `${companion}/params?filename=a.png&type=image%2Fpng`, auth: t.auth, headers: { accept: "application/json" } })).status).toBe(403);
  });
});
