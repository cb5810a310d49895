// Companion's S3 routes (issue 15), in process, against a fake S3 that records signpost's own calls: the answers in
// the shapes @uppy/aws-s3 5 and 6 read, keys signpost chooses (in the caller's folder, unique, with the file name),
// metadata, errors as {error: {message}}, and every way around a client's policy refused before S3 is called.
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { NOW, type S3Handler, SAMPLE_ACCOUNT, SAMPLE_SECRET, storageTestApp } from "../../app.ts";
import { signedBy } from "../../verify-url.ts";

const CREDS = { accessKeyId: SAMPLE_ACCOUNT["access-key-id"], secretAccessKey: SAMPLE_SECRET };
const HOST = "https://my-bucket.s3.eu-west-1.amazonaws.com";
const BASE = "/companion/acc/my-bucket/s3";
const POLICY = { operations: ["upload"], accounts: ["acc"], buckets: ["my-bucket"], prefixes: ["users/{client}/"] };
const xml = (body: string, status = 200) => new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, { status, headers: { "content-type": "application/xml" } });
const FOLDER_KEY = /^users\/app\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-/;

async function setup(s3?: S3Handler) {
  const t = await storageTestApp(s3);
  const app = await t.createClient("app", POLICY);
  return { ...t, app };
}

/** A Companion-shaped error: {error: {message}, message}, JSON. */
function expectCompanionError(answer: { status: number; json: any; headers: Headers }, status: number, pattern: RegExp) {
  expect(answer.status).toBe(status);
  expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
  expect(answer.json).toEqual({ error: { message: expect.stringMatching(pattern) }, message: answer.json.error.message });
}

describe("GET /s3/params: a form for a new key in the caller's folder", () => {
  it("answers {method: POST, url, fields, headers}: the key is fresh, in the folder, ends with the name; type and metadata bound by the policy", async () => {
    const { call, app, logs, requests } = await setup();
    const query = new URLSearchParams({ filename: "Résumé 2024.pdf", type: "application/pdf", "metadata[name]": "Résumé 2024.pdf", "metadata[relativePath]": "docs/cv", "metadata[size]": "1234" });
    const answer = await call({ method: "GET", path: `${BASE}/params?${query}`, auth: app });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    const { method, url, fields, headers, expires } = answer.json;
    expect({ method, url, headers, expires }).toEqual({ method: "POST", url: `${HOST}/`, headers: {}, expires: 86400 });
    expect(fields.key).toMatch(FOLDER_KEY);
    expect(fields.key.endsWith("-Résumé 2024.pdf")).toBe(true);
    expect(fields["Content-Type"]).toBe("application/pdf");
    expect(fields.success_action_status).toBe("201"); // S3 then answers with the object's Location, Key and ETag
    const encodedName = `=?UTF-8?B?${Buffer.from("Résumé 2024.pdf").toString("base64")}?=`;
    expect(fields).toMatchObject({ "x-amz-meta-name": encodedName, "x-amz-meta-relativepath": "docs/cv", "x-amz-meta-size": "1234" });
    // Every field but the policy and the signature is an exact condition of the policy: S3 refuses any other.
    const policy = JSON.parse(Buffer.from(fields.Policy, "base64").toString());
    for (const [name, value] of Object.entries(fields as Record<string, string>)) {
      if (name !== "Policy" && name !== "X-Amz-Signature") expect(policy.conditions, name).toContainEqual({ [name]: value });
    }
    expect(requests).toHaveLength(0);
    expect(logs.find((entry) => entry.action === "post-policy")).toMatchObject({ via: "companion", who: "Client/app", key: fields.key });
    // never the same key twice
    const again = await call({ method: "GET", path: `${BASE}/params?${query}`, auth: app });
    expect(again.json.fields.key).not.toBe(fields.key);
  });

  it("answers a PUT URL (host signed) to a client that asks for JSON only, as Uppy 5 does: it waits for an ETag header a form's answer lacks on RGW", async () => {
    const { call, app, logs } = await setup();
    const answer = await call({ method: "GET", path: `${BASE}/params?filename=cat.png&type=image/png&metadata[name]=cat.png`, auth: app, headers: { accept: "application/json" } });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual({ method: "PUT", url: expect.any(String), fields: { key: expect.stringMatching(FOLDER_KEY), bucket: "my-bucket" }, headers: {}, expires: 86400, "expires-at": "2026-01-03T03:04:05Z" });
    const url = new URL(answer.json.url);
    expect(decodeURIComponent(url.pathname)).toBe(`/${answer.json.fields.key}`);
    expect(answer.json.fields.key.endsWith("-cat.png")).toBe(true);
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("host");
    expect(await signedBy(url.href, "PUT", CREDS)).toBe(true);
    expect(logs.find((entry) => entry.action === "presign")).toMatchObject({ via: "companion", "s3-method": "PUT", who: "Client/app" });
    // a bad type or metadata is refused all the same
    expectCompanionError(await call({ method: "GET", path: `${BASE}/params?filename=a&type=text`, auth: app, headers: { accept: "application/json" } }), 400, /type must be a media type/);
    // any other Accept (Uppy 6 sends none: */*) gets the form
    expect((await call({ method: "GET", path: `${BASE}/params?filename=a`, auth: app, headers: { accept: "*/*" } })).json.method).toBe("POST");
  });

  it("keeps the name one segment ('/' and '\\' as '_'), so no name leaves the folder", async () => {
    const { call, app } = await setup();
    for (const filename of ["../../bob/x.txt", "a\\..\\b", "/etc/passwd"]) {
      const answer = await call({ method: "GET", path: `${BASE}/params?${new URLSearchParams({ filename })}`, auth: app });
      expect(answer.status, filename).toBe(200);
      expect(answer.json.fields.key).toMatch(FOLDER_KEY);
      expect(answer.json.fields.key.slice("users/app/".length)).not.toContain("/");
    }
  });

  it("refuses what it cannot take, as Companion's errors", async () => {
    const { call, app } = await setup();
    for (const [query, pattern] of [
      ["", /"filename" query parameter is required/],
      ["filename=", /filename must be 1 to 255 characters/],
      ["filename=a&filename=b", /filename must be given at most once/],
      [`filename=${"x".repeat(256)}`, /filename must be 1 to 255/],
      ["filename=a%0Ab", /without control characters/],
      ["filename=a&type=text", /type must be a media type/],
      ["filename=a&expires=10", /unknown query parameter "expires"/],
      ["filename=a&metadata[a%20b]=1", /metadata names are/],
      [`filename=a&metadata[x]=${"y".repeat(2100)}`, /larger than S3's 2048 bytes/],
      ["filename=a&metadata[X]=1&metadata[x]=2", /given twice/],
    ] as const) {
      expectCompanionError(await call({ method: "GET", path: `${BASE}/params?${query}`, auth: app }), 400, pattern);
    }
  });

  it("takes a client's Basic credentials as Uppy 5's headers send them", async () => {
    const { call, app } = await setup();
    const basic = `Basic ${Buffer.from(`app:${app.slice("Bearer ".length)}`).toString("base64")}`;
    const answer = await call({ method: "GET", path: `${BASE}/params?filename=a.txt`, auth: basic });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json.fields.key).toMatch(FOLDER_KEY);
    expectCompanionError(await call({ method: "GET", path: `${BASE}/params?filename=a.txt`, auth: `Basic ${Buffer.from("app:wrong").toString("base64")}` }), 401, /invalid credentials/);
  });

  it("answers 401 and 403 in Companion's shape (Uppy: 401 means sign in again), never handing out a form", async () => {
    const { call, createClient } = await setup();
    const anonymous = await call({ method: "GET", path: `${BASE}/params?filename=a`, auth: null });
    expectCompanionError(anonymous, 401, /missing credentials/);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const reader = await createClient("reader", { ...POLICY, operations: ["download"] });
    expectCompanionError(await call({ method: "GET", path: `${BASE}/params?filename=a`, auth: reader }), 403, /may not upload/);
    const elsewhere = await createClient("elsewhere", { ...POLICY, buckets: ["other-bucket"] });
    expectCompanionError(await call({ method: "GET", path: `${BASE}/params?filename=a`, auth: elsewhere }), 403, /may not use bucket my-bucket/);
    expectCompanionError(await call({ method: "GET", path: "/companion/nope/my-bucket/s3/params?filename=a" }), 404, /nope/);
    expectCompanionError(await call({ method: "GET", path: `${BASE}/sts` }), 404, /no route for GET/);
  });
});

describe("multipart through Companion's routes", () => {
  it("POST /s3/multipart: signpost creates the upload (type and metadata signed) under a fresh key in the folder, answers {key, uploadId, bucket}", async () => {
    const { call, app, requests } = await setup(() => xml("<InitiateMultipartUploadResult><UploadId>2~abc&amp;d</UploadId></InitiateMultipartUploadResult>"));
    const answer = await call({ method: "POST", path: `${BASE}/multipart`, auth: app, body: { filename: "big.mp4", type: "video/mp4", metadata: { name: "big.mp4", note: "été" } } });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual({ key: expect.stringMatching(FOLDER_KEY), uploadId: "2~abc&d", bucket: "my-bucket" });
    expect(answer.json.key.endsWith("-big.mp4")).toBe(true);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.method).toBe("POST");
    expect(requests[0]!.url).toBe(`${HOST}/${answer.json.key}?uploads=`);
    expect(requests[0]!.headers).toMatchObject({ "content-type": "video/mp4", "x-amz-meta-name": "big.mp4", "x-amz-meta-note": `=?UTF-8?B?${Buffer.from("été").toString("base64")}?=` });
    expect(requests[0]!.headers.authorization).toContain("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-name;x-amz-meta-note,");
  });

  it("GET /s3/multipart/:uploadId/:partNumber: a part URL for the upload's key", async () => {
    const { call, app } = await setup();
    const answer = await call({ method: "GET", path: `${BASE}/multipart/${encodeURIComponent("2~x+y/z=")}/3?key=${encodeURIComponent("users/app/big file.mp4")}`, auth: app });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual({ method: "PUT", url: expect.any(String), expires: 86400, "expires-at": "2026-01-03T03:04:05Z" });
    const url = new URL(answer.json.url);
    expect(url.pathname).toBe("/users/app/big%20file.mp4");
    expect(url.searchParams.get("partNumber")).toBe("3");
    expect(url.searchParams.get("uploadId")).toBe("2~x+y/z=");
    expect(await signedBy(url.href, "PUT", CREDS)).toBe(true);
    for (const part of ["0", "10001", "abc", "1.5", "complete", "batch"]) {
      expectCompanionError(await call({ method: "GET", path: `${BASE}/multipart/u/${part}?key=users/app/k`, auth: app }), 400, /part number must be a whole number from 1 to 10000/);
    }
  });

  it("GET /s3/multipart/:uploadId: the parts as Companion lists them", async () => {
    const { call, app, requests } = await setup(() => xml('<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber><ETag>"e1"</ETag><Size>5242880</Size></Part><Part><PartNumber>2</PartNumber><ETag>"e2"</ETag><Size>7</Size></Part></ListPartsResult>'));
    const answer = await call({ method: "GET", path: `${BASE}/multipart/2~u?key=users/app/k`, auth: app });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual([{ PartNumber: 1, ETag: '"e1"', Size: 5242880 }, { PartNumber: 2, ETag: '"e2"', Size: 7 }]);
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([`GET ${HOST}/users/app/k?uploadId=2~u`]);
  });

  it("POST /s3/multipart/:uploadId/complete: completes with the parts in order, answers {location, key, bucket}", async () => {
    const { call, app, requests } = await setup(() => xml("<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>"));
    const answer = await call({ method: "POST", path: `${BASE}/multipart/2~u/complete?key=users/app/k`, auth: app, body: { parts: [{ PartNumber: 2, ETag: '"b"' }, { PartNumber: 1, ETag: '"a"' }] } });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual({ location: `${HOST}/users/app/k`, key: "users/app/k", bucket: "my-bucket" });
    expect(requests[0]!.body).toBe("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#34;a&#34;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&#34;b&#34;</ETag></Part></CompleteMultipartUpload>");
    for (const parts of [[], [{ PartNumber: 1 }], [{ PartNumber: 0, ETag: "e" }], [{ PartNumber: 1, ETag: "e" }, { PartNumber: 1, ETag: "f" }], [{ PartNumber: 1, ETag: "e", Size: 5 }], "1", [null]]) {
      expectCompanionError(await call({ method: "POST", path: `${BASE}/multipart/2~u/complete?key=users/app/k`, auth: app, body: { parts } }), 400, /parts must be a list/);
    }
  });

  it("passes S3's refusal on as a Companion error with S3's code", async () => {
    const { call, app } = await setup(() => xml("<Error><Code>InvalidPart</Code><Message>One or more of the specified parts could not be found.</Message></Error>", 400));
    expectCompanionError(await call({ method: "POST", path: `${BASE}/multipart/2~u/complete?key=users/app/k`, auth: app, body: { parts: [{ PartNumber: 1, ETag: '"a"' }] } }), 400, /S3 CompleteMultipartUpload: HTTP 400 InvalidPart/);
  });

  it("DELETE /s3/multipart/:uploadId: aborts, answers {}", async () => {
    const { call, app, requests } = await setup(() => new Response(null, { status: 204 }));
    const answer = await call({ method: "DELETE", path: `${BASE}/multipart/2~u?key=users/app/k`, auth: app });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toEqual({});
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([`DELETE ${HOST}/users/app/k?uploadId=2~u`]);
  });

  it("refuses a key outside the caller's folder on every route (someone else's upload), before S3 is called", async () => {
    const { call, app, requests } = await setup(() => xml("<ListPartsResult></ListPartsResult>"));
    for (const [method, path, body] of [
      ["GET", `${BASE}/multipart/bobs-upload/1?key=users/bob/k`, undefined],
      ["GET", `${BASE}/multipart/bobs-upload?key=users/bob/k`, undefined],
      ["POST", `${BASE}/multipart/bobs-upload/complete?key=users/bob/k`, { parts: [{ PartNumber: 1, ETag: '"a"' }] }],
      ["DELETE", `${BASE}/multipart/bobs-upload?key=users/bob/k`, undefined],
      ["DELETE", `${BASE}/multipart/bobs-upload?key=users/app/../bob/k`, undefined],
    ] as const) {
      const answer = await call({ method, path, body, auth: app });
      expect([400, 403], `${method} ${path}`).toContain(answer.status);
      expect(answer.json.error.message).toMatch(/may not upload this key|'\.' or '\.\.' path segments/);
    }
    expect(requests).toHaveLength(0);
  });

  it("needs the key once and takes no other query", async () => {
    const { call, app } = await setup();
    expectCompanionError(await call({ method: "GET", path: `${BASE}/multipart/u/1`, auth: app }), 400, /object key must be given once/);
    expectCompanionError(await call({ method: "GET", path: `${BASE}/multipart/u/1?key=a&key=b`, auth: app }), 400, /object key must be given once/);
    expectCompanionError(await call({ method: "GET", path: `${BASE}/multipart/u/1?key=users/app/a&expiration=60`, auth: app }), 400, /unknown query parameter "expiration"/);
    expectCompanionError(await call({ method: "POST", path: `${BASE}/multipart`, auth: app, body: { filename: "a", acl: "public-read" } }), 400, /unknown field: "acl"/);
  });
});

describe("an end user's cookie (Uppy 6's companionEndpoint on the same site)", () => {
  const ISS = "https://idp.example.com";
  async function withCookie(s3?: S3Handler) {
    const t = await storageTestApp(s3);
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1" };
    const policy = { ...POLICY, prefixes: ["users/{jwt.sub}/"] };
    expect((await t.call({ method: "PUT", path: "/TokenIntrospector/app", body: { type: "jwt", jwt: { iss: ISS, keys: [jwk] }, cookie: "app_token", policy } })).status).toBe(201);
    const token = await new SignJWT({ iss: ISS, sub: "alice", exp: NOW / 1000 + 600 }).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(privateKey);
    return { ...t, cookie: `app_token=${token}` };
  }

  it("gets forms and multipart uploads in the user's folder; a cross-site request is refused", async () => {
    const { call, cookie } = await withCookie(() => xml("<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>"));
    const params = await call({ method: "GET", path: `${BASE}/params?filename=a.txt&type=text/plain`, auth: null, headers: { cookie, "sec-fetch-site": "same-origin" } });
    expect(params.status, params.text).toBe(200);
    expect(params.json.fields.key).toMatch(/^users\/alice\/[0-9a-f-]{36}-a\.txt$/);
    // Uppy 6 sends its JSON bodies as application/json, which a cross-site form cannot
    const created = await call({ method: "POST", path: `${BASE}/multipart`, auth: null, headers: { cookie, "sec-fetch-site": "same-origin" }, body: { filename: "b.bin", type: "application/octet-stream" } });
    expect(created.status, created.text).toBe(200);
    expect(created.json.key).toMatch(/^users\/alice\//);
    expectCompanionError(await call({ method: "GET", path: `${BASE}/params?filename=a.txt`, auth: null, headers: { cookie, "sec-fetch-site": "cross-site" } }), 403, /cross-site/);
    const form = await call({ method: "POST", path: `${BASE}/multipart`, auth: null, headers: { cookie, "content-type": "text/plain" }, body: JSON.stringify({ filename: "b.bin" }) });
    expectCompanionError(form, 403, /Content-Type: application\/json/);
  });

  it("takes Uppy 6's abort (a DELETE without a body) on a cookie from the same site, not from another", async () => {
    const { call, cookie, requests } = await withCookie(() => new Response(null, { status: 204 }));
    expectCompanionError(await call({ method: "DELETE", path: `${BASE}/multipart/u1?key=users/alice/k`, auth: null, headers: { cookie, "sec-fetch-site": "cross-site" } }), 403, /cross-site/);
    expect(requests).toHaveLength(0);
    const aborted = await call({ method: "DELETE", path: `${BASE}/multipart/u1?key=users/alice/k`, auth: null, headers: { cookie, "sec-fetch-site": "same-origin" } });
    expect(aborted.status, aborted.text).toBe(200);
    expect(requests.map((r) => `${r.method} ${new URL(r.url).search}`)).toEqual(["DELETE ?uploadId=u1"]);
  });
});
