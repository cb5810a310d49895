// Cross-checks src/aws/signer.ts against independent SigV4 implementations, byte for byte:
//   - @smithy/signature-v4 (what the AWS SDK uses), with @smithy/hash-node and with @aws-crypto/sha256-js;
//   - aws4fetch (Web Crypto, its own canonicalisation code);
//   - the presigned GET example from the S3 documentation.
// Both of our hash back ends are checked: Web Crypto (webCryptoSha256) and node:crypto (nodeSha256).
import { describe, expect, it } from "vitest";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { Sha256 } from "@aws-crypto/sha256-js";
import { AwsClient } from "aws4fetch";
import {
  createPresigner,
  encodeRfc3986,
  webCryptoSha256,
  type Credentials,
  type PresignRequest,
  type Sha256 as Sha256Impl,
} from "../../../src/aws/signer.ts";
import { midstateSha256, nodeCryptoSha256, nodeSha256 } from "../../../src/runtime/node-crypto.ts";

// ---------------------------------------------------------------------------------------------
// Reference helpers (deliberately not sharing code with src/aws/signer.ts)

const utf8 = new TextEncoder();

/** RFC 3986 percent-encoding done byte by byte: only unreserved characters stay literal. */
function rfc3986(value: string): string {
  let out = "";
  for (const byte of utf8.encode(value)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** SigV4 timestamp, computed without src/aws/signer.ts's amzDate. */
function isoBasic(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return (
    `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}` +
    `T${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}Z`
  );
}

/**
 * Rebuilds a presigned URL the way ours is laid out: every parameter but the signature RFC 3986-encoded and
 * sorted by encoded name (code-unit order, as the SigV4 canonical query is), then `X-Amz-Signature` last.
 */
function assembleUrl(protocol: string, host: string, path: string, params: Record<string, string>): string {
  const signature = params["X-Amz-Signature"];
  expect(signature, "reference produced no signature").toMatch(/^[0-9a-f]{64}$/);
  const pairs = Object.entries(params)
    .filter(([name]) => name !== "X-Amz-Signature")
    .map(([name, value]) => [rfc3986(name), rfc3986(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${protocol}//${host}${path}?${pairs.map(([n, v]) => `${n}=${v}`).join("&")}&X-Amz-Signature=${signature}`;
}

type SmithyHash = "node" | "sha256-js";

async function smithyPresign(request: PresignRequest, hash: SmithyHash): Promise<string> {
  const { accessKeyId, secretAccessKey, sessionToken } = request.credentials;
  const signer = new SignatureV4({
    service: request.service ?? "s3",
    region: request.region,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    sha256: hash === "node" ? Hash.bind(null, "sha256") : Sha256,
    uriEscapePath: false,
  });
  const colon = request.host.lastIndexOf(":");
  const hasPort = colon > 0 && /^\d+$/.test(request.host.slice(colon + 1));
  const presigned = await signer.presign(
    {
      method: request.method,
      protocol: request.protocol,
      hostname: hasPort ? request.host.slice(0, colon) : request.host,
      ...(hasPort ? { port: Number(request.host.slice(colon + 1)) } : {}),
      path: request.path,
      headers: { ...request.headers, host: request.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      query: { ...request.query },
    } as any,
    {
      signingDate: request.date,
      expiresIn: request.expiresIn,
      // Signed headers stay headers, as ours do (x-amz-checksum-sha256 in the query would not be checked by AWS).
      unhoistableHeaders: new Set(["x-amz-content-sha256", ...Object.keys(request.headers ?? {})]),
      unsignableHeaders: new Set(["x-amz-content-sha256"]),
    },
  );
  expect(presigned.path).toBe(request.path);
  return assembleUrl(request.protocol, request.host, presigned.path, presigned.query as Record<string, string>);
}

async function aws4fetchPresign(request: PresignRequest): Promise<string> {
  const { accessKeyId, secretAccessKey, sessionToken } = request.credentials;
  const client = new AwsClient({
    accessKeyId,
    secretAccessKey,
    ...(sessionToken ? { sessionToken } : {}),
    service: request.service ?? "s3",
    region: request.region,
  });
  // aws4fetch decodes and re-encodes the S3 path ('+' would become a space): give it the encoded path.
  // X-Amz-Expires travels in the URL's query; the session token is added (and signed) by aws4fetch.
  const input = new URL(`${request.protocol}//${request.host}${request.path}`);
  expect(input.pathname, "URL parsing changed the path").toBe(request.path);
  input.searchParams.set("X-Amz-Expires", String(request.expiresIn));
  for (const [name, value] of Object.entries(request.query ?? {})) input.searchParams.set(name, value);
  const signed = await client.sign(input, {
    method: request.method,
    ...(request.headers ? { headers: request.headers } : {}),
    // allHeaders: aws4fetch leaves content-type and content-length unsigned otherwise.
    aws: { signQuery: true, datetime: isoBasic(request.date), allHeaders: true },
  });
  const url = new URL(signed.url);
  expect(url.host).toBe(request.host);
  expect(url.pathname).toBe(request.path);
  const params = Object.fromEntries(url.searchParams);
  expect(Object.keys(params).length, "duplicate query parameters").toBe([...url.searchParams.keys()].length);
  return assembleUrl(url.protocol, url.host, url.pathname, params);
}

const webPresigner = () => createPresigner(webCryptoSha256());
const nodePresigner = () => createPresigner(nodeSha256);
const oursWeb = webPresigner();
const oursNode = nodePresigner();
// Runtimes without the one-shot crypto.hash (Node before 20.12, Deno before 2.1.8) take createHash instead.
const oursNodeCreateHash = createPresigner(nodeCryptoSha256(null));
// Deno's: the HMAC in JavaScript from the pads' midstates.
const oursMidstates = createPresigner(midstateSha256);

/** Ours (both back ends) and all three references must agree byte for byte; returns our URL. */
async function expectAllAgree(request: PresignRequest, label = describeRequest(request)): Promise<string> {
  const web = await oursWeb.presign(request);
  const node = await oursNode.presign(request);
  expect(node, `node path vs web crypto path: ${label}`).toBe(web);
  expect(await oursNodeCreateHash.presign(request), `node path with createHash vs web crypto path: ${label}`).toBe(web);
  expect(await oursMidstates.presign(request), `midstate HMAC (Deno) vs web crypto path: ${label}`).toBe(web);
  expect(await smithyPresign(request, "node"), `smithy + hash-node: ${label}`).toBe(web);
  expect(await smithyPresign(request, "sha256-js"), `smithy + sha256-js: ${label}`).toBe(web);
  expect(await aws4fetchPresign(request), `aws4fetch: ${label}`).toBe(web);
  return web;
}

function describeRequest(r: PresignRequest): string {
  return `${r.method} ${r.protocol}//${r.host}${r.path} region=${r.region} date=${r.date.toISOString()} expires=${r.expiresIn} token=${Boolean(r.credentials.sessionToken)} query=${JSON.stringify(r.query ?? {})}`;
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const CREDS: Credentials = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const TEMP_CREDS: Credentials = {
  accessKeyId: "ASIAQNZGKIQYEXAMPLE1",
  secretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
  // Session tokens are base64: '+', '/' and '=' must be percent-encoded in the URL and in the canonical query.
  sessionToken: "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+abc/def+ghi==",
};

const DATES = [
  new Date("2026-01-02T03:04:05Z"),
  new Date("2024-02-29T23:59:59Z"), // leap day, last second of the day
  new Date("2028-02-29T00:00:00Z"), // leap day, first second
  new Date("2025-12-31T23:59:59.999Z"), // milliseconds are dropped, not rounded
];
const METHODS = ["PUT", "GET", "DELETE", "HEAD"];
const EXPIRIES = [1, 3600, 604800];

const EXTRA_QUERY: Record<string, string> = {
  "response-content-disposition": "attachment; filename*=UTF-8''na%C3%AFve.txt",
  "response-content-type": "text/plain; charset=utf-8",
  "response-cache-control": "no-cache, max-age=0",
  versionId: "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo",
};

interface Target {
  name: string;
  protocol: "http:" | "https:";
  host: string;
  region: string;
  /** Path prefix: "" for virtual-hosted style, "/bucket" for path style. */
  prefix: string;
}

const TARGETS: Target[] = [
  { name: "aws virtual-hosted", protocol: "https:", host: "examplebucket.s3.us-east-1.amazonaws.com", region: "us-east-1", prefix: "" },
  { name: "aws path-style", protocol: "https:", host: "s3.eu-central-1.amazonaws.com", region: "eu-central-1", prefix: "/my-bucket" },
  { name: "aws virtual-hosted over http", protocol: "http:", host: "media.s3.ap-southeast-2.amazonaws.com", region: "ap-southeast-2", prefix: "" },
  { name: "aws legacy global endpoint", protocol: "https:", host: "examplebucket.s3.amazonaws.com", region: "us-east-1", prefix: "" },
  { name: "minio on ip:port", protocol: "http:", host: "127.0.0.1:9000", region: "us-east-1", prefix: "/bucket" },
  { name: "minio on name:port", protocol: "https:", host: "minio.local:9443", region: "eu-central-1", prefix: "/bucket" },
  { name: "garage", protocol: "http:", host: "garage.internal:3900", region: "garage", prefix: "/attachments" },
];

/** Exactly 1024 UTF-8 bytes (S3's maximum key length), mixing 1-, 2-, 3- and 4-byte characters. */
const KEY_1024 = (() => {
  let key = "long/";
  for (const ch of ["ü", "€", "𝄞"]) key += ch.repeat(60); // 120 + 180 + 240 bytes
  key += "x".repeat(1024 - utf8.encode(key).length);
  return key;
})();

const SPECIALS = "~!*'()[]&=;,$@#?";

const KEYS: Record<string, string> = {
  plain: "report.pdf",
  "nested plain": "2026/01/02/report.pdf",
  space: "my file.txt",
  "leading/trailing spaces": " padded name .txt",
  plus: "a+b=c.txt",
  "plus and space": "a + b.txt",
  percent: "100%.txt",
  "percent that looks encoded": "already%20encoded%2Fnot.txt",
  "percent with bad hex": "bad%zz%",
  ...Object.fromEntries([...SPECIALS].map((c) => [`char ${c}`, `x${c}y`])),
  "all specials": `all${SPECIALS}.bin`,
  "specials as segments": [...SPECIALS].join("/"),
  "unicode NFC": "café/menu.txt".normalize("NFC"),
  "unicode NFD": "café/menu.txt".normalize("NFD"),
  emoji: "📦/🚀 launch 🎉.png",
  chinese: "文件夹/季度报告 2026.pdf",
  "mixed scripts": "Ünïcødé/日本語/Ελληνικά/العربية.txt",
  "control characters": "tab\there/line\nbreak.txt",
  deep: "abcdefghijklmnopqrstuvwxyz".split("").join("/"),
  "empty segment": "a//b",
  "many empty segments": "a///b////c",
  "leading slash": "/leading",
  "trailing slash": "folder/sub/",
  "1024 bytes": KEY_1024,
};

/** Our exported encoder applied per segment, as callers do. */
function encodeKey(key: string): string {
  return key.split("/").map(encodeRfc3986).join("/");
}

function request(target: Target, key: string, extra: Partial<PresignRequest> = {}): PresignRequest {
  return {
    method: "GET",
    protocol: target.protocol,
    host: target.host,
    path: `${target.prefix}/${encodeKey(key)}`,
    region: target.region,
    credentials: CREDS,
    expiresIn: 3600,
    date: DATES[0]!,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------

describe("fixtures", () => {
  it("the long key is exactly 1024 UTF-8 bytes", () => {
    expect(utf8.encode(KEY_1024).length).toBe(1024);
  });

  it("encodeRfc3986 equals a byte-wise RFC 3986 encoder on every key segment", () => {
    for (const key of Object.values(KEYS)) {
      for (const segment of key.split("/")) expect(encodeRfc3986(segment), JSON.stringify(segment)).toBe(rfc3986(segment));
    }
    expect(encodeRfc3986(SPECIALS)).toBe("~%21%2A%27%28%29%5B%5D%26%3D%3B%2C%24%40%23%3F");
  });
});

describe("AWS documentation vector (S3 presigned GET example)", () => {
  // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
  const expected =
    "https://examplebucket.s3.amazonaws.com/test.txt" +
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
  const docRequest: PresignRequest = {
    method: "GET",
    protocol: "https:",
    host: "examplebucket.s3.amazonaws.com",
    path: "/test.txt",
    region: "us-east-1",
    credentials: CREDS,
    expiresIn: 86400,
    date: new Date("2013-05-24T00:00:00Z"),
  };

  it.each([
    ["web crypto", webPresigner],
    ["node:crypto", nodePresigner],
  ])("%s reproduces the documented URL", async (_name, make) => {
    expect(await make().presign(docRequest)).toBe(expected);
  });

  it("the references reproduce it too", async () => {
    expect(await expectAllAgree(docRequest)).toBe(expected);
  });
});

describe("key corpus x targets", () => {
  const keyNames = Object.keys(KEYS);
  it.each(keyNames.map((name, i) => [name, i] as const))("%s", { timeout: 30_000 }, async (name, i) => {
    for (const [j, target] of TARGETS.entries()) {
      const n = i + j;
      await expectAllAgree(
        request(target, KEYS[name]!, {
          method: METHODS[n % METHODS.length]!,
          expiresIn: EXPIRIES[(i + 2 * j) % EXPIRIES.length]!,
          date: DATES[n % DATES.length]!,
          credentials: n % 2 ? TEMP_CREDS : CREDS,
          ...(n % 3 === 0 ? { query: EXTRA_QUERY } : {}),
        }),
        `${target.name} / ${name}`,
      );
    }
  });

  it("NFC and NFD spellings of the same text are different keys with different URLs", async () => {
    const nfc = await expectAllAgree(request(TARGETS[0]!, KEYS["unicode NFC"]!));
    const nfd = await expectAllAgree(request(TARGETS[0]!, KEYS["unicode NFD"]!));
    expect(nfc).toContain("/caf%C3%A9/menu.txt?");
    expect(nfd).toContain("/cafe%CC%81/menu.txt?");
    expect(nfc).not.toBe(nfd);
  });

  it("'+' is signed as %2B and space as %20 (never '+')", async () => {
    const url = await expectAllAgree(request(TARGETS[0]!, "a + b.txt"));
    expect(url).toContain("/a%20%2B%20b.txt?");
  });
});

describe("parameter matrix", () => {
  // Every method x expiry x date x token x protocol x extra query, on two targets and an awkward key.
  const key = "dir/sub dir/naïve+file (1).txt";
  for (const target of [TARGETS[1]!, TARGETS[5]!]) {
    it(`${target.name}: methods, expiries, dates, session token, http/https, extra query`, { timeout: 60_000 }, async () => {
      let count = 0;
      for (const method of METHODS)
        for (const expiresIn of EXPIRIES)
          for (const date of DATES)
            for (const credentials of [CREDS, TEMP_CREDS])
              for (const protocol of ["https:", "http:"] as const)
                for (const query of [undefined, EXTRA_QUERY]) {
                  await expectAllAgree(
                    request({ ...target, protocol }, key, { method, expiresIn, date, credentials, ...(query ? { query } : {}) }),
                  );
                  count++;
                }
      expect(count).toBe(4 * 3 * 4 * 2 * 2 * 2);
    });
  }

  it("session token is signed and RFC 3986-encoded", async () => {
    const url = await expectAllAgree(request(TARGETS[0]!, "k", { credentials: TEMP_CREDS }));
    expect(url).toContain(`X-Amz-Security-Token=${rfc3986(TEMP_CREDS.sessionToken!)}&`);
    expect(url).toMatch(/X-Amz-Security-Token=[^&]*%2B[^&]*%2F[^&]*%3D%3D&/);
  });

  it("extra query parameters are encoded and sorted by encoded name", async () => {
    const url = await expectAllAgree(request(TARGETS[0]!, "k", { query: EXTRA_QUERY }));
    expect(url).toContain(
      "&response-cache-control=no-cache%2C%20max-age%3D0" +
        "&response-content-disposition=attachment%3B%20filename%2A%3DUTF-8%27%27na%25C3%25AFve.txt" +
        "&response-content-type=text%2Fplain%3B%20charset%3Dutf-8" +
        "&versionId=3%2FL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY%2BMTRCxf3vjVBH40Nr8X8gdRQBpUMLUo&X-Amz-Signature=",
    );
  });

  it("awkward parameter names: sort order is that of the encoded names (raw order would differ)", async () => {
    // Raw code-unit order: "a-b" < "a/" < "a~" < "ä"; encoded: "a%2F" < "a-b" < "a~" and "%C3%A4" first.
    const query = { "a-b": "1", "a/": "2", "a~": "3", ä: "4", A: "5", a: "", "x-id": "GetObject" };
    const url = await expectAllAgree(request(TARGETS[4]!, "k", { query }));
    expect(url).toContain("?%C3%A4=4&A=5&X-Amz-Algorithm=");
    expect(url).toContain("&a=&a%2F=2&a-b=1&a~=3&x-id=GetObject&X-Amz-Signature=");
  });

  it("dot segments are signed literally (no normalisation), like smithy with uriEscapePath: false", async () => {
    // aws4fetch is left out: URL parsing resolves dot segments before it signs.
    const r = request(TARGETS[0]!, "a/./b/../c/.");
    expect(r.path).toBe("/a/./b/../c/.");
    const ours = await oursNode.presign(r);
    expect(await oursWeb.presign(r)).toBe(ours);
    expect(await smithyPresign(r, "node")).toBe(ours);
    expect(await smithyPresign(r, "sha256-js")).toBe(ours);
  });
});

describe("signed headers: type, digest, size, If-None-Match, checksum (upload pins)", () => {
  const SETS: Record<string, string>[] = [
    { "content-type": "image/png" },
    { "content-md5": "XUFAKrxLKna5cZ2REBfFkg==" },
    { "content-length": "0" },
    { "content-length": "5368709120" },
    { "if-none-match": "*" },
    { "x-amz-checksum-sha256": "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=" },
    {
      "content-type": "text/plain; charset=utf-8", "content-md5": "XUFAKrxLKna5cZ2REBfFkg==", "content-length": "5", "if-none-match": "*",
      "x-amz-checksum-sha256": "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
    },
  ];
  it(`${SETS.length} header sets x ${TARGETS.length} targets x temporary or not, against smithy (both hashes) and aws4fetch`, async () => {
    let n = 0;
    for (const headers of SETS) {
      for (const target of TARGETS) {
        const request: PresignRequest = {
          method: "PUT", protocol: target.protocol, host: target.host, path: `${target.prefix}/up/r%C3%A9sum%C3%A9.pdf`, region: target.region,
          credentials: n++ % 2 ? TEMP_CREDS : CREDS, expiresIn: 900, date: DATES[n % DATES.length]!, headers,
          ...(n % 3 === 0 ? { query: { partNumber: "2", uploadId: "2~abc/def+=" } } : {}),
        };
        const url = new URL(await expectAllAgree(request));
        expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe([...Object.keys(headers), "host"].sort().join(";"));
        expect(url.searchParams.has("x-amz-checksum-sha256")).toBe(false);
      }
    }
  });
});

describe("one URL after another at one signing time (the signer keeps the last fixed query)", () => {
  // Each request differs from the one before in one part of the fixed query only: a kept query that missed the
  // difference would sign the previous URL's parameters.
  const base = request(TARGETS[0]!, "kept/query.txt");
  const changes: [string, PresignRequest][] = [
    ["with a session token", { ...base, credentials: { ...CREDS, sessionToken: TEMP_CREDS.sessionToken! } }],
    ["with another session token", { ...base, credentials: { ...CREDS, sessionToken: `${TEMP_CREDS.sessionToken!}x` } }],
    ["other signed headers", { ...base, headers: { "content-type": "image/jpeg", "content-length": "10" } }],
    ["another lifetime", { ...base, expiresIn: 60 }],
    ["a signed header", { ...base, headers: { "content-type": "image/png" } }],
    ["another access key id, same secret", { ...base, credentials: { ...CREDS, accessKeyId: "AKIAI44QH8DHBEXAMPLE" } }],
    ["another region", { ...base, region: "eu-west-1" }],
    ["another service", { ...base, service: "s3-object-lambda" }],
    ["a second later", { ...base, date: new Date(base.date.getTime() + 1000) }],
  ];
  // base, change, base, change...: each change comes right after the request it differs from in that part alone.
  const sequence: [string, PresignRequest][] = [["base", base], ...changes.flatMap(([label, r]): [string, PresignRequest][] => [[label, r], [`base after ${label}`, base]])];
  for (const [name, backEnd] of [["node:crypto", nodePresigner], ["web crypto", webPresigner]] as const) {
    it(`${name}: every URL equals smithy's`, async () => {
      const presigner = backEnd();
      for (const [label, r] of sequence) expect(await presigner.presign(r), label).toBe(await smithyPresign(r, "node"));
    });
  }
});

describe("signing-key cache", () => {
  const secretA = "secretAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  const secretB = "secretBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
  // Same access key id for both: a rotated secret must not reuse the old signing key.
  const credsA: Credentials = { accessKeyId: "AKIASAMEKEYID0000000", secretAccessKey: secretA };
  const credsB: Credentials = { accessKeyId: "AKIASAMEKEYID0000000", secretAccessKey: secretB };

  for (const [name, make] of [
    ["web crypto", webPresigner],
    ["node:crypto", nodePresigner],
  ] as const) {
    describe(name, () => {
      it("same secret across days and regions: every signature matches smithy", async () => {
        const presigner = make();
        const steps: [Date, Target][] = [
          [DATES[0]!, TARGETS[0]!],
          [DATES[0]!, TARGETS[1]!], // same day, other region
          [DATES[1]!, TARGETS[0]!], // other day, first region
          [DATES[0]!, TARGETS[6]!], // custom region
          [DATES[0]!, TARGETS[0]!], // back to the first (cached) key
          [new Date(DATES[0]!.getTime() + 86_400_000), TARGETS[0]!], // next day
          [DATES[1]!, TARGETS[0]!],
        ];
        for (const [date, target] of steps) {
          const r = request(target, "cache/test.txt", { date, credentials: credsA });
          expect(await presigner.presign(r), describeRequest(r)).toBe(await smithyPresign(r, "node"));
        }
      });

      it("two secrets interleaved: each matches smithy, and they differ", async () => {
        const presigner = make();
        const seen = new Map<string, string>();
        for (const round of [0, 1, 2]) {
          for (const creds of [credsA, credsB, credsA, credsB]) {
            const r = request(TARGETS[round % 2]!, "cache/test.txt", { credentials: creds });
            const url = await presigner.presign(r);
            expect(url, describeRequest(r)).toBe(await smithyPresign(r, "node"));
            const id = `${round % 2}:${creds.secretAccessKey}`;
            if (seen.has(id)) expect(url).toBe(seen.get(id));
            seen.set(id, url);
          }
        }
        expect(seen.get(`0:${secretA}`)).not.toBe(seen.get(`0:${secretB}`));
      });

      it("would fail if the cache ignored the secret (same key id, day, region, service)", async () => {
        const presigner = make();
        const r = (creds: Credentials) => request(TARGETS[0]!, "k", { credentials: creds });
        const first = await presigner.presign(r(credsA)); // primes the cache with secret A's key
        const second = await presigner.presign(r(credsB)); // a secret-blind cache would reuse it
        expect(second).toBe(await make().presign(r(credsB))); // fresh presigner, empty cache
        expect(second).toBe(await smithyPresign(r(credsB), "node"));
        expect(second.replace(/X-Amz-Signature=.*/, "")).toBe(first.replace(/X-Amz-Signature=.*/, ""));
        expect(second).not.toBe(first);
      });

      it("stays correct past the cache size limit", { timeout: 30_000 }, async () => {
        const presigner = make();
        const regions = Array.from({ length: 300 }, (_, i) => `region-${i}`);
        for (const region of regions) await presigner.presign(request({ ...TARGETS[4]!, region }, "k"));
        for (const region of [regions[0]!, regions[255]!, regions[256]!, regions[299]!]) {
          const r = request({ ...TARGETS[4]!, region }, "k");
          expect(await presigner.presign(r)).toBe(await smithyPresign(r, "node"));
        }
      });

      it("concurrent first use of a new key gives correct, identical URLs", async () => {
        const presigner = make();
        const r = request(TARGETS[0]!, "concurrent.txt", { credentials: credsB, date: DATES[2]! });
        const urls = await Promise.all(Array.from({ length: 50 }, () => presigner.presign(r)));
        const expected = await smithyPresign(r, "node");
        for (const url of urls) expect(url).toBe(expected);
      });
    });
  }

  it("derives once per (secret, day, region, service) and reuses it", async () => {
    let derivations = 0;
    const counting: Sha256Impl<unknown> = {
      ...nodeSha256,
      hmac: (key, data) => {
        if (data === "aws4_request") derivations++;
        return nodeSha256.hmac(key as never, data);
      },
    } as Sha256Impl<unknown>;
    const presigner = createPresigner(counting);
    const sign = (creds: Credentials, target: Target, date: Date, service?: string) =>
      presigner.presign(request(target, "k", { credentials: creds, date, ...(service ? { service } : {}) }));

    await sign(credsA, TARGETS[0]!, DATES[0]!);
    await sign(credsA, TARGETS[0]!, new Date(DATES[0]!.getTime() + 3_600_000)); // same day
    expect(derivations).toBe(1);
    await sign(credsB, TARGETS[0]!, DATES[0]!); // other secret
    expect(derivations).toBe(2);
    await sign(credsA, TARGETS[1]!, DATES[0]!); // other region
    expect(derivations).toBe(3);
    await sign(credsA, TARGETS[0]!, DATES[1]!); // other day
    expect(derivations).toBe(4);
    await sign(credsA, TARGETS[0]!, DATES[0]!, "s3-object-lambda"); // other service
    expect(derivations).toBe(5);
    await sign(credsA, TARGETS[0]!, DATES[0]!);
    await sign(credsB, TARGETS[0]!, DATES[0]!);
    expect(derivations).toBe(5);
  });

  // A batch makes its URLs without waiting for each other: a new key must be derived once for all of them, and a
  // derivation that fails must not stay cached.
  for (const [name, base] of [["node:crypto", nodeSha256], ["web crypto", webCryptoSha256()]] as const) {
    it(`${name}: derives a new key once for many URLs asked for at once, and again after a failed derivation`, async () => {
      let derivations = 0;
      let failNext = false;
      const counting = {
        ...base,
        hmac: (key: never, data: string) => {
          if (data === "aws4_request") {
            derivations++;
            if (failNext) {
              failNext = false;
              throw new Error("derivation failed");
            }
          }
          return base.hmac(key, data);
        },
      } as Sha256Impl<unknown>;
      const presigner = createPresigner(counting);
      const requests = Array.from({ length: 100 }, (_, i) => request(TARGETS[0]!, `batch/${i}.jpg`, { credentials: credsA, date: DATES[2]! }));
      const urls = await Promise.all(requests.map((r) => presigner.presign(r)));
      expect(derivations).toBe(1);
      for (const i of [0, 57, 99]) expect(urls[i]).toBe(await smithyPresign(requests[i]!, "node"));
      // Once derived, the key itself is cached: node:crypto then answers at once, without a promise.
      if (name === "node:crypto") expect(typeof presigner.presign(requests[0]!)).toBe("string");

      failNext = true;
      const other = request(TARGETS[0]!, "k", { credentials: credsB, date: DATES[2]! });
      const failed = await Promise.allSettled([presigner.presign(other), presigner.presign(other)]);
      expect(failed.map((result) => result.status)).toEqual(["rejected", "rejected"]);
      expect(derivations).toBe(2);
      expect(await presigner.presign(other)).toBe(await smithyPresign(other, "node"));
      expect(derivations).toBe(3);
    });
  }
});
