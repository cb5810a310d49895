// $presign-batch (issue 18), in process: many URLs in one answer, each file authorized on its own (a refusal names
// the file and leaves no URL), each URL checked against @smithy/signature-v4, one audit line per URL.
import { describe, expect, it } from "vitest";
import { contentDisposition } from "../../../src/domain/presign.ts";
import { createTestApp, diagnostics, NOW, SAMPLE_ACCOUNT, SAMPLE_SECRET as SECRET, type S3Handler, storageTestApp } from "../../app.ts";
import { signedBy } from "../../verify-url.ts";

const CREDS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: SECRET };
const MD5 = "XUFAKrxLKna5cZ2REBfFkg==";

async function setup() {
  const t = await storageTestApp();
  const batch = (files: unknown, auth?: string, query = "") => t.call({ method: "POST", path: `/aws/storage/acc/my-bucket/$presign-batch${query}`, body: { files }, auth });
  return { ...t, batch };
}

describe("$presign-batch", () => {
  it("answers a URL per file, in order, each signed as its single-URL twin would be", async () => {
    const { batch, call, logs } = await setup();
    const files = [
      { filename: "photos/a.png", method: "GET" },
      { filename: "photos/b.png", method: "get", "save-as": "Résumé.png", disposition: "inline", "content-type": "image/png" },
      { filename: "photos/c.png", method: "HEAD" },
      { filename: "uploads/d.png", method: "PUT", "content-type": "image/png", "content-md5": MD5, "content-length": 5, "no-overwrite": true },
      { filename: "uploads/e.bin", method: "PUT" },
      { filename: "trash/f.txt", method: "DELETE" },
    ];
    const response = await batch(files, undefined, "?expiration=600");
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(Object.keys(response.json)).toEqual(["urls", "expires-at"]);
    expect(response.json["expires-at"]).toBe("2026-01-02T03:14:05Z");
    const urls = response.json.urls;
    expect(urls.map((u: { filename: string; method: string }) => `${u.method} ${u.filename}`)).toEqual(["GET photos/a.png", "GET photos/b.png", "HEAD photos/c.png", "PUT uploads/d.png", "PUT uploads/e.bin", "DELETE trash/f.txt"]);
    const pinned = { "content-type": "image/png", "content-md5": MD5, "content-length": "5", "if-none-match": "*" };
    expect(urls[3].headers).toEqual(pinned);
    expect(urls[4].headers).toEqual({});
    expect(urls[0].headers).toBeUndefined();
    for (const [i, { url, method, headers }] of urls.entries()) {
      expect(new URL(url).searchParams.get("X-Amz-Expires"), `${i}`).toBe("600");
      expect(await signedBy(url, method, CREDS, headers), `${i}`).toBe(true);
    }
    expect(new URL(urls[1].url).searchParams.get("response-content-disposition")).toBe(contentDisposition("Résumé.png", "inline"));
    expect(new URL(urls[1].url).searchParams.get("response-content-type")).toBe("image/png");
    // the same URLs as one request per file (the clock is fixed)
    expect(urls[0].url).toBe((await call({ method: "GET", path: "/aws/storage/acc/my-bucket/photos/a.png?expiration=600" })).json.url);
    expect(urls[3].url).toBe((await call({ method: "POST", path: "/aws/storage/acc/my-bucket?expiration=600", body: { filename: "uploads/d.png", "content-type": "image/png", "content-md5": MD5, "content-length": 5, "no-overwrite": true } })).json.url);
    const audit = logs.filter((line) => line.audit && line.batch);
    expect(audit.map((line) => `${line["s3-method"]} ${line.key}`)).toEqual(urls.map((u: { filename: string; method: string }) => `${u.method} ${u.filename}`));
    expect(audit[3]).toMatchObject({ operation: "upload", signed: "content-type content-md5 content-length if-none-match", "expires-in": 600 });
  });

  it("authorizes each file on its own: one refused file refuses the request, names the file, and leaves no URL or audit line", async () => {
    const { batch, createClient, logs } = await setup();
    const auth = await createClient("app", { operations: ["download", "upload"], prefixes: ["users/{client}/"], "content-types": ["image/*"], "max-size": 100 });
    const inside = { filename: "users/app/a.png", method: "GET" };
    expect((await batch([inside, { filename: "users/app/b.png", method: "PUT", "content-type": "image/png", "content-length": 100 }], auth)).status).toBe(200);
    const before = logs.filter((line) => line.audit && line.action === "presign").length;
    for (const [file, status, message] of [
      [{ filename: "users/bob/a.png", method: "GET" }, 403, /files\[1\] \("users\/bob\/a.png"\): this client may not download this key/],
      [{ filename: "users/app/x", method: "DELETE" }, 403, /files\[1\] .*may not delete/],
      [{ filename: "users/app/x.html", method: "PUT", "content-type": "text/html", "content-length": 5 }, 403, /files\[1\] .*content-type text\/html/],
      [{ filename: "users/app/x.png", method: "PUT", "content-type": "image/png" }, 403, /files\[1\] .*declared content-length of at most 100/],
      [{ filename: "users/app/x.png", method: "GET", "content-type": "text/html" }, 403, /files\[1\] .*served as text\/html/],
    ] as const) {
      const response = await batch([inside, file], auth);
      expect(response.status, JSON.stringify(file)).toBe(status);
      expect(diagnostics(response)).toMatch(message);
      expect(response.json.urls).toBeUndefined();
    }
    expect(logs.filter((line) => line.audit && line.action === "presign").length).toBe(before);
  });

  it("refuses bad bodies with 400 naming the file", async () => {
    const { batch, call } = await setup();
    const cases: [unknown, RegExp][] = [
      [undefined, /files must be a list of 1 to 1000 files/],
      [[], /files must be a list/],
      [Array.from({ length: 1001 }, (_, i) => ({ filename: `k${i}`, method: "GET" })), /files must be a list of 1 to 1000/],
      [[{ filename: "a", method: "POST" }], /files\[0\] \("a"\): method must be GET, HEAD, PUT or DELETE/],
      [[{ filename: "a" }], /files\[0\].*method must be/],
      [[{ filename: "a", method: "GET" }, "b"], /files\[1\]: each file must be an object/],
      [[{ filename: "a", method: "PUT", "save-as": "x" }], /files\[0\] \("a"\): unknown field: "save-as"/],
      [[{ filename: "a", method: "GET", "content-md5": MD5 }], /files\[0\].*unknown field: "content-md5"/],
      [[{ filename: "a", method: "GET", "save-as": 5 }], /save-as must be a string/],
      [[{ filename: "a", method: "GET", disposition: "download" }], /disposition must be attachment or inline/],
      [[{ filename: "/a", method: "GET" }], /files\[0\]/],
      [[{ filename: "a/../b", method: "GET" }], /files\[0\]/],
      [[{ filename: "a", method: "PUT", "content-length": -1 }], /files\[0\].*content-length/],
    ];
    for (const [files, message] of cases) {
      const response = await batch(files);
      expect(response.status, String(JSON.stringify(files)).slice(0, 100)).toBe(400);
      expect(diagnostics(response)).toMatch(message);
    }
    expect((await call({ method: "POST", path: "/aws/storage/acc/my-bucket/$presign-batch", body: { files: [], extra: 1 } })).status).toBe(400);
  });

  it("takes 1000 files; max-expiration and expiration apply as for single URLs", async () => {
    const { batch, createClient } = await setup();
    const files = Array.from({ length: 1000 }, (_, i) => ({ filename: `gallery/${i}.jpg`, method: "GET" }));
    const response = await batch(files);
    expect(response.status).toBe(200);
    expect(response.json.urls).toHaveLength(1000);
    expect(new Set(response.json.urls.map((u: { url: string }) => u.url)).size).toBe(1000);
    const auth = await createClient("short", { operations: ["download"], "max-expiration": 60 });
    expect(new URL((await batch(files.slice(0, 2), auth)).json.urls[1].url).searchParams.get("X-Amz-Expires")).toBe("60");
    expect((await batch(files.slice(0, 2), auth, "?expiration=61")).status).toBe(403);
  });

  it("signs each URL with the session of its own use and prefix (role-arn): uploads never with a download's, no prefix with another's", async () => {
    const sessions: string[] = [];
    // A strict server (it refuses unsigned headers), so no check of the session policy runs.
    const s3: S3Handler = (request) =>
      new Response(request.method === "GET" ? "<Error><Code>NoSuchKey</Code></Error>" : "<Error><Code>AccessDenied</Code><HeadersNotSigned>x-amz-copy-source</HeadersNotSigned></Error>", { status: request.method === "GET" ? 404 : 403 });
    const t = createTestApp({
      s3,
      roles: async (_account, _source, policy) => {
        sessions.push(policy ?? "");
        return { accessKeyId: "ASIASESSION", secretAccessKey: "session-secret", sessionToken: `session-${sessions.length}`, expiration: new Date(NOW + 3600_000) };
      },
    });
    await t.putAccount("tenant", { ...SAMPLE_ACCOUNT, "role-arn": "arn:aws:iam::123456789012:role/signpost" });
    const auth = await t.createClient("app", { operations: ["upload", "download", "delete"], accounts: ["*"], buckets: ["*"], prefixes: ["a/", "b/"] });
    const files = [
      { filename: "a/1", method: "GET" }, { filename: "a/2", method: "PUT" }, { filename: "b/3", method: "GET" },
      { filename: "b/4", method: "PUT" }, { filename: "a/5", method: "DELETE" }, { filename: "b/6", method: "PUT" },
    ];
    const response = await t.call({ method: "POST", path: "/aws/storage/tenant/my-bucket/$presign-batch", body: { files }, auth });
    expect(response.status, response.text).toBe(200);
    // What each URL's session allows: its actions and the keys.
    const scope = (url: string) => {
      const policy = JSON.parse(sessions[Number(new URL(url).searchParams.get("X-Amz-Security-Token")!.slice("session-".length)) - 1]!);
      return `${policy.Statement[0].Action.includes("s3:GetObject") ? "url" : "write"} ${policy.Statement[0].Resource[0]}`;
    };
    expect(response.json.urls.map((u: { url: string }) => scope(u.url))).toEqual([
      "url arn:aws:s3:::my-bucket/a/*", "write arn:aws:s3:::my-bucket/a/*", "url arn:aws:s3:::my-bucket/b/*",
      "write arn:aws:s3:::my-bucket/b/*", "url arn:aws:s3:::my-bucket/a/*", "write arn:aws:s3:::my-bucket/b/*",
    ]);
    // one session per use and prefix (plus the account's own, unnarrowed, for the server's checks)
    expect(sessions.filter(Boolean)).toHaveLength(4);
  });
});
