// Issue 15, in a real browser: the published @uppy/core and @uppy/aws-s3 (5 and 6), bundled as a user bundles them,
// upload through signpost straight to S3 (RGW) from real Chromium. Uppy 6 with signRequest through $sign and Uppy 5
// with Companion's routes, each from a page on another site with a Bearer token; Uppy 6 with companionEndpoint from
// a page on signpost's own origin with an end user's cookie. What S3 stores is read back and compared byte for byte,
// and must sit in the caller's folder; a key outside it fails inside Uppy with signpost's message.
import { createHash } from "node:crypto";
import { AwsClient } from "aws4fetch";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { fileBytes, type TestFile, type UploadOutcome } from "../browser/bytes.ts";
import { launchChromium } from "../browser/chromium.ts";
import { bundlePage, type PageName, type PageServer, servePages } from "../browser/pages.ts";
import { TEST_ENCRYPTION_KEY } from "../sealer.ts";
import { startTokenIssuer, type TokenIssuer } from "../token-issuer.ts";
import "./s3-target.ts";
import { apiClient, type RunningService, startService, tempDataDir } from "./service.ts";

const s3 = inject("s3");
const TOKEN = "uppy-admin-token-0123456789abcdef";
const suffix = Date.now().toString(36);
const bucket = `sp-uppy-${suffix}`;
const rgw = new AwsClient({ accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, service: "s3", region: s3.region, retries: 0 });
const encodePath = (key: string) => key.split("/").map(encodeURIComponent).join("/");
const MiB = 1024 * 1024;
const SMALL: TestFile = { name: "photo 1.jpg", type: "image/jpeg", size: 300 * 1024, seed: 1 };
const BIG: TestFile = { name: "vidéo.mp4", type: "video/mp4", size: 12 * MiB, seed: 2 };
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

let service: RunningService;
let admin: ReturnType<typeof apiClient>;
let chromium: { browser: Browser; close: () => Promise<void> };
let otherSite: PageServer;
let sameSite: PageServer | undefined;
let issuer: TokenIssuer;
let clientSecret: string;
let readerSecret: string;
const [dataDir, removeDataDir] = tempDataDir("uppy");
const scripts: Partial<Record<PageName, string>> = {};

/** CORS on the bucket as the README says Uppy needs it: the pages' origins, and ETag and Location exposed. */
async function putBucketCors(origins: string[]) {
  const rule = (origin: string) =>
    `<CORSRule><AllowedOrigin>${origin}</AllowedOrigin>${["GET", "PUT", "POST", "DELETE", "HEAD"].map((m) => `<AllowedMethod>${m}</AllowedMethod>`).join("")}` +
    "<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><ExposeHeader>Location</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>";
  const body = `<CORSConfiguration>${origins.map(rule).join("")}</CORSConfiguration>`;
  const md5 = createHash("md5").update(body).digest("base64");
  const answer = await rgw.fetch(`${s3.endpoint}/${bucket}?cors`, { method: "PUT", body, headers: { "content-md5": md5, "content-type": "application/xml" } });
  expect(answer.status, await answer.text()).toBe(200);
}

/** Opens `url` and runs the page's upload with `options`. */
async function upload(url: string, options: Record<string, unknown>): Promise<{ outcome: UploadOutcome; page: Page }> {
  const page = await chromium.browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(String(error)));
  // The page's own complaints, for a failure's story (the refusals the tests expect load as failed resources: left out).
  page.on("console", (message) => {
    if ((message.type() === "error" || message.type() === "warn") && !message.text().startsWith("Failed to load resource")) console.log(`[page] ${message.text()}`);
  });
  page.on("requestfailed", (request) => console.log(`[page] failed: ${request.method()} ${request.url().slice(0, 120)} ${request.failure()?.errorText}`));
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => typeof (window as unknown as { upload?: unknown }).upload === "function", { timeout: 10_000 });
  const outcome = await page.evaluate((o) => (window as unknown as { upload(o: unknown): Promise<UploadOutcome> }).upload(o), options);
  expect(problems).toEqual([]);
  return { outcome, page };
}

/** What S3 holds at `key`: its bytes equal the file's, and it sits in `folder`. */
async function expectStored(key: string, file: TestFile, folder: string, parts?: number) {
  expect(key.startsWith(folder), `${key} in ${folder}`).toBe(true);
  const stored = await rgw.fetch(`${s3.endpoint}/${bucket}/${encodePath(key)}`);
  expect(stored.status, key).toBe(200);
  const bytes = new Uint8Array(await stored.arrayBuffer());
  expect(bytes.length).toBe(file.size);
  expect(sha256(bytes)).toBe(sha256(fileBytes(file.size, file.seed)));
  // A multipart object's ETag says how many parts S3 put together.
  if (parts) expect(stored.headers.get("etag")).toMatch(new RegExp(`-${parts}"$`));
  else expect(stored.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);
  return stored;
}

beforeAll(async () => {
  const started = Date.now();
  [chromium, scripts["uppy-5"], scripts["uppy-6"]] = await Promise.all([launchChromium(), bundlePage("uppy-5"), bundlePage("uppy-6")]);
  // Another site than signpost's (localhost is not 127.0.0.1): the cross-origin pages.
  otherSite = await servePages({ host: "localhost", scripts });
  service = await startService("node", { dataDir, env: { SIGNPOST_ADMIN_TOKEN: TOKEN, SIGNPOST_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, SIGNPOST_CORS_ORIGINS: otherSite.origin } });
  admin = apiClient(service.url, TOKEN);
  expect((await rgw.fetch(`${s3.endpoint}/${bucket}`, { method: "PUT" })).status).toBe(200);
  // The README's multi-tenant recipe where the server has a role to narrow (RGW acts on unsigned headers).
  const account = { region: s3.region, host: s3.host, "path-style": true, "use-ssl": s3.endpoint.startsWith("https:"), "access-key-id": s3.accessKeyId, "secret-access-key": s3.secretAccessKey, ...(s3.roleArn ? { "role-arn": s3.roleArn } : { "single-tenant": true }) };
  expect((await admin("PUT", "/AwsAccount/rgw", JSON.stringify(account), "application/json")).status).toBe(201);
  // And an account whose clients are trusted with its credentials (no narrowing needed, none done).
  expect((await admin("PUT", "/AwsAccount/trusting", JSON.stringify({ ...account, "role-arn": undefined, "single-tenant": true }), "application/json")).status).toBe(201);
  const client = async (id: string, operations: string[]) => {
    const created = await admin("PUT", `/Client/${id}`, JSON.stringify({ policy: { operations, accounts: ["rgw", "trusting"], buckets: [bucket], prefixes: ["apps/{client}/"] } }), "application/json");
    expect(created.status, created.text).toBe(201);
    return created.json().secret as string;
  };
  clientSecret = await client("uppy-app", ["upload"]);
  readerSecret = await client("uppy-reader", ["download"]);
  // End users whose token the app keeps in a cookie, for the page on signpost's own origin.
  issuer = await startTokenIssuer();
  await issuer.addKey("ES256");
  const introspector = { type: "jwt", jwt: { iss: issuer.url }, cookie: "signpost_token", policy: { operations: ["upload"], accounts: ["rgw"], buckets: [bucket], prefixes: ["users/{jwt.sub}/"] } };
  expect((await admin("PUT", "/TokenIntrospector/app", JSON.stringify(introspector), "application/json")).status).toBe(201);
  sameSite = await servePages({ host: "127.0.0.1", scripts: { "uppy-6": scripts["uppy-6"]! }, proxy: { path: "/companion", target: service.url }, cookie: `signpost_token=${await issuer.token({ sub: "alice" })}` });
  await putBucketCors([otherSite.origin, sameSite.origin]);
  console.log(`[uppy] Chromium, two bundles, signpost and RGW ready in ${Date.now() - started} ms`);
}, 180_000);

/** Best effort: the test bucket emptied (objects and unfinished uploads) and removed, for S3 servers that outlive the run. */
async function removeBucket() {
  const list = async (query: string, tag: string) => [...(await (await rgw.fetch(`${s3.endpoint}/${bucket}?${query}`)).text()).matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => m[1]!);
  const leaf = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1] ?? "";
  for (const upload of await list("uploads", "Upload")) {
    await rgw.fetch(`${s3.endpoint}/${bucket}/${encodePath(leaf(upload, "Key"))}?uploadId=${encodeURIComponent(leaf(upload, "UploadId"))}`, { method: "DELETE" });
  }
  for (const item of await list("list-type=2", "Contents")) await rgw.fetch(`${s3.endpoint}/${bucket}/${encodePath(leaf(item, "Key"))}`, { method: "DELETE" });
  await rgw.fetch(`${s3.endpoint}/${bucket}`, { method: "DELETE" });
}

afterAll(async () => {
  await removeBucket().catch(() => {});
  await chromium?.close();
  await Promise.all([otherSite?.close(), sameSite?.close(), issuer?.close()]);
  const logs = (service?.stdout() ?? "") + (service?.stderr() ?? "");
  await service?.stop();
  removeDataDir();
  for (const secret of [TOKEN, s3.secretAccessKey, clientSecret, readerSecret]) if (secret) expect(logs).not.toContain(secret);
  expect(logs).not.toContain("X-Amz-Signature");
});

describe("Uppy 6 with signRequest through $sign, from another site with a Bearer token", () => {
  it("uploads 300 KB in one PUT and 12 MiB in three parts, stored byte for byte in the client's folder", async () => {
    const started = Date.now();
    const { outcome, page } = await upload(`${otherSite.origin}/uppy-6.html`, { mode: "sign", signpost: service.url, account: "trusting", bucket, token: clientSecret, files: [SMALL, BIG] });
    await page.close();
    expect(outcome.failed).toEqual([]);
    expect(outcome.errors).toEqual([]);
    expect(outcome.parts).toEqual({ [BIG.name]: 3 });
    const keys = Object.fromEntries(outcome.successful.map((file) => [file.name, file.key]));
    // Uppy's own key, <uuid>-<name>, placed in the client's folder by signpost
    expect(keys[SMALL.name]).toMatch(/^apps\/uppy-app\/[0-9a-f-]{36}-photo 1\.jpg$/);
    const small = await expectStored(keys[SMALL.name]!, SMALL, "apps/uppy-app/");
    expect(small.headers.get("content-type")).toBe(SMALL.type); // the type the browser sent
    await expectStored(keys[BIG.name]!, BIG, "apps/uppy-app/", 3);
    console.log(`[uppy] Uppy 6 + $sign: ${Date.now() - started} ms`);
  });

  it.runIf(s3.roleArn)("on a multi-tenant account of RGW: the PUT works under narrowed credentials; the multipart upload fails inside Uppy with signpost's refusal (RGW would let the URL make it public)", async () => {
    const { outcome, page } = await upload(`${otherSite.origin}/uppy-6.html`, { mode: "sign", signpost: service.url, account: "rgw", bucket, token: clientSecret, files: [SMALL, BIG] });
    await page.close();
    expect(outcome.successful.map((file) => file.name)).toEqual([SMALL.name]);
    await expectStored(outcome.successful[0]!.key, SMALL, "apps/uppy-app/");
    expect(outcome.failed.map((file) => file.name)).toEqual([BIG.name]);
    expect(outcome.errors).toHaveLength(1);
    expect(outcome.errors[0]).toMatch(/^no CreateMultipartUpload URL for this client: .*Companion routes/);
  });

  it("fails inside Uppy with signpost's 403 message for a key outside the client's prefix, storing nothing", async () => {
    const key = `elsewhere/${suffix}/x.bin`;
    const { outcome, page } = await upload(`${otherSite.origin}/uppy-6.html`, { mode: "sign", signpost: service.url, account: "rgw", bucket, token: clientSecret, key, files: [SMALL] });
    await page.close();
    expect(outcome.successful).toEqual([]);
    expect(outcome.errors).toEqual(["this client may not upload this key (allowed prefixes: apps/uppy-app/)"]);
    expect((await rgw.fetch(`${s3.endpoint}/${bucket}/${encodePath(key)}`, { method: "HEAD" })).status).toBe(404);
  });
});

describe("Uppy 5 with endpoint and headers at the Companion routes, from another site", () => {
  it("uploads the same two files (one PUT, and three parts), in the client's folder under keys signpost chose", async () => {
    const started = Date.now();
    const { outcome, page } = await upload(`${otherSite.origin}/uppy-5.html`, { signpost: service.url, account: "rgw", bucket, token: clientSecret, files: [SMALL, BIG] });
    await page.close();
    expect(outcome.failed).toEqual([]);
    expect(outcome.errors).toEqual([]);
    expect(outcome.parts).toEqual({ [SMALL.name]: 1, [BIG.name]: 3 }); // Uppy 5 counts a simple upload as one part
    const keys = Object.fromEntries(outcome.successful.map((file) => [file.name, file.key]));
    expect(keys[SMALL.name]).toMatch(/^apps\/uppy-app\/[0-9a-f-]{36}-photo 1\.jpg$/);
    expect(keys[BIG.name]).toMatch(/^apps\/uppy-app\/[0-9a-f-]{36}-vidéo\.mp4$/);
    const small = await expectStored(keys[SMALL.name]!, SMALL, "apps/uppy-app/");
    expect(small.headers.get("content-type")).toBe(SMALL.type); // the type the browser sent
    const big = await expectStored(keys[BIG.name]!, BIG, "apps/uppy-app/", 3);
    expect(big.headers.get("content-type")).toBe(BIG.type); // set by signpost's CreateMultipartUpload
    expect(big.headers.get("x-amz-meta-name")).toBe(`=?UTF-8?B?${Buffer.from(BIG.name).toString("base64")}?=`); // Uppy's metadata, as Companion stores it
    console.log(`[uppy] Uppy 5 + Companion routes: ${Date.now() - started} ms`);
  });

  it("shows signpost's message when the client may not upload", async () => {
    const { outcome, page } = await upload(`${otherSite.origin}/uppy-5.html`, { signpost: service.url, account: "rgw", bucket, token: readerSecret, files: [SMALL] });
    await page.close();
    expect(outcome.successful).toEqual([]);
    expect(outcome.errors).toEqual(["this client may not upload"]);
  });
});

describe("Uppy 6 with companionEndpoint on signpost's origin, the end user's token in a cookie", () => {
  it("uploads the same two files into the user's folder", async () => {
    const started = Date.now();
    const { outcome, page } = await upload(`${sameSite!.origin}/uppy-6.html`, { mode: "companion", signpost: sameSite!.origin, account: "rgw", bucket, files: [SMALL, BIG] });
    // The page never saw the token: the cookie is HttpOnly.
    expect(await page.evaluate(() => document.cookie)).toBe("");
    await page.close();
    expect(outcome.failed).toEqual([]);
    expect(outcome.errors).toEqual([]);
    expect(outcome.parts).toEqual({ [BIG.name]: 3 });
    const keys = Object.fromEntries(outcome.successful.map((file) => [file.name, file.key]));
    const small = await expectStored(keys[SMALL.name]!, SMALL, "users/alice/");
    // by a form: its type and Uppy's metadata are fields the form's policy binds
    expect(small.headers.get("content-type")).toBe(SMALL.type);
    expect(small.headers.get("x-amz-meta-name")).toBe(SMALL.name);
    await expectStored(keys[BIG.name]!, BIG, "users/alice/", 3);
    console.log(`[uppy] Uppy 6 + companionEndpoint + cookie: ${Date.now() - started} ms`);
  });
});
