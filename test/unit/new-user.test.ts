// Issue 12, in process: what a new user hits. Typos refused instead of silently ignored, hosts that can only work
// path style, PATCH that keeps secrets, FHIR JSON, the AWS partitions, _history, clear messages.
import { createServer } from "node:net";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { AwsAccount } from "../../src/account.ts";
import { createApp } from "../../src/app.ts";
import type { Client } from "../../src/clients.ts";
import * as settings from "../../src/config.ts";
import { fromEnv } from "../../src/credentials/env.ts";
import { stsEndpoint } from "../../src/credentials/sts.ts";
import { webIdentitySource } from "../../src/credentials/web-identity.ts";
import { nodeSha256 } from "../../src/runtime/node-crypto.ts";
import { objectLocation } from "../../src/s3url.ts";
import { createPresigner } from "../../src/signer.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { testSealer } from "../sealer.ts";

const ADMIN = "new-user-admin-token-0123456789abcdef";
const KEYS = { "access-key-id": "AKIDNEWUSER", "secret-access-key": "new-user-secret-0123456789" };
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function setup() {
  const accounts = memoryStore<AwsAccount>();
  const clients = memoryStore<Client>();
  const app = createApp({
    store: accounts,
    clients,
    sealer: testSealer,
    credentials: fromEnv({ AWS_ACCESS_KEY_ID: "ASIADEFAULT", AWS_SECRET_ACCESS_KEY: "default-secret-0123456789" }),
    presigner: createPresigner(nodeSha256),
    config: { adminToken: ADMIN },
    now: () => NOW,
  });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, auth = `Bearer ${ADMIN}`) => {
    const response = await app.request(path, {
      method,
      headers: { authorization: auth, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  };
  return { app, accounts, clients, call };
}

const diagnostics = (response: { json: any }) => response.json.issue[0].diagnostics as string;

describe("typos are refused, not ignored", () => {
  it.each([
    ["/aws/storage/acc/b-1/k?Expiration=10", /unknown query parameter "Expiration": this route takes expiration, filename, disposition, content-type, redirect, method/],
    ["/aws/storage/acc/b-1/k?expires=10", /unknown query parameter "expires"/],
    ["/aws/storage/acc/b-1/k?expire=60", /unknown query parameter "expire"/],
    ["/aws/storage/acc/b-1/k?file-name=x.pdf", /unknown query parameter "file-name"/],
    ["/AwsAccount/acc?_format=json", /unknown query parameter "_format": this route takes none/],
    ["/Client?x=1", /this route takes none/],
  ])("GET %s answers 400", async (path, pattern) => {
    const { call } = setup();
    await call("PUT", "/AwsAccount/acc", { region: "us-east-1", ...KEYS });
    const response = await call("GET", path);
    expect(response.status).toBe(400);
    expect(diagnostics(response)).toMatch(pattern);
  });

  it("refuses them on uploads, deletes, operations and $verify too, and takes the right ones", async () => {
    const { call } = setup();
    await call("PUT", "/AwsAccount/acc", { region: "us-east-1", ...KEYS });
    expect((await call("POST", "/aws/storage/acc/b-1?expires=10", { filename: "k" })).status).toBe(400);
    expect((await call("DELETE", "/aws/storage/acc/b-1/k?expires=10")).status).toBe(400);
    expect((await call("POST", "/aws/storage/acc/b-1/$post-policy?max-size=5", { filename: "k" })).status).toBe(400);
    expect(diagnostics(await call("POST", "/AwsAccount/acc/$verify?bucket=b-1&x=1"))).toMatch(/this route takes bucket/);
    expect((await call("POST", "/aws/storage/acc/b-1?expiration=10", { filename: "k" })).status).toBe(200);
    const url = new URL((await call("GET", "/aws/storage/acc/b-1/k?expiration=10&method=head")).json.url);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("10");
  });

  it("takes method in any case, and disposition=inline with or without a filename", async () => {
    const { call } = setup();
    await call("PUT", "/AwsAccount/acc", { region: "us-east-1", ...KEYS });
    const head = await call("GET", "/aws/storage/acc/b-1/k?method=head&redirect=true");
    expect(head.status).toBe(302);
    const inline = new URL((await call("GET", "/aws/storage/acc/b-1/k?disposition=inline")).json.url);
    expect(inline.searchParams.get("response-content-disposition")).toBe("inline");
    const named = new URL((await call("GET", "/aws/storage/acc/b-1/k?disposition=inline&filename=a%20b.pdf")).json.url);
    expect(named.searchParams.get("response-content-disposition")).toBe(`inline; filename="a b.pdf"; filename*=UTF-8''a%20b.pdf`);
    const attached = new URL((await call("GET", "/aws/storage/acc/b-1/k?filename=a.pdf")).json.url);
    expect(attached.searchParams.get("response-content-disposition")).toMatch(/^attachment; /);
  });

  it("refuses a key with a leading slash, and says to quote a YAML number", async () => {
    const { call } = setup();
    await call("PUT", "/AwsAccount/acc", { region: "us-east-1", ...KEYS });
    const slash = await call("POST", "/aws/storage/acc/b-1", { filename: "/abs/path.txt" });
    expect(slash.status).toBe(400);
    expect(diagnostics(slash)).toMatch(/must not start with '\/'.*"abs\/path.txt"/);
    const number = await call("POST", "/aws/storage/acc/b-1", "filename: 2024", { "content-type": "text/yaml" });
    expect(number.status).toBe(400);
    expect(diagnostics(number)).toBe('filename must be a string (in YAML, quote it: filename: "2024")');
  });

  it("refuses {client} not followed by '/', which would let app1 into users/app10/", async () => {
    const { call } = setup();
    for (const prefix of ["users/{client}", "users/{client}-files/", "{client}"]) {
      const response = await call("PUT", "/Client/app1", { policy: { operations: ["download"], prefixes: [prefix] } });
      expect(response.status, prefix).toBe(400);
      expect(diagnostics(response)).toMatch(/\{client\} must be followed by '\/'/);
    }
    expect((await call("PUT", "/Client/app1", { policy: { operations: ["download"], prefixes: ["users/{client}/", "{client}/x/"] } })).status).toBe(201);
  });
});

describe("hosts that only work path style", () => {
  it.each([
    ["127.0.0.1:9000", "http://127.0.0.1:9000/bucket/k"],
    ["[::1]:9000", "http://[::1]:9000/bucket/k"],
    ["localhost:9000", "http://localhost:9000/bucket/k"],
    ["minio:9000", "http://minio:9000/bucket/k"],
    ["s3.example.com", "http://bucket.s3.example.com/k"],
  ])("%s without path-style gives %s", (host, expected) => {
    const { protocol, host: urlHost, path } = objectLocation({ region: "us-east-1", host, "path-style": false, "use-ssl": false }, "bucket", "k");
    expect(`${protocol}//${urlHost}${path}`).toBe(expected);
  });
});

describe("AWS partitions", () => {
  it.each([
    ["cn-north-1", "bucket.s3.cn-north-1.amazonaws.com.cn", "https://sts.cn-north-1.amazonaws.com.cn/"],
    ["cn-northwest-1", "bucket.s3.cn-northwest-1.amazonaws.com.cn", "https://sts.cn-northwest-1.amazonaws.com.cn/"],
    ["us-gov-west-1", "bucket.s3.us-gov-west-1.amazonaws.com", "https://sts.us-gov-west-1.amazonaws.com/"],
    ["us-iso-east-1", "bucket.s3.us-iso-east-1.c2s.ic.gov", "https://sts.us-iso-east-1.c2s.ic.gov/"],
    ["us-isob-east-1", "bucket.s3.us-isob-east-1.sc2s.sgov.gov", "https://sts.us-isob-east-1.sc2s.sgov.gov/"],
    ["eu-west-1", "bucket.s3.eu-west-1.amazonaws.com", "https://sts.eu-west-1.amazonaws.com/"],
  ])("%s: S3 at %s, STS at %s", (region, s3Host, sts) => {
    expect(objectLocation({ region, "path-style": false, "use-ssl": true }, "bucket", "k").host).toBe(s3Host);
    const endpoint = stsEndpoint({}, region);
    expect(typeof endpoint === "string" ? endpoint : endpoint.url.href).toBe(sts);
  });
});

describe("PATCH (JSON Merge Patch)", () => {
  it("changes an account's fields and keeps its secret; null removes a field", async () => {
    const { call, accounts } = setup();
    await call("PUT", "/AwsAccount/acc", { region: "us-east-1", host: "minio.example.com", "path-style": true, ...KEYS });
    const sealed = (await accounts.get("acc"))!["secret-access-key"];
    const patched = await call("PATCH", "/AwsAccount/acc", { host: "minio2.example.com:9000", "use-ssl": false }, { "content-type": "application/merge-patch+json" });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json).toMatchObject({ host: "minio2.example.com:9000", "use-ssl": false, "path-style": true, "access-key-id": KEYS["access-key-id"], meta: { versionId: "2" } });
    expect((await accounts.get("acc"))!["secret-access-key"]).toBe(sealed);
    // Still signs with the same secret: the URL is the one an independent signer makes with it.
    const url = (await call("GET", "/aws/storage/acc/b-1/k")).json.url;
    const reference = await createPresigner(nodeSha256).presign({
      method: "GET", protocol: "http:", host: "minio2.example.com:9000", path: "/b-1/k", region: "us-east-1",
      credentials: { accessKeyId: KEYS["access-key-id"], secretAccessKey: KEYS["secret-access-key"] }, expiresIn: 86400, date: new Date(NOW),
    });
    expect(url).toBe(reference);
    expect((await call("PATCH", "/AwsAccount/acc", { host: null })).json).not.toHaveProperty("host");
  });

  it("needs the secret with a new key id, drops both with access-key-id: null, and refuses what PUT refuses", async () => {
    const { call, accounts } = setup();
    await call("PUT", "/AwsAccount/acc", { region: "us-east-1", ...KEYS });
    const newId = await call("PATCH", "/AwsAccount/acc", { "access-key-id": "AKIDOTHER" });
    expect(newId.status).toBe(400);
    expect(diagnostics(newId)).toMatch(/a new access-key-id needs its secret-access-key/);
    expect((await call("PATCH", "/AwsAccount/acc", { "access-key-id": "AKIDOTHER", "secret-access-key": "other-secret-0123" })).status).toBe(200);
    expect((await call("PATCH", "/AwsAccount/acc", { region: "Not A Region" })).status).toBe(400);
    expect((await call("PATCH", "/AwsAccount/acc", JSON.parse('{"__proto__": {"x": 1}}'))).status).toBe(400);
    expect((await call("PATCH", "/AwsAccount/acc", ["not", "an", "object"])).status).toBe(400);
    expect((await call("PATCH", "/AwsAccount/missing", { region: "us-east-1" })).status).toBe(404);
    const dropped = await call("PATCH", "/AwsAccount/acc", { "access-key-id": null });
    expect(dropped.status).toBe(200);
    expect(dropped.json).not.toHaveProperty("access-key-id");
    expect(await accounts.get("acc")).not.toHaveProperty("secret-access-key");
  });

  it("changes a client's policy and description and keeps its secret", async () => {
    const { call } = setup();
    const secret = (await call("PUT", "/Client/app", { policy: { operations: ["download"] } })).json.secret;
    const patched = await call("PATCH", "/Client/app", { description: "the app", policy: { operations: ["download", "upload"] } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json).toMatchObject({ description: "the app", policy: { operations: ["download", "upload"] }, meta: { versionId: "2" } });
    expect(patched.json.secret).toBeUndefined();
    expect((await call("GET", "/AwsAccount", undefined, {}, `Bearer ${secret}`)).status).toBe(403); // authenticated: the secret still works
    expect((await call("PATCH", "/Client/app", { secret: "mine" })).status).toBe(400);
    expect((await call("PATCH", "/Client/app", { policy: { prefixes: ["{client}"] } })).status).toBe(400);
  });
});

describe("FHIR JSON", () => {
  it("takes application/fhir+json bodies and answers with it when Accept asks", async () => {
    const { call } = setup();
    const created = await call("PUT", "/AwsAccount/acc", { resourceType: "AwsAccount", region: "us-east-1", ...KEYS }, { "content-type": "application/fhir+json", accept: "application/fhir+json" });
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get("content-type")).toBe("application/fhir+json; charset=utf-8");
    expect((await call("GET", "/AwsAccount/acc")).headers.get("content-type")).toBe("application/json; charset=utf-8");
    const error = await call("GET", "/AwsAccount/nope", undefined, { accept: "application/fhir+json" });
    expect(error.headers.get("content-type")).toBe("application/fhir+json; charset=utf-8");
    expect(error.json.resourceType).toBe("OperationOutcome");
  });
});

describe("answers that say what is wrong", () => {
  it("serves the Location of a create while it is the current version", async () => {
    const { call } = setup();
    const created = await call("PUT", "/AwsAccount/acc", { region: "us-east-1", ...KEYS });
    const location = created.headers.get("location")!;
    expect(location).toBe("/AwsAccount/acc/_history/1");
    expect((await call("GET", location)).json).toEqual(created.json);
    await call("PATCH", "/AwsAccount/acc", { region: "eu-west-1" });
    const old = await call("GET", location);
    expect(old.status).toBe(404);
    expect(diagnostics(old)).toMatch(/version "1" is not kept: only the current one, 2/);
    const client = await call("PUT", "/Client/app", { policy: { operations: ["download"] } });
    expect((await call("GET", client.headers.get("location")!)).json.id).toBe("app");
  });

  it.each([
    ["a bare token", "some-token-without-a-scheme", /^malformed credentials/],
    ["Basic !!!", "Basic !!!", /^malformed credentials/],
    ["nothing", "", /^missing credentials/],
  ])("says %s is malformed or missing", async (_, authorization, pattern) => {
    const { call } = setup();
    const response = await call("GET", "/AwsAccount", undefined, {}, authorization);
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
    const { call } = setup();
    await call("PUT", "/AwsAccount/down", { region: "us-east-1", host: `127.0.0.1:${closed}`, "use-ssl": false, ...KEYS });
    const response = await call("POST", "/aws/storage/down/b-1/$list-parts", { filename: "k", "upload-id": "u" });
    expect(response.status).toBe(502);
    expect(diagnostics(response)).toBe(`S3 ListParts: could not reach 127.0.0.1:${closed} (connection refused (ECONNREFUSED))`);
  });

  it("names the Worker's web identity binding, not a file", async () => {
    const source = webIdentitySource({ env: {} }, { tokenName: "the binding AWS_WEB_IDENTITY_TOKEN" });
    expect(await source.resolve()).toEqual({ skipped: "the binding AWS_WEB_IDENTITY_TOKEN and AWS_ROLE_ARN are not both set" });
  });
});

describe("settings", () => {
  it.each([
    [{ PORT: "abc" }, () => settings.port({ PORT: "abc" }), /^PORT must be a whole number from 0 to 65535 \(0 picks a free port\), not "abc"$/],
    [{ PORT: "70000" }, () => settings.port({ PORT: "70000" }), /^PORT must be/],
    [{ SIGNPOST_ACCOUNT_CACHE_MS: "5s" }, () => settings.cacheMs({ SIGNPOST_ACCOUNT_CACHE_MS: "5s" }), /^SIGNPOST_ACCOUNT_CACHE_MS must be a whole number of milliseconds, not "5s"$/],
    [{ SIGNPOST_ADMIN_TOKEN: "short" }, () => settings.adminToken("short"), /at least 16 characters/],
  ])("refuses %j naming the variable", (_, parse, pattern) => {
    expect(parse).toThrow(pattern);
  });
  it("reads good values and defaults", () => {
    expect(settings.port({})).toBe(8787);
    expect(settings.port({ PORT: "0" })).toBe(0);
    expect(settings.cacheMs({})).toBe(5000);
    expect(settings.cacheMs({ SIGNPOST_ACCOUNT_CACHE_MS: "0" })).toBe(0);
    expect(settings.corsOrigins({ SIGNPOST_CORS_ORIGINS: " https://a.example , https://b.example," })).toEqual(["https://a.example", "https://b.example"]);
  });
});

describe("the README's Worker recipe", () => {
  it("sets both secrets in .dev.vars and runs wrangler dev on a port npm start does not use", () => {
    const readme = readFileSync(`${ROOT}/README.md`, "utf8");
    const devVars = /^printf '(.*)' .*> \.dev\.vars$/m.exec(readme)![1]!;
    expect(devVars).toMatch(/SIGNPOST_ADMIN_TOKEN=/);
    expect(devVars).toMatch(/SIGNPOST_ENCRYPTION_KEY=/);
    const port = /^npx wrangler dev --port (\d+)/m.exec(readme)![1];
    expect(port).not.toBe(String(settings.port({})));
  });
});

describe("install and image", () => {
  it("installs without npm asking about install scripts", () => {
    const output = execFileSync("npm", ["install-scripts", "ls"], { cwd: ROOT, encoding: "utf8" });
    expect(output).toMatch(/No packages with unreviewed install scripts/);
  });

  it("has a Dockerfile that runs npm start's command as a non-root user, with a health check on /health", () => {
    const dockerfile = readFileSync(`${ROOT}/Dockerfile`, "utf8");
    const start: string = JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")).scripts.start;
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(`exec ${cmd.join(" ")}`).toBe(start);
    expect(/^USER (\S+)$/m.exec(dockerfile)?.[1]).not.toMatch(/^(root|0)$/);
    expect(dockerfile).toMatch(/^HEALTHCHECK [^\n]*\\\n[^\n]*\/health/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
  });

  it("needs nothing at run time that `npm ci --omit=dev` leaves out", () => {
    const dependencies = Object.keys(JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")).dependencies);
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(file, "utf8");
      for (const [, specifier] of code.matchAll(/^(?:import|export)\s(?!type\b)[^"']*?from\s+["']([^"']+)["']/gm)) {
        if (specifier!.startsWith(".")) visit(new URL(specifier!, `file://${file}`).pathname);
        else if (!specifier!.startsWith("node:")) {
          const name = specifier!.startsWith("@") ? specifier!.split("/").slice(0, 2).join("/") : specifier!.split("/")[0]!;
          expect(dependencies, `${file} imports ${specifier}`).toContain(name);
        }
      }
    };
    visit(`${ROOT}/src/runtime/node.ts`);
    expect(seen.size).toBeGreaterThan(20);
  });
});
