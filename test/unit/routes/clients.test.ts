// /Client and what clients may do, in process: secrets shown once, policies on every route, managers who grant no
// more than they hold, the audit log; no secret in any answer or log line of this file.
import { afterAll, describe, expect, it } from "vitest";
import type { AwsAccount } from "../../../src/domain/account.ts";
import type { Client } from "../../../src/domain/client.ts";
import { fromEnv } from "../../../src/credentials/env.ts";
import type { Sealer } from "../../../src/crypto/seal.ts";
import { memoryStore } from "../../../src/store/memory.ts";
import { ADMIN_TOKEN, createTestApp, KEYS } from "../../app.ts";
import type { ResourceStore } from "../../../src/store/store.ts";

const ADMIN = ADMIN_TOKEN;
const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE+session/token=";
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

// Every answer and log line of this file, checked for secrets at the end.
const seen: { text: string; allowedSecret?: string }[] = [];
const clientSecrets = new Set<string>();
/** The secret in an Authorization header. */
const secretOf = (header: string) => header.slice("Bearer ".length);

function setup(options: { sealer?: Sealer; corsOrigins?: string[] } = {}) {
  const t = createTestApp({
    ...(options.sealer ? { sealer: options.sealer } : {}),
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
    credentials: fromEnv({ AWS_ACCESS_KEY_ID: "ASIAENV", AWS_SECRET_ACCESS_KEY: "env-secret-key", AWS_SESSION_TOKEN: SESSION_TOKEN }),
    observe: (text, answer) => {
      if (answer?.json?.secret) clientSecrets.add(answer.json.secret);
      seen.push({ text, allowedSecret: answer?.json?.secret });
    },
  });
  return { ...t, store: t.accounts };
}

async function withAccount(options?: Parameters<typeof setup>[0]) {
  const context = setup(options);
  // single-tenant: these tests are about signpost's own checks, not the S3 back end's (test/e2e/security.test.ts)
  const account = { region: "us-east-1", "access-key-id": "AKIAIOSFODNN7EXAMPLE", "secret-access-key": AWS_SECRET, "single-tenant": true };
  expect((await context.call({ method: "PUT", path: "/AwsAccount/acc", auth: context.admin, body: account })).status).toBe(201);
  expect((await context.call({ method: "PUT", path: "/AwsAccount/other", auth: context.admin, body: account })).status).toBe(201);
  return context;
}

describe("clients", () => {
  it("shows the secret once (201), keeps only its hash, and never shows it again", async () => {
    const { call, admin, clients } = setup();
    const created = await call({ method: "PUT", path: "/Client/app", body: { policy: { operations: ["download"] } } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ resourceType: "Client", id: "app", policy: { operations: ["download"], accounts: ["*"], buckets: ["*"] } });
    expect(created.json.secret).toMatch(/^app~[A-Za-z0-9_-]{43}$/);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const stored = await clients.get("app");
    expect(JSON.stringify(stored)).not.toContain(created.json.secret);
    expect(stored!["secret-hash"]).toMatch(/^[0-9a-f]{64}$/);
    for (const answer of [
      await call({ method: "GET", path: "/Client/app" }),
      await call({ method: "GET", path: "/Client" }),
      await call({ method: "PUT", path: "/Client/app", body: { policy: { operations: ["upload"] } } }),
      await call({ method: "DELETE", path: "/Client/app" }),
    ]) {
      expect(answer.status).toBeLessThan(300);
      expect(answer.text).not.toContain(created.json.secret);
      expect(answer.text).not.toContain("secret-hash");
      expect(answer.json.secret).toBeUndefined();
    }
  });

  it("authenticates with Bearer <secret> and Basic <id:secret>; refuses wrong, deleted and rotated secrets", async () => {
    const { call, admin, createClient } = await withAccount();
    const secret = secretOf(await createClient("app", { operations: ["download"] }));
    const basic = (id: string, password: string) => `Basic ${btoa(`${id}:${password}`)}`;
    expect((await call({ method: "GET", path: "/aws/storage/acc/bucket/k", auth: `Bearer ${secret}` })).status).toBe(200);
    expect((await call({ method: "GET", path: "/aws/storage/acc/bucket/k", auth: basic("app", secret) })).status).toBe(200);
    expect((await call({ method: "GET", path: "/aws/storage/acc/bucket/k", auth: basic("other", secret) })).status).toBe(401);
    expect((await call({ method: "GET", path: "/aws/storage/acc/bucket/k", auth: `Bearer ${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}` })).status).toBe(401);
    expect((await call({ method: "GET", path: "/aws/storage/acc/bucket/k", auth: basic("admin", ADMIN) })).status).toBe(401);

    const rotated = await call({ method: "POST", path: "/Client/app/$rotate-secret" });
    expect(rotated.status).toBe(200);
    expect(rotated.json.secret).not.toBe(secret);
    expect((await call({ method: "GET", path: "/aws/storage/acc/bucket/k", auth: `Bearer ${secret}` })).status).toBe(401);
    expect((await call({ method: "GET", path: "/aws/storage/acc/bucket/k", auth: `Bearer ${rotated.json.secret}` })).status).toBe(200);

    expect((await call({ method: "DELETE", path: "/Client/app" })).status).toBe(200);
    expect((await call({ method: "GET", path: "/aws/storage/acc/bucket/k", auth: `Bearer ${rotated.json.secret}` })).status).toBe(401);
    expect((await call({ method: "POST", path: "/Client/app/$rotate-secret" })).status).toBe(404);
  });

  it.each([
    ["no policy", {}, /policy is required/],
    ["an unknown operation", { policy: { operations: ["admin"] } }, /operations/],
    ["an empty operation list", { policy: { operations: [] } }, /operations must be a list/],
    ["a bad account id", { policy: { operations: ["upload"], accounts: ["a_b"] } }, /accounts/],
    ["a bad bucket", { policy: { operations: ["upload"], buckets: ["Bad"] } }, /buckets/],
    // null is not "left out": YAML's `buckets:` with its list forgotten would otherwise grant every bucket.
    ["buckets: null", { policy: { operations: ["upload"], buckets: null } }, /policy.buckets must be a list of 1 to 100 entries/],
    ["accounts: null", { policy: { operations: ["upload"], accounts: null } }, /policy.accounts must be a list of 1 to 100 entries/],
    ["a fractional max-expiration", { policy: { operations: ["upload"], "max-expiration": 1.5 } }, /max-expiration/],
    ["a secret chosen by the caller", { policy: { operations: ["upload"] }, secret: "mine" }, /secret cannot be set/],
    ["an unknown policy field", { policy: { operations: ["upload"], admin: true } }, /Client policy: unknown field: "admin"/],
    ["__proto__", JSON.parse('{"policy":{"operations":["upload"]},"__proto__":{"x":1}}'), /unknown field: "__proto__"/],
    ["a policy that is not an object", { policy: null }, /^Client: policy is required and must be an object$/],
    ["a policy that is a list", { policy: ["upload"] }, /^Client: policy is required and must be an object$/],
    ["an unknown field, told what is accepted", { policy: { operations: ["upload"] }, secrets: "x" }, /^Client: unknown field: "secrets"; only resourceType, id, meta, description, policy are accepted$/],
  ])("refuses a client with %s (400)", async (_, body, pattern) => {
    const { call, admin, clients } = setup();
    const response = await call({ method: "PUT", path: "/Client/c", body });
    expect(response.status).toBe(400);
    expect(response.json.issue[0].diagnostics).toMatch(pattern);
    expect(await clients.get("c")).toBeNull();
  });
});

describe("policies", () => {
  it("binds key prefixes to the caller and names only what was refused", async () => {
    const { call, createClient } = await withAccount();
    const alice = secretOf(await createClient("alice", { operations: ["upload", "download"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["users/{client}/"] }));
    const as = `Bearer ${alice}`;
    expect((await call({ method: "POST", path: "/aws/storage/acc/uploads", auth: as, body: { filename: "users/alice/photo.jpg" } })).status).toBe(200);
    expect((await call({ method: "GET", path: "/aws/storage/acc/uploads/users/alice/photo.jpg", auth: as })).status).toBe(200);
    const other = await call({ method: "GET", path: "/aws/storage/acc/uploads/users/bob/photo.jpg", auth: as });
    expect(other.status).toBe(403);
    expect(other.json.issue[0].code).toBe("forbidden");
    expect(other.json.issue[0].diagnostics).toContain("users/alice/");
    const bucket = await call({ method: "GET", path: "/aws/storage/acc/private/users/alice/x", auth: as });
    expect(bucket.status).toBe(403);
    expect(bucket.json.issue[0].diagnostics).toBe("this client may not use bucket private");
    const account = await call({ method: "GET", path: "/aws/storage/other/uploads/users/alice/x", auth: as });
    expect(account.json.issue[0].diagnostics).toBe("this client may not use AwsAccount/other");
    expect((await call({ method: "DELETE", path: "/aws/storage/acc/uploads/users/alice/photo.jpg", auth: as })).status).toBe(403);
  });

  it("caps the default expiration at max-expiration and refuses more", async () => {
    const { call, createClient } = await withAccount();
    const secret = await createClient("short", { operations: ["download"], "max-expiration": 600 });
    const fallback = await call({ method: "GET", path: "/aws/storage/acc/b-1/k", auth: secret });
    expect(new URL(fallback.json.url).searchParams.get("X-Amz-Expires")).toBe("600");
    const asked = await call({ method: "GET", path: "/aws/storage/acc/b-1/k?expiration=300", auth: secret });
    expect(new URL(asked.json.url).searchParams.get("X-Amz-Expires")).toBe("300");
    const tooLong = await call({ method: "GET", path: "/aws/storage/acc/b-1/k?expiration=601", auth: secret });
    expect(tooLong.status).toBe(403);
    expect(tooLong.json.issue[0].diagnostics).toMatch(/over 600 seconds/);
  });

  it("lets a client manager grant no more than it holds", async () => {
    const { call, createClient } = await withAccount();
    const manager = await createClient("manager", { operations: ["manage-clients", "upload"], accounts: ["acc"], buckets: ["b-1"], prefixes: ["team/"] });
    const within = { operations: ["upload"], accounts: ["acc"], buckets: ["b-1"], prefixes: ["team/x/"] };
    expect((await call({ method: "PUT", path: "/Client/worker", auth: manager, body: { policy: within } })).status).toBe(201);
    for (const wider of [
      { ...within, operations: ["download"] },
      { ...within, accounts: ["*"] },
      { ...within, buckets: ["b-2"] },
      { ...within, prefixes: ["other/"] },
      { operations: ["upload"], accounts: ["acc"], buckets: ["b-1"] },
      { ...within, operations: ["manage-accounts"] },
    ]) {
      const response = await call({ method: "PUT", path: "/Client/worker2", auth: manager, body: { policy: wider } });
      expect(response.status, JSON.stringify(wider)).toBe(403);
    }
    await createClient("boss", { operations: ["manage-accounts"] });
    expect((await call({ method: "DELETE", path: "/Client/boss", auth: manager })).status).toBe(403);
    expect((await call({ method: "POST", path: "/Client/boss/$rotate-secret", auth: manager })).status).toBe(403);
    expect((await call({ method: "PUT", path: "/Client/boss", auth: manager, body: { policy: within } })).status).toBe(403);
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
    else if (caller === "no grant") auth = await createClient("caller", { operations: ["download"], accounts: ["other"] });
    else if (caller !== "anonymous") auth = await createClient("caller", { operations: [caller], accounts: ["acc"], buckets: ["bucket"] });
    const response = await call({ method, path, auth: auth ?? null, body });
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

describe("audit log", () => {
  it("records every URL issued and every change: who, what, where, expiry; never the signature", async () => {
    const { call, admin, logs, createClient } = await withAccount();
    const secret = secretOf(await createClient("app", { operations: ["download"] }));
    const url = (await call({ method: "GET", path: "/aws/storage/acc/b-1/dir/k.txt?expiration=60", auth: `Bearer ${secret}` })).json.url;
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

describe("client managers (issue 11, 2)", () => {
  const team = { operations: ["manage-clients", "upload", "download"], accounts: ["acc"], buckets: ["b-1"], prefixes: ["users/{client}/"] };

  it("compare templates filled in for each side: a manager cannot take over or create peers with the same template", async () => {
    const { call, admin, createClient } = createTestApp();
    await call({ method: "PUT", path: "/AwsAccount/acc", body: { region: "us-east-1", ...KEYS } });
    const mgr = await createClient("mgr", team);
    const victim = await createClient("victim", team);
    // users/{client}/ means users/victim/ for the victim, users/mgr/ for the manager: not within.
    expect((await call({ method: "POST", path: "/Client/victim/$rotate-secret", auth: mgr })).status).toBe(403);
    expect((await call({ method: "DELETE", path: "/Client/victim", auth: mgr })).status).toBe(403);
    expect((await call({ method: "PUT", path: "/Client/victim", auth: mgr, body: { policy: team } })).status).toBe(403);
    expect((await call({ method: "GET", path: "/Client/victim", auth: mgr })).status).toBe(403);
    expect((await call({ method: "PUT", path: "/Client/anyone", auth: mgr, body: { policy: team } })).status).toBe(403);
    // The victim's secret still works, and its record is untouched.
    expect((await call({ method: "GET", path: "/aws/storage/acc/b-1/users/victim/x", auth: victim })).status).toBe(200);
    expect((await call({ method: "GET", path: "/Client/victim" })).json.meta.versionId).toBe("1");
    // What is within its own folder it may hand out, and the list shows only those.
    const worker = { operations: ["download"], accounts: ["acc"], buckets: ["b-1"], prefixes: ["users/mgr/photos/"] };
    expect((await call({ method: "PUT", path: "/Client/worker", auth: mgr, body: { policy: worker } })).status).toBe(201);
    const listed = (await call({ method: "GET", path: "/Client", auth: mgr })).json.entry.map((entry: { resource: { id: string } }) => entry.resource.id);
    expect(listed.sort()).toEqual(["mgr", "worker"]);
  });

  it("decide on the client as stored at the write, not on an earlier read", async () => {
    // A store whose reads show a harmless client while the record the write sees holds more, as when it changed
    // between the check and the write.
    const inner = memoryStore<Client>();
    const racing: ResourceStore<Client> = { ...inner, get: async (id) => (id === "target" ? null : inner.get(id)) };
    const { call, admin, createClient } = createTestApp({ clients: racing });
    const mgr = await createClient("mgr", { operations: ["manage-clients", "download"], accounts: ["acc"] });
    expect((await call({ method: "PUT", path: "/Client/target", body: { policy: { operations: ["manage-accounts", "download"] } } })).status).toBe(201);
    expect((await call({ method: "DELETE", path: "/Client/target", auth: mgr })).status).toBe(403);
    expect((await call({ method: "POST", path: "/Client/target/$rotate-secret", auth: mgr })).status).toBe(403);
    expect((await call({ method: "PUT", path: "/Client/target", auth: mgr, body: { policy: { operations: ["download"], accounts: ["acc"] } } })).status).toBe(403);
    expect((await inner.get("target"))!.policy.operations).toEqual(["manage-accounts", "download"]);
  });

  it("refuse client ids that read as the admin, and name clients as Client/<id> in the audit log", async () => {
    const { call, admin, logs, createClient } = createTestApp();
    for (const id of ["admin", "Admin", "ADMIN"]) {
      const response = await call({ method: "PUT", path: `/Client/${id}`, body: { policy: { operations: ["download"] } } });
      expect(response.status, id).toBe(400);
      expect(response.json.issue[0].diagnostics).toMatch(/reserved/);
    }
    const app = await createClient("app", { operations: ["download"] });
    expect((await call({ method: "GET", path: "/aws/storage/acc/b-1/k", auth: app })).status).toBe(404); // no such account: refused after the policy check
    await call({ method: "PUT", path: "/AwsAccount/acc", body: { region: "us-east-1", ...KEYS } });
    await call({ method: "GET", path: "/aws/storage/acc/b-1/k", auth: app });
    const whos = logs.filter((entry) => entry.audit).map((entry) => entry.who);
    expect(whos).toEqual(["admin", "admin", "Client/app"]);
  });
});
