// The HTTP contract, in process: createApp with an in-memory store, a fixed clock and a recorded log.
import { describe, expect, it } from "vitest";
import type { AwsAccount } from "../../src/account.ts";
import { createApp, type LogEntry } from "../../src/app.ts";
import { fromEnv } from "../../src/credentials/env.ts";
import { createPresigner, webCryptoSha256 } from "../../src/signer.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { nodeSha256 } from "../../src/runtime/node-crypto.ts";
import { testSealer } from "../sealer.ts";

const TOKEN = "test-admin-token-0123456789abcdef";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

function setup(env: Record<string, string> = {}) {
  const logs: LogEntry[] = [];
  const store = memoryStore<AwsAccount>();
  const app = createApp({
    store,
    clients: memoryStore(),
    sealer: testSealer,
    credentials: fromEnv(env),
    presigner: createPresigner(nodeSha256),
    config: { adminToken: TOKEN, maxBodyBytes: 4096 },
    now: () => NOW,
    log: (entry) => logs.push(entry),
  });
  const call = (method: string, path: string, init: { body?: string; type?: string; headers?: Record<string, string> } = {}) =>
    app.request(path, {
      method,
      body: init.body,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(init.body !== undefined ? { "content-type": init.type ?? "application/json" } : {}),
        ...init.headers,
      },
    });
  const json = (method: string, path: string, body: unknown) => call(method, path, { body: JSON.stringify(body) });
  return { app, store, logs, call, json };
}

/** Each level doubles the size of the expanded document: 2^levels leaves from a few hundred bytes. */
const aliasBomb = (levels: number) =>
  `l0: &l0 [x, x]\n${Array.from({ length: levels }, (_, i) => `l${i + 1}: &l${i + 1} [*l${i}, *l${i}]`).join("\n")}\n`;

const account = { region: "us-east-1", "access-key-id": "AKIAIOSFODNN7EXAMPLE", "secret-access-key": SECRET };

async function expectOutcome(response: Response, status: number, pattern: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = await response.json();
  expect(body.resourceType).toBe("OperationOutcome");
  expect(body.issue).toHaveLength(1);
  expect(body.issue[0].severity).toBe("error");
  expect(body.issue[0].diagnostics).toMatch(pattern);
  return body;
}

describe("authentication", () => {
  it("lets /health through without a token", async () => {
    const { app } = setup();
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
    const { app } = setup();
    for (const [method, path] of [["GET", "/AwsAccount"], ["PUT", "/AwsAccount/a"], ["GET", "/aws/storage/a/bucket/key"], ["GET", "/nowhere"]] as const) {
      const response = await app.request(path, { method, headers });
      const body = await expectOutcome(response, 401, /credentials/);
      expect(body.issue[0].code).toBe("login");
      expect(response.headers.get("www-authenticate")).toMatch(/^Bearer realm="signpost"/);
    }
  });

  it("fails closed with 503 when no admin token is configured", async () => {
    const app = createApp({
      store: memoryStore(),
      clients: memoryStore(),
      sealer: testSealer,
      credentials: fromEnv({}),
      presigner: createPresigner(nodeSha256),
      config: { adminToken: undefined },
    });
    expect((await app.request("/health")).status).toBe(200);
    for (const authorization of ["", "Bearer ", "Bearer undefined"]) {
      const response = await app.request("/AwsAccount", { headers: { authorization } });
      await expectOutcome(response, 503, /set SIGNPOST_ADMIN_TOKEN/);
    }
  });

  it("accepts the token with any case of the scheme", async () => {
    const { app } = setup();
    const response = await app.request("/AwsAccount", { headers: { authorization: `bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
  });
});

describe("AwsAccount", () => {
  it("creates (201), replaces (200), reads, lists and deletes, never showing the secret", async () => {
    const { call, json } = setup();
    const created = await json("PUT", "/AwsAccount/my-aws", account);
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("/AwsAccount/my-aws/_history/1");
    const body = await created.json();
    expect(body).toEqual({
      resourceType: "AwsAccount",
      id: "my-aws",
      region: "us-east-1",
      "access-key-id": "AKIAIOSFODNN7EXAMPLE",
      "path-style": false,
      "use-ssl": true,
      meta: { versionId: "1", lastUpdated: new Date(NOW).toISOString() },
    });

    // A PUT that leaves the keys out would switch the account to the default credentials: refused (PATCH is for that).
    const keyless = await json("PUT", "/AwsAccount/my-aws", { region: "eu-west-1" });
    expect(keyless.status).toBe(400);
    expect((await keyless.json()).issue[0].diagnostics).toMatch(/would sign with the default credentials instead of its keys/);
    const replaced = await json("PUT", "/AwsAccount/my-aws", { region: "eu-west-1", host: "S3.Example.com:9000", "path-style": true, "use-ssl": false, "access-key-id": "AKIDREPLACED", "secret-access-key": "replaced-secret" });
    expect(replaced.status).toBe(200);
    const second = await replaced.json();
    expect(second).toMatchObject({ region: "eu-west-1", host: "s3.example.com:9000", "path-style": true, "use-ssl": false, "access-key-id": "AKIDREPLACED", meta: { versionId: "2" } });
    const again = await (await json("PUT", "/AwsAccount/my-aws", { region: "eu-west-1", "access-key-id": "AKIDREPLACED", "secret-access-key": "replaced-secret" })).json();
    expect(again).not.toHaveProperty("host"); // replace, not merge
    expect(again.meta.versionId).toBe("3");

    const read = await call("GET", "/AwsAccount/my-aws");
    expect(await read.json()).toEqual(again);

    await json("PUT", "/AwsAccount/other", account);
    const list = await (await call("GET", "/AwsAccount")).json();
    expect(list).toMatchObject({ resourceType: "Bundle", type: "searchset", total: 2 });
    expect(list.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(["my-aws", "other"]);

    const deleted = await call("DELETE", "/AwsAccount/other");
    expect(deleted.status).toBe(200);
    expect((await deleted.json()).id).toBe("other");
    await expectOutcome(await call("DELETE", "/AwsAccount/other"), 404, /AwsAccount\/other not found/);
    await expectOutcome(await call("GET", "/AwsAccount/other"), 404, /not found/);
  });

  it("never returns the secret in any answer, JSON or YAML", async () => {
    const { call, json } = setup();
    const answers = [await json("PUT", "/AwsAccount/a", account), await json("PUT", "/AwsAccount/a", account)];
    for (const accept of ["application/json", "text/yaml"]) {
      answers.push(await call("GET", "/AwsAccount/a", { headers: { accept } }), await call("GET", "/AwsAccount", { headers: { accept } }));
    }
    answers.push(await call("DELETE", "/AwsAccount/a"));
    for (const answer of answers) {
      expect(answer.status).toBeLessThan(300);
      expect(await answer.text()).not.toContain(SECRET);
    }
  });

  it("takes YAML bodies in every YAML media type and answers YAML when asked", async () => {
    const { call } = setup();
    const yaml = `resourceType: AwsAccount\nid: y\nregion: us-east-1\naccess-key-id: AKIAIOSFODNN7EXAMPLE\nsecret-access-key: ${SECRET}\npath-style: true\nmeta:\n  versionId: "7"\n`;
    for (const type of ["text/yaml", "application/yaml", "application/x-yaml", "text/yaml; charset=utf-8"]) {
      const response = await call("PUT", "/AwsAccount/y", { body: yaml, type, headers: { accept: "text/yaml" } });
      expect(response.status).toBeLessThan(300);
      expect(response.headers.get("content-type")).toMatch(/^text\/yaml/);
      const text = await response.text();
      expect(text).toContain("path-style: true");
      expect(text).toContain("resourceType: AwsAccount");
    }
    const error = await call("GET", "/AwsAccount/missing", { headers: { accept: "application/yaml" } });
    expect(error.status).toBe(404);
    expect(await error.text()).toMatch(/^resourceType: OperationOutcome/);
  });

  it.each([
    ["a missing region", { "path-style": true }, /region is required/],
    ["a non-string region", { region: 5 }, /region must be a string/],
    ["a region with a slash", { region: "us/east" }, /region must be lowercase/],
    ["an access key without secret", { region: "us-east-1", "access-key-id": "AK" }, /both or neither/],
    ["a secret without access key", { region: "us-east-1", "secret-access-key": "s" }, /both or neither/],
    ["an access key with a slash", { region: "us-east-1", "access-key-id": "A/K", "secret-access-key": "s" }, /access-key-id must be/],
    ["a secret with a newline", { region: "us-east-1", "access-key-id": "AK", "secret-access-key": "a\nb" }, /secret-access-key must be/],
    ["a host with a scheme", { region: "us-east-1", host: "http://s3.example.com" }, /host must be host\[:port\]/],
    ["a host with a path", { region: "us-east-1", host: "s3.example.com/x" }, /host must be/],
    ["a host with port 0", { region: "us-east-1", host: "s3.example.com:0" }, /host must be/],
    ["a host with port 70000", { region: "us-east-1", host: "s3.example.com:70000" }, /host must be/],
    ["a host with user info", { region: "us-east-1", host: "u:p@s3.example.com" }, /host must be/],
    ["a numeric host", { region: "us-east-1", host: 9000 }, /host must be a string/],
    ["path-style as a string", { region: "us-east-1", "path-style": "true" }, /path-style must be true or false/],
    ["use-ssl as a number", { region: "us-east-1", "use-ssl": 0 }, /use-ssl must be true or false/],
    ["an unknown field", { region: "us-east-1", bucket: "b" }, /unknown field: "bucket"/],
    ["__proto__", JSON.parse('{"region":"us-east-1","__proto__":{"admin":true}}'), /unknown field: "__proto__"/],
    ["another resourceType", { region: "us-east-1", resourceType: "Patient" }, /resourceType must be AwsAccount/],
    ["a different id", { region: "us-east-1", id: "other" }, /id in the body must match/],
    ["meta that is not an object", { region: "us-east-1", meta: "x" }, /meta must be an object/],
    ["an array", [{ region: "us-east-1" }], /body must be an object/],
    ["null", null, /body must be an object/],
  ])("refuses %s with 400 and stores nothing", async (_, body, pattern) => {
    const { json, store } = setup();
    const response = await json("PUT", "/AwsAccount/acc", body);
    const outcome = await expectOutcome(response, 400, pattern);
    expect(outcome.issue[0].code).toBe("invalid");
    expect(await store.get("acc")).toBeNull();
  });

  it("keeps the stored account when a replacement is invalid", async () => {
    const { json, call } = setup();
    await json("PUT", "/AwsAccount/acc", account);
    await expectOutcome(await json("PUT", "/AwsAccount/acc", { region: 1 }), 400, /region/);
    const stored = await (await call("GET", "/AwsAccount/acc")).json();
    expect(stored).toMatchObject({ "access-key-id": account["access-key-id"], meta: { versionId: "1" } });
  });

  it.each(["a_b", "x".repeat(65), "a%2Fb", "%E2%9C%93"])("refuses the id %s with 400", async (id) => {
    const { json, call } = setup();
    await expectOutcome(await json("PUT", `/AwsAccount/${id}`, account), 400, /id must be 1 to 64 characters/);
    await expectOutcome(await call("GET", `/AwsAccount/${id}`), 400, /id must be/);
    await expectOutcome(await call("DELETE", `/AwsAccount/${id}`), 400, /id must be/);
  });

  it("accepts ids of 64 characters with dots and dashes", async () => {
    const { json } = setup();
    const id = `a.b-C9${"x".repeat(58)}`;
    expect((await json("PUT", `/AwsAccount/${id}`, account)).status).toBe(201);
  });

  it.each([
    ["text/plain", "region: us-east-1", 415, /unsupported content type "text\/plain"/],
    ["application/x-www-form-urlencoded", "region=us-east-1", 415, /unsupported content type/],
    ["application/json; charset=latin1", '{"region":"us-east-1"}', 415, /unsupported charset/],
    ["application/json", "{region", 400, /not valid JSON/],
    ["text/yaml", "region: [unclosed", 400, /not valid YAML/],
    ["text/yaml", "region: a\nregion: b\n", 400, /not valid YAML/],
    ["application/json", "", 400, /body is empty/],
    ["text/yaml", aliasBomb(30), 400, /not valid YAML: .*alias/i],
    ["text/yaml", `${"[".repeat(40)}${"]".repeat(40)}`, 400, /not valid YAML/],
  ])("refuses a %s body %#", async (type, body, status, pattern) => {
    const { call } = setup();
    await expectOutcome(await call("PUT", "/AwsAccount/acc", { body, type }), status, pattern);
  });

  it("refuses a body without content type with 415", async () => {
    const { app } = setup();
    const response = await app.request("/AwsAccount/acc", { method: "PUT", body: new Blob(['{"region":"us-east-1"}']), headers: { authorization: `Bearer ${TOKEN}` } });
    await expectOutcome(response, 415, /unsupported content type "\(none\)"/);
  });

  it("refuses bodies over the limit with 413, by Content-Length and by what arrives", async () => {
    const { call, app, store } = setup();
    const big = JSON.stringify({ region: "us-east-1", host: "a".repeat(5000) });
    await expectOutcome(await call("PUT", "/AwsAccount/acc", { body: big }), 413, /larger than 4096 bytes/);
    // A streamed body with no Content-Length is counted as it arrives.
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new TextEncoder().encode(" ".repeat(512)));
        if (pulled > 1000) controller.close();
      },
    });
    const response = await app.request("/AwsAccount/acc", {
      method: "PUT",
      body: stream,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      duplex: "half",
    } as RequestInit);
    await expectOutcome(response, 413, /larger than/);
    expect(pulled).toBeLessThan(20);
    expect(await store.get("acc")).toBeNull();
  });

  it("refuses a body that is not UTF-8", async () => {
    const { app } = setup();
    const response = await app.request("/AwsAccount/acc", {
      method: "PUT",
      body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    });
    await expectOutcome(response, 400, /not valid UTF-8/);
  });

  it("answers unknown methods with 405 and Allow", async () => {
    const { call } = setup();
    const purge = await call("PURGE", "/AwsAccount/acc");
    await expectOutcome(purge, 405, /PURGE is not allowed/);
    expect(purge.headers.get("allow")).toBe("GET, PUT, PATCH, DELETE");
    const post = await call("POST", "/AwsAccount");
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET");
  });

  it("answers unknown routes with 404 OperationOutcome", async () => {
    const { call } = setup();
    const body = await expectOutcome(await call("GET", "/Patient/1"), 404, /no route for GET \/Patient\/1/);
    expect(body.issue[0].code).toBe("not-found");
  });
});

describe("presigned URLs", () => {
  async function withAccount(extra: Record<string, unknown> = {}, env: Record<string, string> = {}) {
    const context = setup(env);
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
    const { call, json } = setup();
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
    const { call, json } = setup(env);
    await json("PUT", "/AwsAccount/default", { region: "eu-central-1" });
    const url = await urlOf(await call("GET", "/aws/storage/default/bucket/k"));
    expect(url.searchParams.get("X-Amz-Credential")).toBe("ASIAENVKEY/20260102/eu-central-1/s3/aws4_request");
    expect(url.searchParams.get("X-Amz-Security-Token")).toBe("tok+/=en");
    expect(url.search).toContain("X-Amz-Security-Token=tok%2B%2F%3Den");
  });

  it("answers 503 naming the source tried when no credentials can be had", async () => {
    const { call, json } = setup({ AWS_ACCESS_KEY_ID: "only-the-id" });
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
