// Object URLs, in process: uploads, downloads (filename, type, redirect, HEAD), deletes; every URL checked against
// @smithy/signature-v4 (headers included); typos in the query refused instead of ignored.
import { describe, expect, it } from "vitest";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import type { AwsAccount } from "../../../src/domain/account.ts";
import type { Client } from "../../../src/domain/client.ts";
import { fromEnv } from "../../../src/credentials/env.ts";
import { nodeSha256 } from "../../../src/runtime/node-crypto.ts";
import { createPresigner, type PresignRequest, webCryptoSha256 } from "../../../src/aws/signer.ts";
import { contentDisposition } from "../../../src/domain/presign.ts";
import { ADMIN_TOKEN as TOKEN, appRequests, createTestApp, diagnostics, expectOutcome, KEYS, NOW, SAMPLE_ACCOUNT as account, SAMPLE_SECRET as SECRET } from "../../app.ts";
import { signedBy } from "../../verify-url.ts";

const CREDS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: SECRET };

async function setup() {
  const t = createTestApp({ credentials: fromEnv({}) });
  await t.putAccount("acc", { region: "us-east-1", "access-key-id": CREDS.accessKeyId, "secret-access-key": SECRET });
  return t;
}

describe("Content-Disposition (RFC 6266 / 5987)", () => {
  it.each([
    ["report.pdf", `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`],
    ["Résumé 2024.pdf", `attachment; filename="R_sum_ 2024.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202024.pdf`],
    ['a"b\\c%d;e.txt', `attachment; filename="a_b_c_d;e.txt"; filename*=UTF-8''a%22b%5Cc%25d%3Be.txt`],
    ["it's (1)*!.txt", `attachment; filename="it's (1)*!.txt"; filename*=UTF-8''it%27s%20%281%29%2A!.txt`],
    ["отчёт.txt", `attachment; filename="_____.txt"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.txt`],
    ["😀.png", `attachment; filename="__.png"; filename*=UTF-8''%F0%9F%98%80.png`],
  ])("%s", (name, expected) => {
    expect(contentDisposition(name)).toBe(expected);
    // filename* decodes back to the exact name; the whole header is printable ASCII
    expect(decodeURIComponent(expected.split("UTF-8''")[1]!)).toBe(name);
    expect(expected).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe("downloads", () => {
  const base = "/aws/storage/acc/my-bucket/docs/r%C3%A9sum%C3%A9.pdf";

  it("signs response-content-disposition and response-content-type into the URL", async () => {
    const { call, logs } = await setup();
    const response = await call({ method: "GET", path: `${base}?filename=${encodeURIComponent("Résumé 2024.pdf")}&content-type=${encodeURIComponent("application/pdf; charset=binary")}` });
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const url = new URL(response.json.url);
    expect(url.searchParams.get("response-content-disposition")).toBe(contentDisposition("Résumé 2024.pdf"));
    expect(url.searchParams.get("response-content-type")).toBe("application/pdf; charset=binary");
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("host");
    expect(await signedBy(url.href, "GET", CREDS)).toBe(true);
    // and the same as our Web Crypto signer given the same query
    const reference = await createPresigner(webCryptoSha256()).presign({
      method: "GET", protocol: "https:", host: "my-bucket.s3.us-east-1.amazonaws.com", path: "/docs/r%C3%A9sum%C3%A9.pdf",
      query: { "response-content-disposition": contentDisposition("Résumé 2024.pdf"), "response-content-type": "application/pdf; charset=binary" },
      region: "us-east-1", credentials: CREDS, expiresIn: 86400, date: new Date(NOW),
    });
    expect(url.href).toBe(reference);
    expect(logs.find((entry) => entry.action === "presign")).toMatchObject({ action: "presign", operation: "download", "s3-method": "GET", key: "docs/résumé.pdf" });
  });

  it("answers 302 to the signed URL with redirect=true, still no-store", async () => {
    const { call, logs } = await setup();
    const json = await call({ method: "GET", path: `${base}?filename=a.pdf` });
    const redirected = await call({ method: "GET", path: `${base}?filename=a.pdf&redirect=true` });
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get("location")).toBe(json.json.url);
    expect(redirected.headers.get("cache-control")).toBe("no-store");
    expect((await call({ method: "GET", path: `${base}?redirect=false` })).status).toBe(200);
    expect(logs.filter((entry) => entry.audit).at(-2)).toMatchObject({ redirect: true });
  });

  it("signs HEAD URLs with method=HEAD", async () => {
    const { call } = await setup();
    const response = await call({ method: "GET", path: `${base}?method=HEAD&expiration=60` });
    expect(response.status).toBe(200);
    const url = response.json.url;
    expect(await signedBy(url, "HEAD", CREDS)).toBe(true);
    expect(await signedBy(url, "GET", CREDS)).toBe(false);
    const redirect = await call({ method: "GET", path: `${base}?method=HEAD&redirect=true` });
    expect(await signedBy(redirect.headers.get("location")!, "HEAD", CREDS)).toBe(true);
    // curl -I (a HEAD to signpost) gets the same 302, so it follows with HEAD
    const head = await call({ method: "HEAD", path: `${base}?method=HEAD&redirect=true` });
    expect(head.status).toBe(302);
    expect(head.headers.get("location")).toBe(redirect.headers.get("location"));
  });

  it.each([
    ["method=POST", /method must be GET or HEAD/],
    ["method=options", /method must be GET or HEAD/],
    ["disposition=download", /disposition must be attachment or inline/],
    ["method=GET&method=HEAD", /method must be given at most once/],
    ["redirect=yes", /redirect must be true or false/],
    ["redirect=", /redirect must be true or false/],
    ["redirect=true&redirect=true", /redirect must be given at most once/],
    ["filename=a&filename=b", /filename must be given at most once/],
    ["filename=", /filename must be 1 to 255/],
    ["filename=a%0Ab", /filename must be 1 to 255/],
    [`filename=${"x".repeat(256)}`, /filename must be 1 to 255/],
    ["content-type=text", /content-type must be a media type/],
    ["content-type=text/html%0D%0AX-Evil:%201", /content-type must be a media type/],
    ["content-type=text/plain&content-type=text/html", /content-type must be given at most once/],
  ])("refuses %s with 400", async (query, message) => {
    const { call } = await setup();
    const response = await call({ method: "GET", path: `${base}?${query}` });
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ resourceType: "OperationOutcome", issue: [{ code: "invalid", diagnostics: expect.stringMatching(message) }] });
  });

  it("needs the download grant for GET and HEAD URLs, redirect or not", async () => {
    const { call } = await setup();
    const client = await call({ method: "PUT", path: "/Client/uploader", body: { policy: { operations: ["upload"] } } });
    const auth = `Bearer ${client.json.secret}`;
    for (const query of ["", "?method=HEAD", "?redirect=true", "?method=HEAD&redirect=true"]) {
      const response = await call({ method: "GET", path: `${base}${query}`, auth });
      expect(response.status).toBe(403);
      expect(response.json.resourceType).toBe("OperationOutcome");
    }
    const reader = await call({ method: "PUT", path: "/Client/reader", body: { policy: { operations: ["download"] } } });
    expect((await call({ method: "GET", path: `${base}?method=HEAD`, auth: `Bearer ${reader.json.secret}` })).status).toBe(200);
  });
});

/** @smithy/signature-v4 presigning with signed headers besides host (here: content-type). */
async function smithyPresign(request: PresignRequest): Promise<string> {
  const signer = new SignatureV4({ service: "s3", region: request.region, credentials: request.credentials, sha256: Hash.bind(null, "sha256"), uriEscapePath: false });
  const colon = request.host.lastIndexOf(":");
  const hasPort = colon > 0 && /^\d+$/.test(request.host.slice(colon + 1));
  const presigned = await signer.presign(
    {
      method: request.method, protocol: request.protocol,
      hostname: hasPort ? request.host.slice(0, colon) : request.host,
      ...(hasPort ? { port: Number(request.host.slice(colon + 1)) } : {}),
      path: request.path,
      headers: { host: request.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", ...request.headers },
      query: { ...request.query },
    } as any,
    { signingDate: request.date, expiresIn: request.expiresIn, unhoistableHeaders: new Set(["x-amz-content-sha256"]), unsignableHeaders: new Set(["x-amz-content-sha256"]) },
  );
  const query = presigned.query as Record<string, string>;
  return query["X-Amz-Signature"]!;
}

describe("presigning with signed headers, byte for byte against @smithy/signature-v4", () => {
  const types = ["image/png", "text/plain; charset=utf-8", "  application/json ", "multipart/form-data;  boundary=x", "application/vnd.ms-excel"];
  const cases: PresignRequest[] = [];
  for (const type of types) {
    for (const [host, protocol] of [["my-bucket.s3.eu-west-1.amazonaws.com", "https:"], ["127.0.0.1:7480", "http:"]] as const) {
      for (const credentials of [CREDS, { ...CREDS, sessionToken: "FwoGZXIvYXdzEXAMPLE+session/token=" }]) {
        cases.push({
          method: "PUT", protocol, host, path: "/a/r%C3%A9sum%C3%A9%2B1.pdf", region: "eu-west-1", credentials, expiresIn: 3600, date: new Date(NOW),
          headers: { "content-type": type },
          ...(type.startsWith("image") ? { query: { partNumber: "3", uploadId: "2~abc/def+=" } } : {}),
        });
      }
    }
  }
  for (const [name, signer] of [["node:crypto", createPresigner(nodeSha256)], ["web crypto", createPresigner(webCryptoSha256())]] as const) {
    it(`${name}: ${cases.length} requests`, async () => {
      for (const request of cases) {
        const url = new URL(await signer.presign(request));
        expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("content-type;host");
        expect(url.search).toContain("X-Amz-SignedHeaders=content-type%3Bhost");
        expect(url.searchParams.get("X-Amz-Signature")).toBe(await smithyPresign(request));
      }
    });
  }
});

describe("upload Content-Type pinning", () => {
  it("signs content-type as a header (SignedHeaders=content-type;host)", async () => {
    const { call, logs } = await setup();
    const response = await call({ method: "POST", path: "/aws/storage/acc/my-bucket", body: { filename: "photos/cat.png", "content-type": "image/png" } });
    expect(response.status, response.text).toBe(200);
    const url = new URL(response.json.url);
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("content-type;host");
    const request: PresignRequest = {
      method: "PUT", protocol: "https:", host: "my-bucket.s3.us-east-1.amazonaws.com", path: "/photos/cat.png",
      headers: { "content-type": "image/png" }, region: "us-east-1", credentials: CREDS, expiresIn: 86400, date: new Date(NOW),
    };
    expect(url.searchParams.get("X-Amz-Signature")).toBe(await smithyPresign(request));
    expect(logs.find((entry) => entry.action === "presign")).toMatchObject({ operation: "upload", "s3-method": "PUT", key: "photos/cat.png" });
    // without content-type: only host, as before
    const plain = await call({ method: "POST", path: "/aws/storage/acc/my-bucket", body: { filename: "photos/cat.png" } });
    expect(new URL(plain.json.url).searchParams.get("X-Amz-SignedHeaders")).toBe("host");
  });

  it.each([["text"], [""], [42], [["image/png"]], ["image/png\r\nx: y"], [`image/${"x".repeat(260)}`]])("refuses content-type %j", async (type) => {
    const { call } = await setup();
    const response = await call({ method: "POST", path: "/aws/storage/acc/my-bucket", body: { filename: "a.png", "content-type": type } });
    expect(response.status).toBe(400);
    expect(response.json.issue[0].diagnostics).toMatch(/content-type must be a media type/);
  });

  it("still refuses unknown fields", async () => {
    const { call } = await setup();
    const response = await call({ method: "POST", path: "/aws/storage/acc/my-bucket", body: { filename: "a.png", type: "image/png" } });
    expect(response.status).toBe(400);
    expect(response.json.issue[0].diagnostics).toMatch(/unknown field: "type"; only filename, content-type, content-md5, checksum-sha256, content-length, no-overwrite are accepted/);
  });
});

describe("presigned URLs", () => {
  async function withAccount(extra: Record<string, unknown> = {}, env: Record<string, string> = {}) {
    const context = appRequests(env);
    const response = await context.json("PUT", "/AwsAccount/acc", { ...account, ...extra });
    expect(response.status).toBe(201);
    return context;
  }

  const urlOf = async (response: Response) => {
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    return new URL((await response.json()).url);
  };

  it("signs PUT for POST, GET and DELETE for the key in the path, like an independent signer", async () => {
    const { call } = await withAccount();
    const reference = createPresigner(webCryptoSha256());
    const cases = [
      ["PUT", await call("POST", "/aws/storage/acc/my-bucket", { body: "filename: documents/report.pdf", type: "text/yaml" })],
      ["GET", await call("GET", "/aws/storage/acc/my-bucket/documents/report.pdf")],
      ["DELETE", await call("DELETE", "/aws/storage/acc/my-bucket/documents/report.pdf")],
    ] as const;
    for (const [method, response] of cases) {
      const url = await urlOf(response);
      const expected = await reference.presign({
        method,
        protocol: "https:",
        host: "my-bucket.s3.us-east-1.amazonaws.com",
        path: "/documents/report.pdf",
        region: "us-east-1",
        credentials: { accessKeyId: account["access-key-id"], secretAccessKey: SECRET },
        expiresIn: 86400,
        date: new Date(NOW),
      });
      expect(url.href).toBe(expected);
    }
  });

  it("builds AWS virtual-hosted, AWS path-style and custom-host URLs", async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{}, "my-bucket", "https://my-bucket.s3.us-east-1.amazonaws.com/k"],
      [{ "path-style": true }, "my-bucket", "https://s3.us-east-1.amazonaws.com/my-bucket/k"],
      [{}, "my.dotted.bucket", "https://s3.us-east-1.amazonaws.com/my.dotted.bucket/k"],
      [{ host: "127.0.0.1:9000", "path-style": true, "use-ssl": false }, "my-bucket", "http://127.0.0.1:9000/my-bucket/k"],
      [{ host: "minio.local:9443" }, "my-bucket", "https://my-bucket.minio.local:9443/k"],
      [{ host: "minio.local:443", "path-style": true }, "b-1", "https://minio.local/b-1/k"],
      [{ host: "minio.local:80", "use-ssl": false }, "b-1", "http://b-1.minio.local/k"],
      [{ host: "[::1]:9000", "path-style": true, "use-ssl": false }, "b-1", "http://[::1]:9000/b-1/k"],
    ];
    for (const [extra, bucket, prefix] of cases) {
      const { call } = await withAccount(extra);
      const response = await call("GET", `/aws/storage/acc/${bucket}/k`);
      const { url } = await response.json();
      expect(url.slice(0, url.indexOf("?"))).toBe(prefix);
    }
  });

  it("takes the key from the path: each segment decoded, '+' kept, empty segments kept", async () => {
    const { call } = await withAccount();
    const cases: [string, string][] = [
      ["a%20b/c+d", "/a%20b/c%2Bd"],
      ["a//b/", "/a//b/"],
      ["caf%C3%A9/%F0%9F%93%84.pdf", "/caf%C3%A9/%F0%9F%93%84.pdf"],
      ["x%2Fy", "/x/y"],
      ["100%25", "/100%25"],
      ["%21%27%28%29%2A", "/%21%27%28%29%2A"],
      ["a%3Fb%23c", "/a%3Fb%23c"],
    ];
    for (const [path, signedPath] of cases) {
      const url = await urlOf(await call("GET", `/aws/storage/acc/bucket/${path}`));
      expect(url.pathname).toBe(signedPath);
    }
  });

  it("gives the same URL for a key sent in the body and in the path", async () => {
    const { call, json } = await withAccount();
    const key = "dir/ünï cödé+100%/[x]&=;,$@#?.txt";
    const put = await urlOf(await json("POST", "/aws/storage/acc/bucket", { filename: key }));
    const encoded = key.split("/").map(encodeURIComponent).join("/");
    const get = await urlOf(await call("GET", `/aws/storage/acc/bucket/${encoded}`));
    expect(put.pathname).toBe(get.pathname);
    expect(put.searchParams.get("X-Amz-Signature")).not.toBe(get.searchParams.get("X-Amz-Signature"));
  });

  it("applies expiration: default 86400, any of 1..604800", async () => {
    const { call } = await withAccount();
    expect((await urlOf(await call("GET", "/aws/storage/acc/bucket/k"))).searchParams.get("X-Amz-Expires")).toBe("86400");
    for (const value of ["1", "3600", "604800", "0042"]) {
      const url = await urlOf(await call("GET", `/aws/storage/acc/bucket/k?expiration=${value}`));
      expect(url.searchParams.get("X-Amz-Expires")).toBe(String(Number(value)));
    }
  });

  it.each(["", "0", "604801", "1e3", "1.5", "-5", " 5", "0x10", "99999999999999999999", "abc", "1&expiration=2"])(
    "refuses expiration=%s with 400 naming the range",
    async (value) => {
      const { call } = await withAccount();
      await expectOutcome(await call("GET", `/aws/storage/acc/bucket/k?expiration=${encodeURIComponent(value).replace("%26", "&").replace("%3D", "=")}`), 400, /from 1 to 604800/);
    },
  );

  it.each([
    ["ab", /bucket name/],
    ["x".repeat(64), /bucket name/],
    ["My-Bucket", /bucket name/],
    ["bucket_", /bucket name/],
    ["-bucket", /bucket name/],
    ["a..b", /adjacent periods/],
    ["192.168.1.1", /IP address/],
    ["xn--bucket", /reserves/],
    ["bucket-s3alias", /reserves/],
    ["sthree-x", /reserves/],
  ])("refuses the bucket %s with 400", async (bucket, pattern) => {
    const { call, json } = await withAccount();
    await expectOutcome(await call("GET", `/aws/storage/acc/${bucket}/k`), 400, pattern);
    await expectOutcome(await json("POST", `/aws/storage/acc/${bucket}`, { filename: "k" }), 400, pattern);
  });

  it.each([
    ["an empty key", "", /empty/],
    ["a dot segment", "a/./b", /'\.' or '\.\.'/],
    ["a dot-dot segment", "../b", /'\.' or '\.\.'/],
    ["a lone dot", ".", /'\.' or '\.\.'/],
    ["a NUL", "a\u0000b", /control characters/],
    ["a newline", "a\nb", /control characters/],
    ["DEL", "a\u007fb", /control characters/],
    ["a lone surrogate", "a\ud800b", /not valid Unicode/],
    ["1025 bytes", "é".repeat(512) + "x", /longer than 1024/],
    ["a number", 42, /filename must be a string/],
  ])("refuses %s as filename with 400", async (_, filename, pattern) => {
    const { json } = await withAccount();
    await expectOutcome(await json("POST", "/aws/storage/acc/bucket", { filename }), 400, pattern);
  });

  it("accepts a key of exactly 1024 bytes", async () => {
    const { json } = await withAccount();
    const key = "é".repeat(511) + "xy";
    expect(new TextEncoder().encode(key).length).toBe(1024);
    await urlOf(await json("POST", "/aws/storage/acc/bucket", { filename: key }));
  });

  it.each([
    ["an empty key", "/aws/storage/acc/bucket/", /empty/],
    ["dot segments hidden behind %2F", "/aws/storage/acc/bucket/a%2F..%2Fb", /'\.' or '\.\.'/],
    ["an encoded control character", "/aws/storage/acc/bucket/a%0Ab", /control/],
    ["broken percent-encoding", "/aws/storage/acc/bucket/a%E2%28", /invalid percent-encoding/],
    ["a truncated escape", "/aws/storage/acc/bucket/a%2", /invalid percent-encoding/],
    ["a bad account id", "/aws/storage/a_b/bucket/k", /account id must be/],
  ])("refuses %s in the path with 400", async (_, path, pattern) => {
    const { call } = await withAccount();
    await expectOutcome(await call("GET", path), 400, pattern);
    await expectOutcome(await call("DELETE", path), 400, pattern);
  });

  it.each([
    ["no filename", {}, /filename is required/],
    ["another field", { filename: "a", bucket: "b" }, /unknown field: "bucket"/],
    ["a list", ["a"], /body must be an object/],
  ])("refuses an upload body with %s", async (_, body, pattern) => {
    const { json } = await withAccount();
    await expectOutcome(await json("POST", "/aws/storage/acc/bucket", body), 400, pattern);
  });

  it("answers 404 for an unknown account, after checking the input", async () => {
    const { call, json } = appRequests();
    await expectOutcome(await call("GET", "/aws/storage/nobody/bucket/k"), 404, /AwsAccount\/nobody not found/);
    await expectOutcome(await json("POST", "/aws/storage/nobody/bucket", { filename: "k" }), 404, /not found/);
    await expectOutcome(await call("GET", "/aws/storage/nobody/bucket/k?expiration=0"), 400, /expiration/);
  });

  it("answers 405 for other methods on storage paths", async () => {
    const { call } = await withAccount();
    const put = await call("PUT", "/aws/storage/acc/bucket/k");
    await expectOutcome(put, 405, /PUT is not allowed/);
    expect(put.headers.get("allow")).toBe("GET, DELETE");
    const get = await call("GET", "/aws/storage/acc/bucket");
    await expectOutcome(get, 405, /object key/);
    expect(get.headers.get("allow")).toBe("POST");
  });

  it("uses the environment's credentials, with session token, for an account without keys", async () => {
    const env = { AWS_ACCESS_KEY_ID: "ASIAENVKEY", AWS_SECRET_ACCESS_KEY: "env-secret", AWS_SESSION_TOKEN: "tok+/=en" };
    const { call, json } = appRequests(env);
    await json("PUT", "/AwsAccount/default", { region: "eu-central-1" });
    const url = await urlOf(await call("GET", "/aws/storage/default/bucket/k"));
    expect(url.searchParams.get("X-Amz-Credential")).toBe("ASIAENVKEY/20260102/eu-central-1/s3/aws4_request");
    expect(url.searchParams.get("X-Amz-Security-Token")).toBe("tok+/=en");
    expect(url.search).toContain("X-Amz-Security-Token=tok%2B%2F%3Den");
  });

  it("answers 503 naming the source tried when no credentials can be had", async () => {
    const { call, json } = appRequests({ AWS_ACCESS_KEY_ID: "only-the-id" });
    await json("PUT", "/AwsAccount/default", { region: "eu-central-1" });
    const body = await expectOutcome(await call("GET", "/aws/storage/default/bucket/k"), 503, /environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    expect(body.issue[0].code).toBe("transient");
  });

  it("logs one line per request without query strings or secrets", async () => {
    const { call, json, logs } = await withAccount();
    const response = await json("POST", "/aws/storage/acc/bucket?expiration=60", { filename: "secret-plans.txt" });
    const { url } = await response.json();
    await call("GET", "/aws/storage/acc/bucket/k?expiration=1");
    expect(logs.filter((l) => l.method).map((l) => [l.method, l.path, l.status])).toEqual([
      ["PUT", "/AwsAccount/acc", 201],
      ["POST", "/aws/storage/acc/bucket", 200],
      ["GET", "/aws/storage/acc/bucket/k", 200],
    ]);
    const text = JSON.stringify(logs);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(new URL(url).searchParams.get("X-Amz-Signature"));
    expect(text).not.toContain("expiration");
  });
});

describe("typos are refused, not ignored", () => {
  it.each([
    ["/aws/storage/acc/b-1/k?Expiration=10", /unknown query parameter "Expiration": this route takes expiration, filename, disposition, content-type, redirect, method/],
    ["/aws/storage/acc/b-1/k?expires=10", /unknown query parameter "expires"/],
    ["/aws/storage/acc/b-1/k?expire=60", /unknown query parameter "expire"/],
    ["/aws/storage/acc/b-1/k?file-name=x.pdf", /unknown query parameter "file-name"/],
    ["/AwsAccount/acc?_format=json", /unknown query parameter "_format": this route takes none/],
    ["/Client?x=1", /this route takes none/],
  ])("GET %s answers 400", async (path, pattern) => {
    const { call } = createTestApp();
    await call({ method: "PUT", path: "/AwsAccount/acc", body: { region: "us-east-1", ...KEYS } });
    const response = await call({ method: "GET", path });
    expect(response.status).toBe(400);
    expect(diagnostics(response)).toMatch(pattern);
  });

  it("refuses them on uploads, deletes, operations and $verify too, and takes the right ones", async () => {
    const { call } = createTestApp();
    await call({ method: "PUT", path: "/AwsAccount/acc", body: { region: "us-east-1", ...KEYS } });
    expect((await call({ method: "POST", path: "/aws/storage/acc/b-1?expires=10", body: { filename: "k" } })).status).toBe(400);
    expect((await call({ method: "DELETE", path: "/aws/storage/acc/b-1/k?expires=10" })).status).toBe(400);
    expect((await call({ method: "POST", path: "/aws/storage/acc/b-1/$post-policy?max-size=5", body: { filename: "k" } })).status).toBe(400);
    expect(diagnostics(await call({ method: "POST", path: "/AwsAccount/acc/$verify?bucket=b-1&x=1" }))).toMatch(/this route takes bucket/);
    expect((await call({ method: "POST", path: "/aws/storage/acc/b-1?expiration=10", body: { filename: "k" } })).status).toBe(200);
    const url = new URL((await call({ method: "GET", path: "/aws/storage/acc/b-1/k?expiration=10&method=head" })).json.url);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("10");
  });

  it("takes method in any case, and disposition=inline with or without a filename", async () => {
    const { call } = createTestApp();
    await call({ method: "PUT", path: "/AwsAccount/acc", body: { region: "us-east-1", ...KEYS } });
    const head = await call({ method: "GET", path: "/aws/storage/acc/b-1/k?method=head&redirect=true" });
    expect(head.status).toBe(302);
    const inline = new URL((await call({ method: "GET", path: "/aws/storage/acc/b-1/k?disposition=inline" })).json.url);
    expect(inline.searchParams.get("response-content-disposition")).toBe("inline");
    const named = new URL((await call({ method: "GET", path: "/aws/storage/acc/b-1/k?disposition=inline&filename=a%20b.pdf" })).json.url);
    expect(named.searchParams.get("response-content-disposition")).toBe(`inline; filename="a b.pdf"; filename*=UTF-8''a%20b.pdf`);
    const attached = new URL((await call({ method: "GET", path: "/aws/storage/acc/b-1/k?filename=a.pdf" })).json.url);
    expect(attached.searchParams.get("response-content-disposition")).toMatch(/^attachment; /);
  });

  it("refuses a key with a leading slash, and says to quote a YAML number", async () => {
    const { call } = createTestApp();
    await call({ method: "PUT", path: "/AwsAccount/acc", body: { region: "us-east-1", ...KEYS } });
    const slash = await call({ method: "POST", path: "/aws/storage/acc/b-1", body: { filename: "/abs/path.txt" } });
    expect(slash.status).toBe(400);
    expect(diagnostics(slash)).toMatch(/must not start with '\/'.*"abs\/path.txt"/);
    const number = await call({ method: "POST", path: "/aws/storage/acc/b-1", body: "filename: 2024", headers: { "content-type": "text/yaml" } });
    expect(number.status).toBe(400);
    expect(diagnostics(number)).toBe('filename must be a string (in YAML, quote it: filename: "2024")');
  });

  it("refuses {client} not followed by '/', which would let app1 into users/app10/", async () => {
    const { call } = createTestApp();
    for (const prefix of ["users/{client}", "users/{client}-files/", "{client}"]) {
      const response = await call({ method: "PUT", path: "/Client/app1", body: { policy: { operations: ["download"], prefixes: [prefix] } } });
      expect(response.status, prefix).toBe(400);
      expect(diagnostics(response)).toMatch(/\{client\} must be followed by '\/'/);
    }
    expect((await call({ method: "PUT", path: "/Client/app1", body: { policy: { operations: ["download"], prefixes: ["users/{client}/", "{client}/x/"] } } })).status).toBe(201);
  });
});
