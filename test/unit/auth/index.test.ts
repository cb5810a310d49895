// Authentication through the app: what is hashed, what is cached, short admin tokens, refusals in the log.
import { describe, expect, it, vi } from "vitest";
import type { AwsAccount } from "../../../src/domain/account.ts";
import type { Client } from "../../../src/domain/client.ts";
import { cachedStore, MAX_ENTRIES } from "../../../src/store/cache.ts";
import { memoryStore } from "../../../src/store/memory.ts";
import type { ResourceStore } from "../../../src/store/store.ts";
import { createTestApp } from "../../app.ts";
import { adminToken } from "../../../src/auth/admin-token.ts";
import { clientSecret } from "../../../src/auth/client-secret.ts";
import { authenticator, type Authenticator } from "../../../src/auth/index.ts";
import { presented, presentedIdentity } from "../../../src/auth/presented.ts";
import { sha256Hex } from "../../../src/crypto/hash.ts";
import { HttpError } from "../../../src/errors.ts";

describe("authentication hygiene (issue 11, 5)", () => {
  it("hashes the presented secret whether or not its client exists", async () => {
    const { call, createClient } = createTestApp();
    await createClient("real", { operations: ["download"] });
    const digest = vi.spyOn(crypto.subtle, "digest");
    for (const id of ["real", "unknown"]) {
      digest.mockClear();
      const response = await call({ method: "GET", path: "/Client", auth: `Bearer ${id}~${"A".repeat(43)}` });
      expect(response.status).toBe(401);
      expect(digest, id).toHaveBeenCalledTimes(1);
    }
    digest.mockRestore();
  });

  it("keeps unknown ids apart in the cache: a flood of them does not push out real clients", { timeout: 30_000 }, async () => {
    const inner = memoryStore<Client>();
    let reads = 0;
    const counted: ResourceStore<Client> = { ...inner, get: (id) => (reads++, inner.get(id)) };
    const { call, createClient } = createTestApp({ clients: cachedStore(counted, 60_000) });
    const real = await createClient("real", { operations: ["download"] });
    expect((await call({ method: "GET", path: "/aws/storage/acc/b-1/k", auth: real })).status).toBe(404);
    reads = 0;
    for (let i = 0; i < MAX_ENTRIES; i++) await call({ method: "GET", path: "/Client", auth: `Bearer flood${i}~${"A".repeat(43)}` });
    expect(reads).toBe(MAX_ENTRIES);
    reads = 0;
    expect((await call({ method: "GET", path: "/aws/storage/acc/b-1/k", auth: real })).status).toBe(404);
    expect(reads).toBe(0);
  });

  it("refuses an admin token under 16 characters however the app is built (the runtimes refuse it earlier)", async () => {
    const { call } = createTestApp({ adminToken: "short-token" });
    const response = await call({ method: "GET", path: "/AwsAccount", auth: "Bearer short-token" });
    expect(response.status).toBe(503);
    expect(response.json.issue[0].diagnostics).toMatch(/at least 16 characters/);
  });

  it("logs refusals with who was presented, never the secret", async () => {
    const { call, logs, createClient } = createTestApp();
    const narrow = await createClient("narrow", { operations: ["download"] });
    const wrong = `Bearer narrow~${"B".repeat(43)}`;
    await call({ method: "GET", path: "/AwsAccount", auth: wrong });
    await call({ method: "GET", path: "/AwsAccount", auth: narrow });
    await call({ method: "GET", path: "/AwsAccount", auth: `Basic ${btoa("someone:guess")}` });
    const refusals = logs.filter((entry) => entry.status === 401 || entry.status === 403);
    expect(refusals.map((entry) => [entry.status, entry.who])).toEqual([[401, "Client/narrow"], [403, "Client/narrow"], [401, "Client/someone"]]);
    expect(refusals[1]!.refused).toBe("this client may not manage accounts");
    expect(JSON.stringify(logs)).not.toContain(narrow.slice(7));
    expect(JSON.stringify(logs)).not.toContain("guess");
  });
});

describe("the methods, on their own", () => {
  it("presented: reads Bearer and Basic, and nothing else", () => {
    expect(presented("Bearer abc")).toEqual({ scheme: "bearer", token: "abc" });
    expect(presented("bearer   abc  ")).toEqual({ scheme: "bearer", token: "abc" });
    expect(presented(`Basic ${btoa("app:s3cr:et")}`)).toEqual({ scheme: "basic", user: "app", secret: "s3cr:et" });
    for (const header of ["abc", "Bearer", "Bearer a b", "Basic !!!", `Basic ${btoa("no-colon")}`, "Digest x", ""]) expect(presented(header), header).toBeUndefined();
    expect(presented(null)).toBeUndefined();
  });

  it("presentedIdentity names the client a secret names, never the secret", () => {
    expect(presentedIdentity(`Bearer app~${"A".repeat(43)}`)).toBe("Client/app");
    expect(presentedIdentity(`Basic ${btoa("someone:guess")}`)).toBe("Client/someone");
    expect(presentedIdentity("Bearer plain-token")).toBe("a bearer token");
    expect(presentedIdentity("garbage")).toBe("malformed");
    expect(presentedIdentity(null)).toBeUndefined();
  });

  it("adminToken: the bearer token, exactly; never Basic", async () => {
    const admin = adminToken("the-admin-token-0123456789");
    expect(await admin({ scheme: "bearer", token: "the-admin-token-0123456789" })).toEqual({ admin: true, id: "admin" });
    expect(await admin({ scheme: "bearer", token: "the-admin-token-012345678" })).toBeUndefined();
    expect(await admin({ scheme: "bearer", token: "the-admin-token-0123456789x" })).toBeUndefined();
    expect(await admin({ scheme: "basic", user: "admin", secret: "the-admin-token-0123456789" })).toBeUndefined();
  });

  it("clientSecret: the secret that hashes to the stored hash, by Bearer or Basic with the same id", async () => {
    const secret = `app~${"B".repeat(43)}`;
    const clients = memoryStore<Client>();
    await clients.put("app", () => ({ resourceType: "Client", id: "app", policy: { operations: ["download"], accounts: ["*"], buckets: ["*"] }, "secret-hash": "", meta: { versionId: "1", lastUpdated: "2026-01-02T00:00:00.000Z" } }));
    const stored = await sha256Hex(secret);
    await clients.put("app", (client) => ({ ...client!, "secret-hash": stored }));
    const method = clientSecret(clients);
    expect(await method({ scheme: "bearer", token: secret })).toMatchObject({ admin: false, id: "app", policy: { operations: ["download"] } });
    expect(await method({ scheme: "basic", user: "app", secret })).toMatchObject({ id: "app" });
    expect(await method({ scheme: "basic", user: "other", secret })).toBeUndefined();
    expect(await method({ scheme: "bearer", token: `app~${"C".repeat(43)}` })).toBeUndefined();
    expect(await method({ scheme: "bearer", token: "not-a-client-secret" })).toBeUndefined();
    await clients.put("app", (client) => ({ ...client!, policy: null as never }));
    await expect(method({ scheme: "bearer", token: secret })).rejects.toThrow(/stored in a form signpost cannot use/);
  });

  it("authenticator: tries the methods in turn; 401 says missing, malformed or invalid; 503 when not configured", async () => {
    const ask = (authorization: string | null) => ({ authorization, cookie: null, method: "GET", contentType: null, fetchSite: null });
    const calls: string[] = [];
    const never: Authenticator = async () => (calls.push("never"), undefined);
    const always: Authenticator = async () => (calls.push("always"), { admin: true, id: "admin" });
    expect(await authenticator([never, always])(ask("Bearer x"))).toEqual({ admin: true, id: "admin" });
    expect(calls).toEqual(["never", "always"]);
    const none = authenticator([never]);
    for (const [header, message] of [[null, /^missing credentials/], ["x", /^malformed credentials/], ["Bearer x", /^invalid credentials$/]] as const) {
      const error = await none(ask(header)).catch((e: HttpError) => e);
      expect(error).toBeInstanceOf(HttpError);
      expect((error as HttpError).status).toBe(401);
      expect((error as HttpError).message).toMatch(message);
      expect((error as HttpError).headers["www-authenticate"]).toMatch(/^Bearer realm="signpost"/);
    }
    const closed = await authenticator([always], "set SIGNPOST_ADMIN_TOKEN")(ask("Bearer x")).catch((e: HttpError) => e);
    expect((closed as HttpError).status).toBe(503);
  });
});
