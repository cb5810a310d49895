// Issue 6, in process: download filename and type, redirect, HEAD URLs, upload Content-Type pinning; every URL
// checked against @smithy/signature-v4 (headers included), every new parameter validated.
import { describe, expect, it } from "vitest";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import type { AwsAccount } from "../../src/account.ts";
import { createApp, type LogEntry } from "../../src/app.ts";
import type { Client } from "../../src/clients.ts";
import { fromEnv } from "../../src/credentials/env.ts";
import { nodeSha256 } from "../../src/runtime/node-crypto.ts";
import { createPresigner, webCryptoSha256, type PresignRequest } from "../../src/signer.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { contentDisposition } from "../../src/validate.ts";
import { testSealer } from "../sealer.ts";
import { signedBy } from "../verify-url.ts";

const TOKEN = "test-admin-token-0123456789abcdef";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
const CREDS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: SECRET };

async function setup() {
  const logs: LogEntry[] = [];
  const app = createApp({
    store: memoryStore<AwsAccount>(),
    clients: memoryStore<Client>(),
    sealer: testSealer,
    credentials: fromEnv({}),
    presigner: createPresigner(nodeSha256),
    config: { adminToken: TOKEN },
    now: () => NOW,
    log: (entry) => logs.push(entry),
  });
  const call = async (method: string, path: string, body?: unknown, auth = `Bearer ${TOKEN}`) => {
    const response = await app.request(path, {
      method,
      redirect: "manual",
      headers: { authorization: auth, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
  };
  const created = await call("PUT", "/AwsAccount/acc", { region: "us-east-1", "access-key-id": CREDS.accessKeyId, "secret-access-key": SECRET });
  expect(created.status).toBe(201);
  return { app, logs, call };
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
    const response = await call("GET", `${base}?filename=${encodeURIComponent("Résumé 2024.pdf")}&content-type=${encodeURIComponent("application/pdf; charset=binary")}`);
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const url = new URL(response.json().url);
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
    const json = await call("GET", `${base}?filename=a.pdf`);
    const redirected = await call("GET", `${base}?filename=a.pdf&redirect=true`);
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get("location")).toBe(json.json().url);
    expect(redirected.headers.get("cache-control")).toBe("no-store");
    expect((await call("GET", `${base}?redirect=false`)).status).toBe(200);
    expect(logs.filter((entry) => entry.audit).at(-2)).toMatchObject({ redirect: true });
  });

  it("signs HEAD URLs with method=HEAD", async () => {
    const { call } = await setup();
    const response = await call("GET", `${base}?method=HEAD&expiration=60`);
    expect(response.status).toBe(200);
    const url = response.json().url;
    expect(await signedBy(url, "HEAD", CREDS)).toBe(true);
    expect(await signedBy(url, "GET", CREDS)).toBe(false);
    const redirect = await call("GET", `${base}?method=HEAD&redirect=true`);
    expect(await signedBy(redirect.headers.get("location")!, "HEAD", CREDS)).toBe(true);
    // curl -I (a HEAD to signpost) gets the same 302, so it follows with HEAD
    const head = await call("HEAD", `${base}?method=HEAD&redirect=true`);
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
    const response = await call("GET", `${base}?${query}`);
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ resourceType: "OperationOutcome", issue: [{ code: "invalid", diagnostics: expect.stringMatching(message) }] });
  });

  it("needs the download grant for GET and HEAD URLs, redirect or not", async () => {
    const { call } = await setup();
    const client = await call("PUT", "/Client/uploader", { policy: { operations: ["upload"] } });
    const auth = `Bearer ${client.json().secret}`;
    for (const query of ["", "?method=HEAD", "?redirect=true", "?method=HEAD&redirect=true"]) {
      const response = await call("GET", `${base}${query}`, undefined, auth);
      expect(response.status).toBe(403);
      expect(response.json().resourceType).toBe("OperationOutcome");
    }
    const reader = await call("PUT", "/Client/reader", { policy: { operations: ["download"] } });
    expect((await call("GET", `${base}?method=HEAD`, undefined, `Bearer ${reader.json().secret}`)).status).toBe(200);
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
    const response = await call("POST", "/aws/storage/acc/my-bucket", { filename: "photos/cat.png", "content-type": "image/png" });
    expect(response.status, response.text).toBe(200);
    const url = new URL(response.json().url);
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("content-type;host");
    const request: PresignRequest = {
      method: "PUT", protocol: "https:", host: "my-bucket.s3.us-east-1.amazonaws.com", path: "/photos/cat.png",
      headers: { "content-type": "image/png" }, region: "us-east-1", credentials: CREDS, expiresIn: 86400, date: new Date(NOW),
    };
    expect(url.searchParams.get("X-Amz-Signature")).toBe(await smithyPresign(request));
    expect(logs.find((entry) => entry.action === "presign")).toMatchObject({ operation: "upload", "s3-method": "PUT", key: "photos/cat.png" });
    // without content-type: only host, as before
    const plain = await call("POST", "/aws/storage/acc/my-bucket", { filename: "photos/cat.png" });
    expect(new URL(plain.json().url).searchParams.get("X-Amz-SignedHeaders")).toBe("host");
  });

  it.each([["text"], [""], [42], [["image/png"]], ["image/png\r\nx: y"], [`image/${"x".repeat(260)}`]])("refuses content-type %j", async (type) => {
    const { call } = await setup();
    const response = await call("POST", "/aws/storage/acc/my-bucket", { filename: "a.png", "content-type": type });
    expect(response.status).toBe(400);
    expect(response.json().issue[0].diagnostics).toMatch(/content-type must be a media type/);
  });

  it("still refuses unknown fields", async () => {
    const { call } = await setup();
    const response = await call("POST", "/aws/storage/acc/my-bucket", { filename: "a.png", type: "image/png" });
    expect(response.status).toBe(400);
    expect(response.json().issue[0].diagnostics).toMatch(/unknown field: "type"; only filename, content-type are accepted/);
  });
});
