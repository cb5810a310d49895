// The shell, in process: authentication, errors as OperationOutcomes, answers that say what is wrong, CORS.
import { describe, expect, it } from "vitest";
import { createServer } from "node:net";
import type { AwsAccount } from "../../src/domain/account.ts";
import { ADMIN_TOKEN as TOKEN, appRequests, createTestApp, diagnostics, expectOutcome, KEYS } from "../app.ts";
import type { Client } from "../../src/domain/client.ts";
import { webIdentitySource } from "../../src/credentials/web-identity.ts";

describe("authentication", () => {
  it("lets /health through without a token", async () => {
    const { app } = appRequests();
    const response = await app.request("/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it.each([
    ["no header", {}],
    ["a wrong token", { authorization: `Bearer ${TOKEN}x` }],
    ["a token prefix", { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ["Basic credentials", { authorization: `Basic ${btoa(`admin:${TOKEN}`)}` }],
    ["an empty bearer", { authorization: "Bearer " }],
  ])("refuses %s with 401 and WWW-Authenticate", async (_, headers) => {
    const { app } = appRequests();
    for (const [method, path] of [["GET", "/AwsAccount"], ["PUT", "/AwsAccount/a"], ["GET", "/aws/storage/a/bucket/key"], ["GET", "/nowhere"]] as const) {
      const response = await app.request(path, { method, headers });
      const body = await expectOutcome(response, 401, /credentials/);
      expect(body.issue[0].code).toBe("login");
      expect(response.headers.get("www-authenticate")).toMatch(/^Bearer realm="signpost"/);
    }
  });

  it("fails closed with 503 when no admin token is configured", async () => {
    const { app } = createTestApp({ adminToken: undefined });
    expect((await app.request("/health")).status).toBe(200);
    for (const authorization of ["", "Bearer ", "Bearer undefined"]) {
      const response = await app.request("/AwsAccount", { headers: { authorization } });
      await expectOutcome(response, 503, /set SIGNPOST_ADMIN_TOKEN/);
    }
  });

  it("accepts the token with any case of the scheme", async () => {
    const { app } = appRequests();
    const response = await app.request("/AwsAccount", { headers: { authorization: `bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
  });
});

describe("answers that say what is wrong", () => {
  it("serves the Location of a create while it is the current version", async () => {
    const { call } = createTestApp();
    const created = await call({ method: "PUT", path: "/AwsAccount/acc", body: { region: "us-east-1", ...KEYS } });
    const location = created.headers.get("location")!;
    expect(location).toBe("/AwsAccount/acc/_history/1");
    expect((await call({ method: "GET", path: location })).json).toEqual(created.json);
    await call({ method: "PATCH", path: "/AwsAccount/acc", body: { region: "eu-west-1" } });
    const old = await call({ method: "GET", path: location });
    expect(old.status).toBe(404);
    expect(diagnostics(old)).toMatch(/version "1" is not kept: only the current one, 2/);
    const client = await call({ method: "PUT", path: "/Client/app", body: { policy: { operations: ["download"] } } });
    expect((await call({ method: "GET", path: client.headers.get("location")! })).json.id).toBe("app");
  });

  it.each([
    ["a bare token", "some-token-without-a-scheme", /^malformed credentials/],
    ["Basic !!!", "Basic !!!", /^malformed credentials/],
    ["nothing", "", /^missing credentials/],
  ])("says %s is malformed or missing", async (_, authorization, pattern) => {
    const { call } = createTestApp();
    const response = await call({ method: "GET", path: "/AwsAccount", headers: {}, auth: authorization });
    expect(response.status).toBe(401);
    expect(diagnostics(response)).toMatch(pattern);
  });

  it("names the cause when S3 cannot be reached", async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const { call } = createTestApp();
    await call({ method: "PUT", path: "/AwsAccount/down", body: { region: "us-east-1", host: `127.0.0.1:${closed}`, "use-ssl": false, ...KEYS } });
    const response = await call({ method: "POST", path: "/aws/storage/down/b-1/$list-parts", body: { filename: "k", "upload-id": "u" } });
    expect(response.status).toBe(502);
    expect(diagnostics(response)).toBe(`S3 ListParts: could not reach 127.0.0.1:${closed} (connection refused (ECONNREFUSED))`);
  });

  it("names the Worker's web identity binding, not a file", async () => {
    const source = webIdentitySource({ env: {} }, { tokenName: "the binding AWS_WEB_IDENTITY_TOKEN" });
    expect(await source.resolve()).toEqual({ skipped: "the binding AWS_WEB_IDENTITY_TOKEN and AWS_ROLE_ARN are not both set" });
  });
});

describe("CORS", () => {
  it("is off by default", async () => {
    const { app } = createTestApp();
    const preflight = await app.request("/aws/storage/acc/b-1", { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers preflights for configured origins only, before authentication", async () => {
    const { app } = createTestApp({ corsOrigins: ["https://app.example"] });
    const allowed = await app.request("/aws/storage/acc/b-1", { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const other = await app.request("/aws/storage/acc/b-1", { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("routing", () => {
  // One router matches every group's routes (app.ts); a trailing slash reaches the route as it always has.
  it("takes a path with a trailing slash to its route", async () => {
    const t = createTestApp();
    await t.putAccount("acc", { region: "us-east-1", ...KEYS });
    const status = async (method: string, path: string, body?: unknown) => (await t.call({ method, path, body })).status;
    expect({
      health: await status("GET", "/health/"),
      list: await status("GET", "/AwsAccount/"),
      read: await status("GET", "/AwsAccount/acc/"),
      upload: await status("POST", "/aws/storage/acc/my-bucket/", { filename: "a.txt", "content-type": "text/plain" }),
      download: await status("GET", "/aws/storage/acc/my-bucket/a.txt/"),
      refused: await status("PUT", "/aws/storage/acc/my-bucket/a.txt/"),
      unknown: await status("GET", "/nothing/"),
    }).toEqual({ health: 200, list: 200, read: 200, upload: 200, download: 200, refused: 405, unknown: 404 });
  });

  // Hono decodes the path for routing (decodeURI, a lone `%` kept as `%25`) and each param once more on its own.
  it("routes a percent-encoded unreserved character as the character, and nothing else decoded", async () => {
    const t = createTestApp();
    await t.putAccount("acc", { region: "us-east-1", ...KEYS });
    const call = (method: string, path: string) => t.call({ method, path });
    const read = await call("GET", "/%41ws%41ccount/%61cc");
    expect(read.status).toBe(200);
    expect(read.json.id).toBe("acc");
    expect((await call("GET", `/AwsAccount/acc/%5Fhistory/${read.json.meta.versionId}`)).status).toBe(200);
    expect((await call("GET", "/aws/storage/acc/my-bucket/%7Euser/a%20b.txt")).json.url).toContain("/~user/a%20b.txt?"); // the key read from the raw path, decoded once
    // A reserved character stays encoded: `%24verify` is not `$verify`, `%2F` is not a separator.
    expect((await call("POST", "/AwsAccount/acc/$verify")).status).not.toBe(404);
    expect((await call("POST", "/AwsAccount/acc/%24verify")).status).toBe(404);
    expect(diagnostics(await call("GET", "/AwsAccount/a%2Fb"))).toMatch(/id must be/);
  });

  // An escape built from a lone `%` and an encoded digit (`%6%33`) must not turn into a second escape (`%63`, "c")
  // that the param's own decoding then reads: `ac%6%33` would be an alias of `acc` (a DELETE deleting it) and
  // `%2%45%2%45` an account `..`. Hono's routing path keeps the lone `%` as `%25`; a routing path that decoded
  // `%33` first failed this (BENCHMARKS.md part 11).
  it("does not decode a path twice into another id", async () => {
    const t = createTestApp();
    await t.putAccount("acc", { region: "us-east-1", ...KEYS });
    for (const path of ["/AwsAccount/ac%6%33", "/AwsAccount/%%36%31cc", "/AwsAccount/acc/_history/%3%31"]) {
      const answer = await t.call({ method: "GET", path });
      expect(answer.status, path).toBeGreaterThanOrEqual(400);
      expect(answer.text, path).not.toContain('"id":"acc"');
    }
    expect((await t.call({ method: "DELETE", path: "/AwsAccount/ac%6%33" })).status).toBe(400);
    expect((await t.call({ method: "GET", path: "/AwsAccount/acc" })).status).toBe(200);
    expect((await t.call({ method: "PUT", path: "/AwsAccount/%2%45%2%45", body: { region: "us-east-1", ...KEYS } })).status).toBe(400);
    expect((await t.call({ method: "GET", path: "/companion/ac%6%33/my-bucket/s3/params?filename=a.txt" })).status).toBe(400);
  });
});
