// Access control, sealed secrets, the audit log and CORS, in process.
import { afterAll, describe, expect, it } from "vitest";
import type { AwsAccount } from "../../src/account.ts";
import { createApp, type LogEntry } from "../../src/app.ts";
import type { Client } from "../../src/clients.ts";
import { fromEnv } from "../../src/credentials/env.ts";
import { nodeSha256 } from "../../src/runtime/node-crypto.ts";
import { createSealer, type Sealer } from "../../src/seal.ts";
import { createPresigner } from "../../src/signer.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { testSealer } from "../sealer.ts";

const ADMIN = "access-admin-token-0123456789abcdef";
const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE+session/token=";
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

// Every answer and log line of this file, checked for secrets at the end.
const seen: { text: string; allowedSecret?: string }[] = [];
const clientSecrets = new Set<string>();

function setup(options: { sealer?: Sealer; corsOrigins?: string[] } = {}) {
  const logs: LogEntry[] = [];
  const store = memoryStore<AwsAccount>();
  const clients = memoryStore<Client>();
  const app = createApp({
    store,
    clients,
    sealer: options.sealer ?? testSealer,
    credentials: fromEnv({ AWS_ACCESS_KEY_ID: "ASIAENV", AWS_SECRET_ACCESS_KEY: "env-secret-key", AWS_SESSION_TOKEN: SESSION_TOKEN }),
    presigner: createPresigner(nodeSha256),
    config: { adminToken: ADMIN, ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}) },
    now: () => NOW,
    log: (entry) => {
      logs.push(entry);
      seen.push({ text: JSON.stringify(entry) });
    },
  });
  const call = async (method: string, path: string, auth: string | undefined, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await app.request(path, {
      method,
      headers: {
        ...(auth ? { authorization: auth } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const json = text ? JSON.parse(text) : undefined;
    if (json?.secret) clientSecrets.add(json.secret);
    seen.push({ text: text + JSON.stringify([...response.headers]), allowedSecret: json?.secret });
    return { status: response.status, headers: response.headers, json, text };
  };
  const admin = `Bearer ${ADMIN}`;
  const createClient = async (id: string, policy: Record<string, unknown>) => {
    const created = await call("PUT", `/Client/${id}`, admin, { policy });
    expect(created.status, created.text).toBe(201);
    return created.json.secret as string;
  };
  return { app, store, clients, logs, call, admin, createClient };
}

async function withAccount(options?: Parameters<typeof setup>[0]) {
  const context = setup(options);
  // single-tenant: these tests are about signpost's own checks, not the S3 back end's (test/unit/security.test.ts)
  const account = { region: "us-east-1", "access-key-id": "AKIAIOSFODNN7EXAMPLE", "secret-access-key": AWS_SECRET, "single-tenant": true };
  expect((await context.call("PUT", "/AwsAccount/acc", context.admin, account)).status).toBe(201);
  expect((await context.call("PUT", "/AwsAccount/other", context.admin, account)).status).toBe(201);
  return context;
}

describe("clients", () => {
  it("shows the secret once (201), keeps only its hash, and never shows it again", async () => {
    const { call, admin, clients } = setup();
    const created = await call("PUT", "/Client/app", admin, { policy: { operations: ["download"] } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ resourceType: "Client", id: "app", policy: { operations: ["download"], accounts: ["*"], buckets: ["*"] } });
    expect(created.json.secret).toMatch(/^app~[A-Za-z0-9_-]{43}$/);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const stored = await clients.get("app");
    expect(JSON.stringify(stored)).not.toContain(created.json.secret);
    expect(stored!["secret-hash"]).toMatch(/^[0-9a-f]{64}$/);
    for (const answer of [
      await call("GET", "/Client/app", admin),
      await call("GET", "/Client", admin),
      await call("PUT", "/Client/app", admin, { policy: { operations: ["upload"] } }),
      await call("DELETE", "/Client/app", admin),
    ]) {
      expect(answer.status).toBeLessThan(300);
      expect(answer.text).not.toContain(created.json.secret);
      expect(answer.text).not.toContain("secret-hash");
      expect(answer.json.secret).toBeUndefined();
    }
  });

  it("authenticates with Bearer <secret> and Basic <id:secret>; refuses wrong, deleted and rotated secrets", async () => {
    const { call, admin, createClient } = await withAccount();
    const secret = await createClient("app", { operations: ["download"] });
    const basic = (id: string, password: string) => `Basic ${btoa(`${id}:${password}`)}`;
    expect((await call("GET", "/aws/storage/acc/bucket/k", `Bearer ${secret}`)).status).toBe(200);
    expect((await call("GET", "/aws/storage/acc/bucket/k", basic("app", secret))).status).toBe(200);
    expect((await call("GET", "/aws/storage/acc/bucket/k", basic("other", secret))).status).toBe(401);
    expect((await call("GET", "/aws/storage/acc/bucket/k", `Bearer ${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`)).status).toBe(401);
    expect((await call("GET", "/aws/storage/acc/bucket/k", basic("admin", ADMIN))).status).toBe(401);

    const rotated = await call("POST", "/Client/app/$rotate-secret", admin);
    expect(rotated.status).toBe(200);
    expect(rotated.json.secret).not.toBe(secret);
    expect((await call("GET", "/aws/storage/acc/bucket/k", `Bearer ${secret}`)).status).toBe(401);
    expect((await call("GET", "/aws/storage/acc/bucket/k", `Bearer ${rotated.json.secret}`)).status).toBe(200);

    expect((await call("DELETE", "/Client/app", admin)).status).toBe(200);
    expect((await call("GET", "/aws/storage/acc/bucket/k", `Bearer ${rotated.json.secret}`)).status).toBe(401);
    expect((await call("POST", "/Client/app/$rotate-secret", admin)).status).toBe(404);
  });

  it.each([
    ["no policy", {}, /policy is required/],
    ["an unknown operation", { policy: { operations: ["admin"] } }, /operations/],
    ["an empty operation list", { policy: { operations: [] } }, /operations must be a list/],
    ["a bad account id", { policy: { operations: ["upload"], accounts: ["a_b"] } }, /accounts/],
    ["a bad bucket", { policy: { operations: ["upload"], buckets: ["Bad"] } }, /buckets/],
    ["a fractional max-expiration", { policy: { operations: ["upload"], "max-expiration": 1.5 } }, /max-expiration/],
    ["a secret chosen by the caller", { policy: { operations: ["upload"] }, secret: "mine" }, /secret cannot be set/],
    ["an unknown policy field", { policy: { operations: ["upload"], admin: true } }, /unknown policy field/],
    ["__proto__", JSON.parse('{"policy":{"operations":["upload"]},"__proto__":{"x":1}}'), /unknown field: "__proto__"/],
  ])("refuses a client with %s (400)", async (_, body, pattern) => {
    const { call, admin, clients } = setup();
    const response = await call("PUT", "/Client/c", admin, body);
    expect(response.status).toBe(400);
    expect(response.json.issue[0].diagnostics).toMatch(pattern);
    expect(await clients.get("c")).toBeNull();
  });
});

describe("policies", () => {
  it("binds key prefixes to the caller and names only what was refused", async () => {
    const { call, createClient } = await withAccount();
    const alice = await createClient("alice", { operations: ["upload", "download"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["users/{client}/"] });
    const as = `Bearer ${alice}`;
    expect((await call("POST", "/aws/storage/acc/uploads", as, { filename: "users/alice/photo.jpg" })).status).toBe(200);
    expect((await call("GET", "/aws/storage/acc/uploads/users/alice/photo.jpg", as)).status).toBe(200);
    const other = await call("GET", "/aws/storage/acc/uploads/users/bob/photo.jpg", as);
    expect(other.status).toBe(403);
    expect(other.json.issue[0].code).toBe("forbidden");
    expect(other.json.issue[0].diagnostics).toContain("users/alice/");
    const bucket = await call("GET", "/aws/storage/acc/private/users/alice/x", as);
    expect(bucket.status).toBe(403);
    expect(bucket.json.issue[0].diagnostics).toBe("this client may not use bucket private");
    const account = await call("GET", "/aws/storage/other/uploads/users/alice/x", as);
    expect(account.json.issue[0].diagnostics).toBe("this client may not use AwsAccount/other");
    expect((await call("DELETE", "/aws/storage/acc/uploads/users/alice/photo.jpg", as)).status).toBe(403);
  });

  it("caps the default expiration at max-expiration and refuses more", async () => {
    const { call, createClient } = await withAccount();
    const secret = `Bearer ${await createClient("short", { operations: ["download"], "max-expiration": 600 })}`;
    const fallback = await call("GET", "/aws/storage/acc/b-1/k", secret);
    expect(new URL(fallback.json.url).searchParams.get("X-Amz-Expires")).toBe("600");
    const asked = await call("GET", "/aws/storage/acc/b-1/k?expiration=300", secret);
    expect(new URL(asked.json.url).searchParams.get("X-Amz-Expires")).toBe("300");
    const tooLong = await call("GET", "/aws/storage/acc/b-1/k?expiration=601", secret);
    expect(tooLong.status).toBe(403);
    expect(tooLong.json.issue[0].diagnostics).toMatch(/over 600 seconds/);
  });

  it("lets a client manager grant no more than it holds", async () => {
    const { call, createClient } = await withAccount();
    const manager = `Bearer ${await createClient("manager", { operations: ["manage-clients", "upload"], accounts: ["acc"], buckets: ["b-1"], prefixes: ["team/"] })}`;
    const within = { operations: ["upload"], accounts: ["acc"], buckets: ["b-1"], prefixes: ["team/x/"] };
    expect((await call("PUT", "/Client/worker", manager, { policy: within })).status).toBe(201);
    for (const wider of [
      { ...within, operations: ["download"] },
      { ...within, accounts: ["*"] },
      { ...within, buckets: ["b-2"] },
      { ...within, prefixes: ["other/"] },
      { operations: ["upload"], accounts: ["acc"], buckets: ["b-1"] },
      { ...within, operations: ["manage-accounts"] },
    ]) {
      const response = await call("PUT", "/Client/worker2", manager, { policy: wider });
      expect(response.status, JSON.stringify(wider)).toBe(403);
    }
    await createClient("boss", { operations: ["manage-accounts"] });
    expect((await call("DELETE", "/Client/boss", manager)).status).toBe(403);
    expect((await call("POST", "/Client/boss/$rotate-secret", manager)).status).toBe(403);
    expect((await call("PUT", "/Client/boss", manager, { policy: within })).status).toBe(403);
  });
});

describe("authorization matrix", () => {
  const endpoints: [string, string, string, unknown, string | undefined][] = [
    ["list accounts", "GET", "/AwsAccount", undefined, "manage-accounts"],
    ["read an account", "GET", "/AwsAccount/acc", undefined, "manage-accounts"],
    ["write an account", "PUT", "/AwsAccount/acc", { region: "eu-west-1", "access-key-id": "AKIDNEW", "secret-access-key": "new-secret" }, "manage-accounts"],
    ["delete an account", "DELETE", "/AwsAccount/acc", undefined, "manage-accounts"],
    ["list clients", "GET", "/Client", undefined, "manage-clients"],
    ["read a client", "GET", "/Client/target", undefined, "manage-clients"],
    ["write a client", "PUT", "/Client/new", { policy: { operations: ["manage-clients"], accounts: ["acc"], buckets: ["bucket"] } }, "manage-clients"],
    ["rotate a secret", "POST", "/Client/target/$rotate-secret", undefined, "manage-clients"],
    ["delete a client", "DELETE", "/Client/target", undefined, "manage-clients"],
    ["upload", "POST", "/aws/storage/acc/bucket", { filename: "k" }, "upload"],
    ["download", "GET", "/aws/storage/acc/bucket/k", undefined, "download"],
    ["delete an object", "DELETE", "/aws/storage/acc/bucket/k", undefined, "delete"],
    ["health", "GET", "/health", undefined, undefined],
  ];
  const callers = ["admin", "anonymous", "upload", "download", "delete", "manage-accounts", "manage-clients", "no grant"] as const;
  const cells = endpoints.flatMap((endpoint) => callers.map((caller) => [endpoint[0], caller, endpoint] as const));

  it.each(cells)("%s as %s", async (_, caller, [, method, path, body, needs]) => {
    const { call, admin, createClient } = await withAccount();
    await createClient("target", { operations: ["manage-clients"], accounts: ["acc"], buckets: ["bucket"] });
    let auth: string | undefined;
    if (caller === "admin") auth = admin;
    else if (caller === "no grant") auth = `Bearer ${await createClient("caller", { operations: ["download"], accounts: ["other"] })}`;
    else if (caller !== "anonymous") auth = `Bearer ${await createClient("caller", { operations: [caller], accounts: ["acc"], buckets: ["bucket"] })}`;
    const response = await call(method, path, auth, body);
    if (needs === undefined || caller === "admin" || caller === needs) {
      expect(response.status, response.text).toBeLessThan(300);
    } else if (caller === "anonymous") {
      expect(response.status).toBe(401);
    } else {
      expect(response.status, response.text).toBe(403);
      expect(response.json.resourceType).toBe("OperationOutcome");
    }
  });
});

describe("secrets at rest", () => {
  it("stores secret-access-key sealed, and still signs with it", async () => {
    const { store, call, admin } = await withAccount();
    const stored = await store.get("acc");
    expect(stored!["secret-access-key"]).toMatch(/^sealed:v1:test:[A-Za-z0-9_-]+$/);
    expect(JSON.stringify(stored)).not.toContain(AWS_SECRET);
    const reference = await createPresigner(nodeSha256).presign({
      method: "GET", protocol: "https:", host: "b-1.s3.us-east-1.amazonaws.com", path: "/k", region: "us-east-1",
      credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: AWS_SECRET }, expiresIn: 86400, date: new Date(NOW),
    });
    expect((await call("GET", "/aws/storage/acc/b-1/k", admin)).json.url).toBe(reference);
  });

  it("refuses a tampered sealed value, or one moved to another account, with 503 and no ciphertext", async () => {
    const { store, call, admin } = await withAccount();
    const sealed = (await store.get("acc"))!["secret-access-key"]!;
    const flipped = sealed.slice(0, -2) + (sealed.at(-2) === "A" ? "B" : "A") + sealed.slice(-1); // always a different byte
    await store.put("acc", (account) => ({ ...account!, "secret-access-key": flipped }));
    const tampered = await call("GET", "/aws/storage/acc/b-1/k", admin);
    expect(tampered.status).toBe(503);
    expect(tampered.text).not.toContain(flipped.slice(14));
    await store.put("other", (account) => ({ ...account!, "secret-access-key": sealed }));
    const moved = await call("GET", "/aws/storage/other/b-1/k", admin);
    expect(moved.status).toBe(503);
    expect(moved.json.issue[0].diagnostics).toMatch(/moved from another record/);
  });

  it("rotates keys: the first key seals, older ones still open, a missing one is named", async () => {
    const oldKey = btoa("o".repeat(32));
    const newKey = btoa("n".repeat(32));
    const before = await withAccount({ sealer: await createSealer(`old:${oldKey}`) });
    const sealedOld = (await before.store.get("acc"))!["secret-access-key"]!;
    expect(sealedOld).toMatch(/^sealed:v1:old:/);

    const rotatedSealer = await createSealer(`new:${newKey},old:${oldKey}`);
    expect(await rotatedSealer.unseal(sealedOld, "AwsAccount/acc")).toBe(AWS_SECRET);
    const resealed = await rotatedSealer.seal(AWS_SECRET, "AwsAccount/acc");
    expect(resealed).toMatch(/^sealed:v1:new:/);

    const withoutOld = await createSealer(`new:${newKey}`);
    await expect(withoutOld.unseal(sealedOld, "AwsAccount/acc")).rejects.toThrow(/key id "old"/);
  });

  it.each([
    [undefined, /SIGNPOST_ENCRYPTION_KEY is not set/],
    ["", /SIGNPOST_ENCRYPTION_KEY is not set/],
    [btoa("short"), /exactly 32 bytes/],
    [`a:${btoa("x".repeat(32))},a:${btoa("y".repeat(32))}`, /appears twice/],
  ])("refuses the key setting %j", async (config, pattern) => {
    await expect(createSealer(config)).rejects.toThrow(pattern);
  });
});

describe("audit log", () => {
  it("records every URL issued and every change: who, what, where, expiry; never the signature", async () => {
    const { call, admin, logs, createClient } = await withAccount();
    const secret = await createClient("app", { operations: ["download"] });
    const url = (await call("GET", "/aws/storage/acc/b-1/dir/k.txt?expiration=60", `Bearer ${secret}`)).json.url;
    const audits = logs.filter((entry) => entry.audit);
    expect(audits.map((a) => [a.who, a.action, a.resource ?? a.key])).toEqual([
      ["admin", "create", "AwsAccount/acc"],
      ["admin", "create", "AwsAccount/other"],
      ["admin", "create", "Client/app"],
      ["Client/app", "presign", "dir/k.txt"],
    ]);
    expect(audits[3]).toMatchObject({ operation: "download", account: "acc", bucket: "b-1", "expires-in": 60, "expires-at": "2026-01-02T03:05:05Z" });
    expect(JSON.stringify(logs)).not.toContain(new URL(url).searchParams.get("X-Amz-Signature"));
    expect(JSON.stringify(logs)).not.toContain(secret);
    void admin;
  });
});

describe("CORS", () => {
  it("is off by default", async () => {
    const { app } = setup();
    const preflight = await app.request("/aws/storage/acc/b-1", { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers preflights for configured origins only, before authentication", async () => {
    const { app } = setup({ corsOrigins: ["https://app.example"] });
    const allowed = await app.request("/aws/storage/acc/b-1", { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const other = await app.request("/aws/storage/acc/b-1", { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

afterAll(() => {
  // No AWS secret, session token, admin token or client secret in any answer, header or log line of this file,
  // except each client secret in the one answer that creates or rotates it.
  expect(seen.length).toBeGreaterThan(100);
  const leaks: string[] = [];
  for (const { text, allowedSecret } of seen) {
    for (const secret of [AWS_SECRET, SESSION_TOKEN, ADMIN, "env-secret-key", ...clientSecrets]) {
      if (secret !== allowedSecret && text.includes(secret)) leaks.push(text.slice(0, 200));
    }
  }
  expect(leaks).toEqual([]);
});
