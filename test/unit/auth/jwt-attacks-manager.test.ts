// Attacks on end-user tokens (issue 14, a security review): /TokenIntrospector management, SSRF through key-set URLs,
// the HS256 secret. "HOLE:" tests failed on the first version (each fixed); "holds:" ones passed.
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import type { TokenIntrospector } from "../../../src/domain/introspector.ts";
import { memoryStore } from "../../../src/store/memory.ts";
import { createTestApp, diagnostics, NOW, SAMPLE_ACCOUNT } from "../../app.ts";

const exp = NOW / 1000 + 600;
const HS_SECRET = "the-shared-secret-0123456789-abcdefghij";
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const forged = (iss: string, kid = "k") => `${b64({ alg: "ES256", kid })}.${b64({ iss, sub: "alice", exp })}.AAAA`;
const hsToken = (iss: string, secret = HS_SECRET, sub = "alice") => new SignJWT({ iss, sub, exp }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(secret));

function app(fetched: string[] = [], serve: (url: string) => Response | Promise<Response> = () => new Response("nope", { status: 404 }), listDelayMs = 0) {
  const seen: string[] = [];
  // A store with a network's latency (Deno KV, Workers KV): list() takes a while, as it does there.
  const store = memoryStore<TokenIntrospector>();
  const introspectors = { ...store, list: async () => { const all = await store.list(); await new Promise((r) => setTimeout(r, listDelayMs)); return all; } };
  const t = createTestApp({
    introspectors,
    fetch: (async (input: RequestInfo | URL) => {
      const url = String(input instanceof Request ? input.url : input);
      fetched.push(url);
      return serve(url);
    }) as typeof fetch,
    observe: (text) => seen.push(text),
  });
  return { ...t, seen };
}
const MANAGER_POLICY = { operations: ["manage-introspectors", "upload", "download"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["tenants/acme/"], "max-expiration": 600 };
const inside = { operations: ["upload"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["tenants/acme/{jwt.sub}/"], "max-expiration": 600 };

describe("managers", () => {
  it("HOLE: one issuer, one introspector holds under concurrent PUTs (check-then-write race)", async () => {
    const t = app([], undefined, 20);
    const managerKey = await generateKeyPair("ES256");
    const key = { ...(await exportJWK(managerKey.publicKey)) };
    const manager = await t.createClient("mgr", MANAGER_POLICY);
    const iss = "https://idp.example.com";
    // The admin creates the production introspector; a manager races it with one sorting first by id.
    const [admin, raced] = await Promise.all([
      t.call({ method: "PUT", path: "/TokenIntrospector/prod", body: { type: "jwt", jwt: { iss }, policy: { operations: ["download"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["users/{jwt.sub}/"] } } }),
      t.call({ method: "PUT", path: "/TokenIntrospector/aaa", auth: manager, body: { type: "jwt", jwt: { iss, keys: [key] }, policy: inside } }),
    ]);
    const stored = (await t.introspectors.list()).filter((introspector) => introspector.jwt.iss === iss).map((introspector) => introspector.id);
    // Both may be stored (the store has no uniqueness across records): then neither is used, so the manager's
    // keys never check the issuer's tokens.
    expect(stored, `PUT prod: ${admin.status}, PUT aaa: ${raced.status}`).toEqual(["aaa", "prod"]);
    await t.putAccount("acc", { ...SAMPLE_ACCOUNT, "single-tenant": true });
    const token = await new SignJWT({ iss, sub: "alice", exp }).setProtectedHeader({ alg: "ES256" }).sign(managerKey.privateKey);
    const answer = await t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${token}`, body: { filename: "tenants/acme/alice/x" } });
    expect(answer.status).toBe(503);
    expect(diagnostics(answer)).toMatch(/more than one TokenIntrospector accepts tokens from this issuer/);
  });

  it("HOLE: a manager cannot make signpost fetch http://127.0.0.1:<port> (and any caller then reads back what answered)", async () => {
    const fetched: string[] = [];
    const t = app(fetched, (url) => (url.includes(":6379") ? Promise.reject(Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } })) : new Response("<html>admin</html>", { status: 200 })));
    const manager = await t.createClient("mgr", MANAGER_POLICY);
    for (const [id, uri] of [["scan1", "http://127.0.0.1:6379/"], ["scan2", "http://localhost:8500/v1/agent/self"], ["scan3", "http://[::1]:2375/containers/json"], ["scan4", "HTTP://127.0.0.1:6379/"], ["scan5", "Http://localhost:8500/"]] as const) {
      const put = await t.call({ method: "PUT", path: `/TokenIntrospector/${id}`, auth: manager, body: { type: "jwt", jwt: { iss: `https://${id}.example.com` }, jwks_uri: uri, policy: inside } });
      if (put.status !== 201) continue;
      // Unauthenticated: a forged token naming that issuer makes the fetch; the 503 says what the port did.
      const answer = await t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${forged(`https://${id}.example.com`)}`, body: { filename: "x" } });
      expect(answer.status).toBe(503);
    }
    expect(fetched, `loopback URLs fetched at a non-admin's request: ${fetched.join(", ")}`).toEqual([]);
    // The issuer itself, in capitals (a review, 2026-12-01): its discovery document would be fetched from loopback.
    for (const iss of ["HTTP://127.0.0.1:6379", "hTTp://localhost:8500"]) {
      expect((await t.call({ method: "PUT", path: "/TokenIntrospector/scan-iss", auth: manager, body: { type: "jwt", jwt: { iss }, policy: inside } })).status, iss).toBe(403);
    }
  });

  it("HOLE: nor through the discovery document of an https issuer it names (a review, 2026-12-01)", async () => {
    const fetched: string[] = [];
    const iss = "https://attacker.example.com";
    const t = app(fetched, (url) => (url === `${iss}/.well-known/openid-configuration` ? Response.json({ issuer: iss, jwks_uri: "http://127.0.0.1:6379/internal?x=1" }) : new Response("internal", { status: 200 })));
    const manager = await t.createClient("mgr", MANAGER_POLICY);
    expect((await t.call({ method: "PUT", path: "/TokenIntrospector/x", auth: manager, body: { type: "jwt", jwt: { iss }, policy: inside } })).status).toBe(201);
    const answer = await t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${forged(iss)}`, body: { filename: "x" } });
    expect(answer.status).toBe(503);
    expect(fetched).toEqual([`${iss}/.well-known/openid-configuration`]);
    expect(t.seen.join("\n")).toMatch(/the discovery document of an https issuer names an http jwks_uri/);
  });

  it("HOLE: a PATCH does not write over an introspector deleted and made anew while it ran (its versionId starts again at 1; a review, 2026-12-01)", async () => {
    const store = memoryStore<TokenIntrospector>();
    let remake: (() => Promise<void>) | undefined;
    // Another replica deletes and re-creates the record between this PATCH's read and its write.
    const racing = { ...store, get: async (id: string) => { const found = await store.get(id); await remake?.(); remake = undefined; return found; } };
    const t = createTestApp({ introspectors: racing });
    const body = (iss: string) => ({ type: "jwt", jwt: { iss }, policy: inside });
    expect((await t.call({ method: "PUT", path: "/TokenIntrospector/idp", body: body("https://old.example.com") })).status).toBe(201);
    remake = async () => {
      const old = (await store.get("idp"))!;
      await store.delete("idp");
      await store.put("idp", () => ({ ...old, jwt: { iss: "https://new.example.com" }, meta: { versionId: "1", lastUpdated: "2026-12-01T15:00:00.000Z" } }));
    };
    const patched = await t.call({ method: "PATCH", path: "/TokenIntrospector/idp", body: { cache_ttl: 60 } });
    expect(patched.status, patched.text).toBe(409);
    expect((await store.get("idp"))!.jwt.iss).toBe("https://new.example.com");
  });

  it("HOLE: a PUT that switches an HS256 introspector to discovery stops accepting the old shared secret", async () => {
    const t = app();
    await t.putAccount("acc", { ...SAMPLE_ACCOUNT, "single-tenant": true });
    const iss = "https://idp.example.com";
    const policy = { operations: ["upload"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["users/{jwt.sub}/"] };
    expect((await t.call({ method: "PUT", path: "/TokenIntrospector/app", body: { type: "jwt", jwt: { iss, secret: HS_SECRET }, policy } })).status).toBe(201);
    // The secret leaked; the admin replaces the whole resource with one that finds keys through discovery.
    const replaced = await t.call({ method: "PUT", path: "/TokenIntrospector/app", body: { type: "jwt", jwt: { iss }, policy } });
    expect(replaced.status).toBe(200);
    expect(replaced.json.jwt).toEqual({ iss }); // nothing shown says a secret is still there
    const answer = await t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${await hsToken(iss, HS_SECRET, "anyone")}`, body: { filename: "users/anyone/x" } });
    expect(answer.status, "a token signed with the withdrawn secret still works").toBe(401);
  });

  it("BUG (fails closed): an HS256 secret containing the word PUBLIC or PRIVATE verifies its own tokens", async () => {
    const t = app();
    await t.putAccount("acc", { ...SAMPLE_ACCOUNT, "single-tenant": true });
    const policy = { operations: ["upload"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["users/{jwt.sub}/"] };
    for (const [id, secret] of [["pub", "my-PUBLIC-api-shared-secret-0123456789"], ["priv", "PRIVATE-shared-secret-0123456789abcdef"]] as const) {
      const iss = `https://${id}.example.com`;
      expect((await t.call({ method: "PUT", path: `/TokenIntrospector/${id}`, body: { type: "jwt", jwt: { iss, secret }, policy } })).status).toBe(201);
      // hono's verify takes a string key holding "PUBLIC"/"PRIVATE" for PEM, so the HMAC key is never imported.
      const answer = await t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${await hsToken(iss, secret)}`, body: { filename: "users/alice/x" } });
      expect(answer.status, `${id}: ${answer.text}`).toBe(200);
    }
  });

  it("holds: a manager cannot hand tokens more than it holds (accounts *, buckets *, more operations, longer max-expiration, other or no prefixes)", async () => {
    const t = app();
    const manager = await t.createClient("mgr", MANAGER_POLICY);
    const put = (policy: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      t.call({ method: "PUT", path: "/TokenIntrospector/x", auth: manager, body: { type: "jwt", jwt: { iss: "https://x.example.com" }, policy, ...extra } });
    for (const policy of [
      { ...inside, accounts: ["*"] },
      { ...inside, accounts: ["acc", "other"] },
      { ...inside, buckets: ["*"] },
      { ...inside, operations: ["upload", "delete"] },
      { ...inside, "max-expiration": 601 },
      (({ "max-expiration": _, ...rest }) => rest)(inside),
      (({ prefixes: _, ...rest }) => rest)(inside),
      { ...inside, prefixes: ["tenants/{jwt.tenant}/"] },
      { ...inside, prefixes: ["tenants/acm{jwt.x}/"] },
      { ...inside, prefixes: ["{jwt.sub}/tenants/acme/"] },
      { ...inside, prefixes: ["tenants/acme/{jwt.sub}/", "tenants/other/"] },
    ]) {
      const answer = await put(policy);
      expect(answer.status, JSON.stringify(policy)).toBe(403);
    }
    for (const operations of [["manage-clients"], ["manage-introspectors"], ["use-default-credentials"], ["assume-role"]]) {
      expect((await put({ ...inside, operations })).status).toBe(400);
    }
    // Prototype and brace tricks in the body.
    expect((await t.call({ method: "PUT", path: "/TokenIntrospector/x", auth: manager, body: JSON.parse(`{"type":"jwt","jwt":{"iss":"https://x.example.com"},"policy":${JSON.stringify(inside)},"__proto__":{"admin":true}}`) })).status).toBe(400);
    expect((await put({ ...inside, prefixes: ["tenants/acme/{client}/"] })).status).toBe(400);
    const created = await put(inside);
    expect(created.status).toBe(201);
    // And a PATCH cannot widen it afterwards.
    for (const patch of [{ policy: { accounts: ["*"] } }, { policy: { prefixes: null } }, { policy: { "max-expiration": null } }]) {
      expect((await t.call({ method: "PATCH", path: "/TokenIntrospector/x", auth: manager, body: patch })).status, JSON.stringify(patch)).toBe(403);
    }
    expect((await t.call({ method: "PATCH", path: "/TokenIntrospector/x", auth: manager, body: JSON.parse('{"__proto__":{"policy":{"accounts":["*"]}}}') })).status).toBeGreaterThanOrEqual(400);
  });

  it("holds: SSRF guards on jwt.iss / jwks_uri: metadata and link-local in every spelling, http off this machine, credentials in URLs", async () => {
    const t = app();
    for (const uri of [
      "https://169.254.169.254/latest/meta-data/", "https://0251.0376.0251.0376/", "https://0xa9fea9fe/", "https://2852039166/", "https://169.254.169.254./",
      "https://[::ffff:169.254.169.254]/", "https://[::ffff:a9fe:a9fe]/", "https://[fd00:ec2::254]/", "https://[2002:a9fe:a9fe::]/", "https://[64:ff9b::a9fe:a9fe]/",
      "https://[fe80::1]/", "https://[::]/", "https://0.0.0.0/", "https://metadata.google.internal/", "https://METADATA.GOOGLE.INTERNAL/", "https://100.100.100.200/",
      "https://168.63.129.16/", "http://10.0.0.5/", "http://idp.example.com/", "http://localhost.example.com/", "http://127.0.0.1.nip.io/", "http://[::ffff:127.0.0.1]/",
      "https://user:pass@idp.example.com/", "https://idp.example.com/#x", "file:///etc/passwd", "gopher://127.0.0.1/", "ftp://127.0.0.1/",
    ]) {
      const answer = await t.call({ method: "PUT", path: "/TokenIntrospector/x", body: { type: "jwt", jwt: { iss: "https://idp.example.com" }, jwks_uri: uri, policy: inside } });
      expect(answer.status, uri).toBe(400);
    }
  });

  it("holds: a discovery document cannot send the key fetch to a metadata address, nor be for another issuer; redirects are not followed", async () => {
    const fetched: string[] = [];
    const iss = "https://idp.example.com";
    const t = app(fetched, (url) => new Response(JSON.stringify({ issuer: iss, jwks_uri: "https://[::ffff:169.254.169.254]/keys" }), { status: 200 }));
    await t.putAccount("acc", { ...SAMPLE_ACCOUNT, "single-tenant": true });
    expect((await t.call({ method: "PUT", path: "/TokenIntrospector/x", body: { type: "jwt", jwt: { iss }, policy: inside } })).status).toBe(201);
    const answer = await t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${forged(iss)}`, body: { filename: "x" } });
    expect(answer.status).toBe(503);
    expect(diagnostics(answer)).not.toMatch(/jwks_uri/);
    expect(t.logs.some((line) => /jwks_uri/.test(String(line.error)))).toBe(true);
    expect(fetched).toEqual([`${iss}/.well-known/openid-configuration`]);
  });

  it("holds: the HS256 secret never appears in answers, audit or log lines, errors, or to a manager", async () => {
    const t = app();
    await t.putAccount("acc", { ...SAMPLE_ACCOUNT, "single-tenant": true });
    const manager = await t.createClient("mgr", MANAGER_POLICY);
    const iss = "https://hs.example.com";
    const created = await t.call({ method: "PUT", path: "/TokenIntrospector/hs", auth: manager, body: { type: "jwt", jwt: { iss, secret: HS_SECRET }, policy: inside } });
    expect(created.status).toBe(201);
    await t.call({ method: "GET", path: "/TokenIntrospector/hs", auth: manager });
    await t.call({ method: "GET", path: "/TokenIntrospector", auth: manager });
    await t.call({ method: "GET", path: "/TokenIntrospector/hs/_history/1", auth: manager });
    await t.call({ method: "GET", path: "/TokenIntrospector/hs", headers: { accept: "text/yaml" } });
    await t.call({ method: "PATCH", path: "/TokenIntrospector/hs", auth: manager, body: { jwt: { iss, secret: "short" } } });
    await t.call({ method: "PATCH", path: "/TokenIntrospector/hs", auth: manager, body: { jwt: { keys: [{ kty: "EC" }] } } });
    await t.call({ method: "PUT", path: "/TokenIntrospector/hs", auth: manager, body: { type: "jwt", jwt: { iss, secret: HS_SECRET }, jwks_uri: "https://x.example.com/", policy: inside } });
    // Tokens: good, wrong secret, wrong alg, expired, bad claim; each answer and log line looked at.
    const good = await hsToken(iss, HS_SECRET, "bob");
    expect((await t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${good}`, body: { filename: "tenants/acme/bob/x" } })).status).toBe(200);
    await t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${await hsToken(iss, `${HS_SECRET}!`)}`, body: { filename: "x" } });
    await t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${await hsToken(iss, HS_SECRET, "a/b")}`, body: { filename: "x" } });
    await t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${forged(iss)}`, body: { filename: "x" } });
    const all = [...t.seen, ...t.logs.map((line) => JSON.stringify(line))].join("\n");
    expect(all).not.toContain(HS_SECRET);
    expect(all).not.toContain(Buffer.from(HS_SECRET).toString("base64"));
    expect(all).not.toContain(good); // nor a token
    expect(all).not.toMatch(/sealed:/);
  });

  it("holds: a deleted or changed introspector is refused at once on this replica; the manager's changes do not reach the admin's", async () => {
    const t = app();
    await t.putAccount("acc", { ...SAMPLE_ACCOUNT, "single-tenant": true });
    const iss = "https://hs.example.com";
    expect((await t.call({ method: "PUT", path: "/TokenIntrospector/hs", body: { type: "jwt", jwt: { iss, secret: HS_SECRET }, policy: inside } })).status).toBe(201);
    const token = await hsToken(iss, HS_SECRET, "bob");
    const upload = () => t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${token}`, body: { filename: "tenants/acme/bob/x" } });
    expect((await upload()).status).toBe(200);
    expect((await t.call({ method: "PATCH", path: "/TokenIntrospector/hs", body: { audience: "signpost" } })).status).toBe(200);
    expect((await upload()).status).toBe(401);
    expect((await t.call({ method: "PATCH", path: "/TokenIntrospector/hs", body: { audience: null, policy: { prefixes: ["other/{jwt.sub}/"] } } })).status).toBe(200);
    expect((await upload()).status).toBe(403);
    expect((await t.call({ method: "DELETE", path: "/TokenIntrospector/hs" })).status).toBe(200);
    expect((await upload()).status).toBe(401);
  });
});
