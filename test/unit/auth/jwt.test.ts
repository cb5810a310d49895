// End-user tokens (auth/jwt.ts, auth/key-sets.ts, domain/introspector.ts), every rule in a table that could fail:
// tokens from a local OpenID Connect provider (test/token-issuer.ts, signed with jose), checked through the app.
// The app's clock is the test's: minutes pass in no time, and the tokens are made for that clock.
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { KID_COOLDOWN_MS, RETRY_MS, STALE_MS } from "../../../src/auth/key-sets.ts";
import type { ChangeFeed, ChangeListener } from "../../../src/store/store.ts";
import { createTestApp, diagnostics, NOW, SAMPLE_ACCOUNT } from "../../app.ts";
import { type Alg, startTokenIssuer, type TokenIssuer } from "../../token-issuer.ts";

let issuer: TokenIssuer;
const kids: Record<Alg, string> = {} as never;

beforeAll(async () => {
  issuer = await startTokenIssuer();
  for (const alg of ["RS256", "ES256", "PS256", "ES384", "EdDSA"] as Alg[]) kids[alg] = await issuer.addKey(alg);
});
afterEach(() => {
  issuer.fault = "none";
  issuer.delayMs = 0;
  issuer.publish(Object.values(kids));
});
afterAll(() => issuer.close());

const POLICY = { operations: ["upload", "download"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["users/{jwt.sub}/"] };
const HS_SECRET = "a-shared-secret-of-at-least-32-characters!";

async function setup(introspector: Record<string, unknown> = {}) {
  let clock = NOW;
  const t = createTestApp({ now: () => clock });
  // single-tenant: these tests are about the token, not the S3 back end's checks (test/e2e/security.test.ts)
  await t.putAccount("acc", { ...SAMPLE_ACCOUNT, "single-tenant": true });
  const created = await t.call({ method: "PUT", path: "/TokenIntrospector/app", body: { type: "jwt", jwt: { iss: issuer.url }, policy: POLICY, ...introspector } });
  if (created.status !== 201) throw new Error(`PUT /TokenIntrospector/app: ${created.status} ${created.text}`);
  const token = (claims: Record<string, unknown> = {}, options: Parameters<TokenIssuer["token"]>[1] = {}) => issuer.token(claims, { now: clock, ...options });
  /** Asks for an upload URL for `key` with `token`. */
  const upload = (token: string, key = "users/alice/photo.png", headers: Record<string, string> = {}) =>
    t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${token}`, body: { filename: key }, headers });
  return { ...t, token, upload, advance: (ms: number) => (clock += ms), now: () => clock };
}

const fetches = () => ({ ...issuer.fetches });
const fetchedSince = (before: { discovery: number; jwks: number }) => ({ discovery: issuer.fetches.discovery - before.discovery, jwks: issuer.fetches.jwks - before.jwks });

describe("a user's token", () => {
  it("is judged by its introspector as it reads back: one stored without policy.buckets (imported by hand) allows every bucket, as one written without it (a review, 2026-12-01)", async () => {
    const { buckets: _, ...policy } = POLICY;
    const t = await setup({ policy });
    await t.introspectors.put("app", (stored) => {
      const { buckets: _buckets, ...bare } = stored!.policy;
      return { ...stored!, policy: bare as never };
    });
    expect((await t.introspectors.get("app"))!.policy).not.toHaveProperty("buckets");
    t.advance(10 * 60_000); // past the introspectors' cache: the record above is read
    for (let read = 0; read < 2; read++) {
      const ok = await t.upload(await t.token());
      expect(ok.status, ok.text).toBe(200);
    }
    expect((await t.call({ method: "GET", path: "/TokenIntrospector/app" })).json.policy.buckets).toEqual(["*"]);
    expect((await t.call({ method: "GET", path: "/TokenIntrospector" })).json.entry[0].resource.policy.buckets).toEqual(["*"]);
    // Managers judge it as it reads back: one held to a bucket does not see it, one allowed every bucket does.
    const manager = (buckets?: string[]) => t.createClient(`mgr-${buckets ? "narrow" : "wide"}`, { operations: ["manage-introspectors", "upload", "download"], accounts: ["acc"], ...(buckets ? { buckets } : {}), prefixes: ["users/"] });
    const listed = async (auth: string) => (await t.call({ method: "GET", path: "/TokenIntrospector", auth })).json.entry.map(({ resource }: { resource: { id: string } }) => resource.id);
    expect(await listed(await manager(["uploads"]))).toEqual([]);
    expect(await listed(await manager())).toEqual(["app"]);
  });

  it("is bound by the introspector's max-size and content-types (issue 17); a manager cannot widen them", async () => {
    const t = await setup({ policy: { ...POLICY, "max-size": 1000, "content-types": ["image/*"] } });
    const token = await t.token();
    const ask = (body: Record<string, unknown>) => t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${token}`, body: { filename: "users/alice/p.png", ...body } });
    expect((await ask({ "content-type": "image/png" })).status).toBe(403);
    expect((await ask({ "content-type": "image/png", "content-length": 1001 })).status).toBe(403);
    expect((await ask({ "content-type": "text/html", "content-length": 10 })).status).toBe(403);
    const ok = await ask({ "content-type": "image/png", "content-length": 1000 });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.headers).toEqual({ "content-type": "image/png", "content-length": "1000" });
    const manager = await t.createClient("mgr", { operations: ["manage-introspectors", "upload", "download"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["users/"], "max-size": 1000, "content-types": ["image/*"] });
    const write = (policy: Record<string, unknown>) => t.call({ method: "PUT", path: "/TokenIntrospector/other", auth: manager, body: { type: "jwt", jwt: { iss: "https://idp.example.com", secret: HS_SECRET }, policy: { ...POLICY, ...policy } } });
    for (const wider of [{ "max-size": 2000, "content-types": ["image/*"] }, { "max-size": 1000 }, { "content-types": ["image/png"] }, { "max-size": 1000, "content-types": ["image/png", "text/html"] }]) {
      const refused = await write(wider);
      expect(refused.status, JSON.stringify(wider)).toBe(403);
      expect(diagnostics(refused)).toMatch(/would hold more than this client's own policy grants/);
    }
    const within = await write({ "max-size": 1000, "content-types": ["image/png"] });
    expect(within.status, within.text).toBe(201);
  });

  it("gets URLs in its own folder, nothing in anyone else's, and is named in the audit log", async () => {
    const t = await setup();
    const answer = await t.upload(await t.token());
    expect(answer.status, answer.text).toBe(200);
    expect(new URL(answer.json.url).pathname).toBe("/users/alice/photo.png"); // virtual-hosted: uploads.s3...
    const other = await t.upload(await t.token(), "users/bob/photo.png");
    expect(other.status).toBe(403);
    expect(diagnostics(other)).toMatch(/allowed prefixes: users\/alice\//);
    expect(t.logs.filter((line) => line.audit && line.action === "presign").map((line) => line.who)).toEqual(["jwt:app:alice"]);
    // Not a manager: the token gets object URLs and nothing else.
    expect((await t.call({ method: "GET", path: "/AwsAccount", auth: `Bearer ${await t.token()}` })).status).toBe(403);
    expect((await t.call({ method: "GET", path: "/TokenIntrospector", auth: `Bearer ${await t.token()}` })).status).toBe(403);
  });

  it.each(["RS256", "PS256", "ES256", "ES384", "EdDSA"] as Alg[])("is accepted signed with %s (keys found through discovery)", async (alg) => {
    const t = await setup();
    expect((await t.upload(await t.token({}, { kid: kids[alg] }))).status).toBe(200);
  });

  it("is accepted with inline keys, a jwks_uri, or an HS256 secret", async () => {
    const inline = await setup({ jwt: { iss: issuer.url, keys: [issuer.jwk(kids.ES256)] } });
    expect((await inline.upload(await inline.token({}, { kid: kids.ES256 }))).status).toBe(200);
    expect((await inline.upload(await inline.token({}, { kid: kids.RS256 }))).status).toBe(401);
    const uri = await setup({ jwks_uri: issuer.jwksUri });
    expect((await uri.upload(await uri.token())).status).toBe(200);
    const hs = await setup({ jwt: { iss: issuer.url, secret: HS_SECRET } });
    const hsToken = await new SignJWT({ iss: issuer.url, sub: "alice", exp: NOW / 1000 + 600 }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(HS_SECRET));
    expect((await hs.upload(hsToken)).status).toBe(200);
    const wrongSecret = await new SignJWT({ iss: issuer.url, sub: "alice", exp: NOW / 1000 + 600 }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(`${HS_SECRET}x`));
    expect((await hs.upload(wrongSecret)).status).toBe(401);
  });
});

describe("refused tokens: 401 invalid_token with a reason that names no value", () => {
  const exp = NOW / 1000 + 600;
  const unsigned = (header: Record<string, unknown>, claims: Record<string, unknown>) =>
    `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
  const cases: [string, (t: Awaited<ReturnType<typeof setup>>) => Promise<string>, RegExp][] = [
    ["alg none", async () => `${unsigned({ alg: "none" }, { iss: issuer.url, sub: "alice", exp })}AAAA`, /algorithm is not accepted/],
    ["HS256 signed with the issuer's public key (key confusion)", async () => {
      const jwk = issuer.jwk(kids.RS256);
      return new SignJWT({ iss: issuer.url, sub: "alice", exp }).setProtectedHeader({ alg: "HS256", kid: kids.RS256 }).sign(new TextEncoder().encode(JSON.stringify(jwk)));
    }, /algorithm is not accepted/],
    ["a token whose alg disagrees with its key's (PS256 with an RS256 key)", async (t) => {
      // Signed with the RSA key, but as PS256: the JWK says RS256, so the key never checks it.
      return t.token({}, { kid: kids.RS256, header: { alg: "PS256" } }).catch(() => `${unsigned({ alg: "PS256", kid: kids.RS256 }, { iss: issuer.url, sub: "alice", exp })}AAAA`);
    }, /key is not in the issuer's key set|signature does not verify/],
    ["an EC token naming an RSA key's kid", async (t) => (await t.token({}, { kid: kids.ES256 })).replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: "ES256", kid: kids.RS256 })).toString("base64url")), /key is not in the issuer's key set/],
    ["a tampered payload", async (t) => {
      const [head, , signature] = (await t.token()).split(".");
      return `${head}.${Buffer.from(JSON.stringify({ iss: issuer.url, sub: "bob", exp })).toString("base64url")}.${signature}`;
    }, /signature does not verify/],
    ["a key the issuer never published", async () => {
      const { privateKey } = await generateKeyPair("RS256");
      return new SignJWT({ iss: issuer.url, sub: "alice", exp }).setProtectedHeader({ alg: "RS256", kid: "unknown-kid" }).sign(privateKey);
    }, /key is not in the issuer's key set/],
    ["a token over 8 KB", async (t) => t.token({ padding: "x".repeat(8200) }), /larger than 8 KB/],
    ["no exp", async (t) => t.token({}, { omit: ["exp"] }), /has no exp/],
    ["expired more than 60 s ago", async (t) => t.token({ exp: t.now() / 1000 - 61 }), /has expired/],
    ["not valid for another 61 s", async (t) => t.token({ nbf: t.now() / 1000 + 61 }), /not valid yet/],
    ["issued 61 s in the future", async (t) => t.token({ iat: t.now() / 1000 + 61 }), /issued in the future/],
    ["an exp that is not a number", async (t) => t.token({ exp: String(exp) }), /exp is not a number/],
    ["another issuer", async (t) => t.token({ iss: `${issuer.url}/` }), /no TokenIntrospector accepts tokens from this issuer/],
    ["no sub", async (t) => t.token({}, { omit: ["sub"] }), /has no sub/],
    ["critical header parameters", async (t) => t.token({}, { header: { crit: ["exp"] } }).catch(() => `${unsigned({ alg: "RS256", kid: kids.RS256, crit: ["x"], x: 1 }, { iss: issuer.url, sub: "alice", exp })}AAAA`), /critical header parameters/],
    ["a typ that is not a JWT", async (t) => t.token({}, { header: { typ: "dpop+jwt" } }), /typ is not JWT/],
    ["unreadable parts", async () => "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.AAAA", /cannot be read/],
  ];
  it.each(cases)("%s", async (_, make, reason) => {
    const t = await setup();
    const answer = await t.upload(await make(t));
    expect(answer.status, answer.text).toBe(401);
    expect(diagnostics(answer)).toMatch(reason);
    expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer realm="signpost", error="invalid_token"/);
    expect(answer.text).not.toMatch(/alice|bob/);
  });

  it("accepts what is within the 60 s leeway", async () => {
    const t = await setup();
    expect((await t.upload(await t.token({ exp: t.now() / 1000 - 59 }))).status).toBe(200);
    expect((await t.upload(await t.token({ nbf: t.now() / 1000 + 59, iat: t.now() / 1000 + 59 }))).status).toBe(200);
  });

  it("checks aud when the introspector names an audience", async () => {
    const t = await setup({ audience: "signpost" });
    expect((await t.upload(await t.token())).status).toBe(401);
    expect((await t.upload(await t.token({ aud: "other" }))).status).toBe(401);
    expect((await t.upload(await t.token({ aud: ["other", "signpost"] }))).status).toBe(200);
    expect((await t.upload(await t.token({ aud: "signpost" }))).status).toBe(200);
  });
});

describe("claims in the policy", () => {
  it.each([
    ["alice/../bob", /sub claim holds a '\/'/],
    ["bob/", /sub claim holds a '\/'/],
    ["..", /sub claim is "\.\."/],
    [".", /sub claim is "\."/],
    ["ali\u0000ce", /sub claim holds a control character/],
    ["a".repeat(256), /sub claim is longer than 255 bytes|has no sub/],
  ])("a sub of %j gets nothing", async (sub, reason) => {
    const t = await setup();
    const answer = await t.upload(await t.token({ sub }), `users/${sub}/x`);
    expect([401, 403]).toContain(answer.status);
    expect(diagnostics(answer)).toMatch(reason);
    expect(answer.json.url).toBeUndefined();
  });

  it("an empty or non-string claim gets nothing, naming the claim", async () => {
    const t = await setup({ policy: { ...POLICY, prefixes: ["tenants/{jwt.tenant}/{jwt.sub}/"] } });
    expect(diagnostics(await t.upload(await t.token({ tenant: "" }), "tenants//alice/x"))).toMatch(/tenant claim is empty/);
    expect(diagnostics(await t.upload(await t.token({ tenant: ["acme"] }), "tenants/acme/alice/x"))).toMatch(/tenant claim is not a string/);
    expect(diagnostics(await t.upload(await t.token({}), "tenants/acme/alice/x"))).toMatch(/tenant claim is not a string/);
    expect((await t.upload(await t.token({ tenant: "acme" }), "tenants/acme/alice/x")).status).toBe(200);
    expect((await t.upload(await t.token({ tenant: "acme" }), "tenants/other/alice/x")).status).toBe(403);
  });

  it("per-operation scopes: upload needs files:write (scope or scp), download its own", async () => {
    const t = await setup({ scopes: { upload: ["files:write"] } });
    expect(diagnostics(await t.upload(await t.token()))).toMatch(/may not upload/);
    expect(diagnostics(await t.upload(await t.token({ scope: "openid files:read" })))).toMatch(/may not upload/);
    expect((await t.upload(await t.token({ scope: "openid files:write" }))).status).toBe(200);
    expect((await t.upload(await t.token({ scp: ["files:write"] }))).status).toBe(200);
    const download = await t.call({ method: "GET", path: "/aws/storage/acc/uploads/users/alice/photo.png", auth: `Bearer ${await t.token()}` });
    expect(download.status).toBe(200);
  });
});

describe("the issuer's key set", () => {
  it("is fetched once per cache_ttl, however many requests", async () => {
    const t = await setup({ jwks_uri: issuer.jwksUri, cache_ttl: 60 });
    const before = fetches();
    const token = await t.token();
    for (let i = 0; i < 20; i++) expect((await t.upload(token)).status).toBe(200);
    expect(fetchedSince(before)).toEqual({ discovery: 0, jwks: 1 });
    t.advance(59_000);
    await t.upload(await t.token());
    expect(fetchedSince(before).jwks).toBe(1);
    t.advance(2_000);
    await t.upload(await t.token());
    expect(fetchedSince(before).jwks).toBe(2);
  });

  it("1000 concurrent requests with a cold cache make one discovery and one JWKS fetch", async () => {
    const t = await setup();
    issuer.delayMs = 200;
    const before = fetches();
    const token = await t.token();
    const answers = await Promise.all(Array.from({ length: 1000 }, () => t.upload(token)));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(fetchedSince(before)).toEqual({ discovery: 1, jwks: 1 });
  });

  it("honours a rotated key within the cooldown, without a fetch per request; a flood of made-up kids costs one fetch per 30 s", async () => {
    const t = await setup({ jwks_uri: issuer.jwksUri });
    expect((await t.upload(await t.token())).status).toBe(200);
    const before = fetches();
    // The issuer rotates: a new key published, the old one withdrawn.
    const rotated = await issuer.addKey("RS256", { kid: "rotated-1" });
    issuer.publish([rotated]);
    expect((await t.upload(await t.token({}, { kid: rotated }))).status).toBe(200);
    expect(fetchedSince(before).jwks).toBe(1);
    for (let i = 0; i < 10; i++) expect((await t.upload(await t.token({}, { kid: rotated }))).status).toBe(200);
    // The withdrawn key's tokens no longer verify (the set in hand no longer holds it).
    expect(diagnostics(await t.upload(await t.token({}, { kid: kids.RS256 })))).toMatch(/key is not in the issuer's key set/);
    const flood = await Promise.all(Array.from({ length: 50 }, (_, i) => t.token({}, { kid: rotated, header: { kid: `made-up-${i}` } })));
    for (const token of flood) expect((await t.upload(token)).status).toBe(401);
    expect(fetchedSince(before).jwks).toBe(1); // the withdrawn kid and 50 made-up ones, all within one cooldown
    t.advance(KID_COOLDOWN_MS);
    await t.upload(flood[0]!);
    expect(fetchedSince(before).jwks).toBe(2);
  });

  it("keeps the keys in hand working for a bounded time when a refresh fails, and logs it; with none, 503", async () => {
    const t = await setup({ jwks_uri: issuer.jwksUri, cache_ttl: 60 });
    expect((await t.upload(await t.token())).status).toBe(200);
    issuer.fault = "500";
    t.advance(61_000);
    const before = fetches();
    expect((await t.upload(await t.token())).status).toBe(200);
    expect(t.logs.some((line) => line.level === "warn" && /could not fetch a token issuer's keys/.test(String(line.message)) && /answered 500/.test(String(line.error)))).toBe(true);
    // Not asked again on every request while it is down.
    for (let i = 0; i < 5; i++) await t.upload(await t.token());
    expect(fetchedSince(before).jwks).toBe(1);
    t.advance(STALE_MS);
    const stale = await t.upload(await t.token());
    expect(stale.status).toBe(503);
    expect(diagnostics(stale)).toMatch(/keys of TokenIntrospector\/app cannot be fetched now/);
    issuer.fault = "none";
    t.advance(RETRY_MS);
    expect((await t.upload(await t.token())).status).toBe(200);
  });

  it("keeps the keys in hand when another replica's change notice names the introspector (any database user may send one; a review, 2026-12-01)", async () => {
    let listener: ChangeListener | undefined;
    const changes: ChangeFeed = { subscribe: (l) => void (listener = l), reconnects: () => 0 };
    const t = createTestApp({ now: () => NOW, changes });
    await t.putAccount("acc", { ...SAMPLE_ACCOUNT, "single-tenant": true });
    expect((await t.call({ method: "PUT", path: "/TokenIntrospector/app", body: { type: "jwt", jwt: { iss: issuer.url }, jwks_uri: issuer.jwksUri, policy: POLICY } })).status).toBe(201);
    const upload = async () => (await t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${await issuer.token({}, { now: NOW })}`, body: { filename: "users/alice/photo.png" } })).status;
    expect(await upload()).toBe(200);
    issuer.fault = "500";
    const before = fetches();
    for (let i = 0; i < 5; i++) {
      listener!.changed("TokenIntrospector", "app"); // as pg_notify('signpost_changes', 'TokenIntrospector/app') gives it
      expect(await upload()).toBe(200);
    }
    expect(fetchedSince(before).jwks).toBe(0);
    // A real change still takes effect: the record is read again, and its new version starts a new key set.
    issuer.fault = "none";
    expect((await t.call({ method: "PATCH", path: "/TokenIntrospector/app", body: { audience: "signpost" } })).status).toBe(200);
    expect(await upload()).toBe(401); // the token has no aud, which is now required
    expect(fetchedSince(before).jwks).toBe(1);
  });

  it.each([
    ["500", /the discovery document answered 500/],
    ["redirect", /answered 302, a redirect \(not followed\)/],
    ["huge", /larger than 262144 bytes/],
    ["not-json", /is not JSON/],
    ["other-issuer", /names another issuer/],
  ] as const)("no keys and an issuer that answers %s: 503, not 401; the reason in the log, not the answer", async (fault, reason) => {
    const t = await setup();
    issuer.fault = fault;
    const answer = await t.upload(await t.token());
    expect(answer.status).toBe(503);
    expect(diagnostics(answer)).toMatch(/cannot be fetched now/);
    expect(diagnostics(answer)).not.toMatch(reason);
    expect(t.logs.some((line) => reason.test(String(line.error)))).toBe(true);
  });

  it("times out after 5 s", { timeout: 15_000 }, async () => {
    const t = await setup({ jwks_uri: issuer.jwksUri });
    issuer.delayMs = 6_000;
    const answer = await t.upload(await t.token());
    expect(answer.status).toBe(503);
    expect(t.logs.some((line) => /timed out/.test(String(line.error)))).toBe(true);
  });
});

describe("a token in a cookie", () => {
  it("is read from the introspector's cookie; a write needs a type no cross-site form can send; secrets never come from cookies", async () => {
    const t = await setup({ cookie: "app_token" });
    const token = await t.token();
    const viaCookie = (method: string, path: string, headers: Record<string, string>, body?: unknown) => t.call({ method, path, auth: null, headers: { cookie: `theme=dark; app_token=${token}`, ...headers }, body });
    expect((await viaCookie("GET", "/aws/storage/acc/uploads/users/alice/photo.png", {})).status).toBe(200);
    expect((await viaCookie("GET", "/aws/storage/acc/uploads/users/alice/photo.png", { "sec-fetch-site": "same-origin" })).status).toBe(200);
    const crossSite = await viaCookie("GET", "/aws/storage/acc/uploads/users/alice/photo.png?redirect=true", { "sec-fetch-site": "cross-site" });
    expect(crossSite.status).toBe(403);
    expect(diagnostics(crossSite)).toMatch(/another site started/);
    expect((await viaCookie("POST", "/aws/storage/acc/uploads", {}, { filename: "users/alice/a" })).status).toBe(200);
    const form = await t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: null, headers: { cookie: `app_token=${token}`, "content-type": "text/plain" }, body: JSON.stringify({ filename: "users/alice/a" }) });
    expect(form.status).toBe(403);
    expect(diagnostics(form)).toMatch(/authenticated by a cookie must send Content-Type: application\/json/);
    const admin = await t.call({ method: "GET", path: "/AwsAccount", auth: null, headers: { cookie: "app_token=test-admin-token-0123456789abcdef" } });
    expect(admin.status).toBe(401);
    const clientSecret = (await t.createClient("app-backend", { operations: ["download"] })).slice("Bearer ".length);
    const client = await t.call({ method: "GET", path: "/aws/storage/acc/uploads/users/alice/photo.png", auth: null, headers: { cookie: `app_token=${clientSecret}` } });
    expect(client.status).toBe(401);
    const other = await t.call({ method: "GET", path: "/aws/storage/acc/uploads/users/alice/photo.png", auth: null, headers: { cookie: `session=${token}` } });
    expect(other.status).toBe(401);
  });
});

describe("TokenIntrospector resources", () => {
  it.each([
    ["no type", { type: undefined }, /type must be "jwt"/],
    ["keys and a jwks_uri", { jwt: { iss: "https://idp.example.com", keys: [{ kty: "EC", crv: "P-256", x: "AA", y: "AA" }] }, jwks_uri: "https://idp.example.com/jwks" }, /give one of jwt.keys, jwt.secret and jwks_uri/],
    ["a private key", { jwt: { iss: "https://idp.example.com", keys: [{ kty: "EC", crv: "P-256", x: "AA", y: "AA", d: "AA" }] } }, /private key material/],
    ["a key for encryption only by its key_ops (RFC 7517, 4.3)", { jwt: { iss: "https://idp.example.com", keys: [{ kty: "EC", crv: "P-256", x: "AA", y: "AA", key_ops: ["encrypt"] }] } }, /key_ops must include "verify"/],
    ["key_ops that are not a list", { jwt: { iss: "https://idp.example.com", keys: [{ kty: "EC", crv: "P-256", x: "AA", y: "AA", key_ops: "verify" }] } }, /key_ops must include "verify"/],
    ["buckets: null in its policy", { policy: { ...POLICY, buckets: null } }, /policy.buckets must be a list/],
    ["an RSA key under 2048 bits", { jwt: { iss: "https://idp.example.com", keys: [{ kty: "RSA", n: "A".repeat(171), e: "AQAB" }] } }, /at least 2048 bits/],
    ["a key whose alg does not fit it", { jwt: { iss: "https://idp.example.com", keys: [{ kty: "EC", crv: "P-256", x: "AA", y: "AA", alg: "RS256" }] } }, /alg must be ES256 for this key/],
    ["a short secret", { jwt: { iss: "https://idp.example.com", secret: "short" } }, /jwt.secret must be a string of 32 to 512 characters/],
    ["an http issuer elsewhere than this machine", { jwt: { iss: "http://idp.example.com" } }, /jwt.iss must be https \(http only on localhost\)/],
    ["a metadata host", { jwks_uri: "https://169.254.169.254/keys" }, /link-local/],
    ["a placeholder not followed by /", { policy: { ...POLICY, prefixes: ["users/{jwt.sub}"] } }, /\{jwt.sub\} must be followed by '\/'/],
    ["{client} in its policy", { policy: { ...POLICY, prefixes: ["users/{client}/"] } }, /brace outside a placeholder/],
    ["a mistyped placeholder", { policy: { ...POLICY, prefixes: ["users/{jwt.sub/"] } }, /brace outside a placeholder/],
    ["a manager operation", { policy: { ...POLICY, operations: ["manage-clients"] } }, /policy.operations: each must be one of upload, download, delete/],
    ["scopes for an operation the policy does not grant", { scopes: { delete: ["files:delete"] } }, /scopes.delete: the policy does not grant delete/],
    ["a cache_ttl over a day", { cache_ttl: 86401 }, /cache_ttl must be a whole number from 1 to 86400/],
  ])("refuses %s (400)", async (_, fields, reason) => {
    const t = createTestApp();
    const answer = await t.call({ method: "PUT", path: "/TokenIntrospector/x", body: { type: "jwt", jwt: { iss: "https://idp.example.com" }, policy: POLICY, ...fields } });
    expect(answer.status, answer.text).toBe(400);
    expect(diagnostics(answer)).toMatch(reason);
    expect(await t.introspectors.get("x")).toBeNull();
  });

  it("seals a shared secret at rest, never shows it, keeps it through PATCH (PUT replaces it), and refuses a second introspector for one issuer", async () => {
    const t = createTestApp();
    const body = { type: "jwt", jwt: { iss: "https://idp.example.com", secret: HS_SECRET }, policy: POLICY };
    const created = await t.call({ method: "PUT", path: "/TokenIntrospector/hs", body });
    expect(created.status).toBe(201);
    expect(created.text).not.toContain(HS_SECRET);
    expect((await t.introspectors.get("hs"))!.jwt.secret).toMatch(/^sealed:/);
    const { secret: _, ...jwt } = body.jwt;
    expect((await t.call({ method: "PUT", path: "/TokenIntrospector/hs", body: { ...body, jwt, description: "no secret" } })).status).toBe(200);
    expect((await t.introspectors.get("hs"))!.jwt.secret).toBeUndefined();
    expect((await t.call({ method: "PUT", path: "/TokenIntrospector/hs", body })).status).toBe(200);
    const patched = await t.call({ method: "PATCH", path: "/TokenIntrospector/hs", body: { cache_ttl: 60 } });
    expect(patched.status, patched.text).toBe(200);
    const stored = await t.introspectors.get("hs");
    expect(stored!.jwt.secret).toMatch(/^sealed:/);
    expect(stored!.cache_ttl).toBe(60);
    for (const path of ["/TokenIntrospector/hs", "/TokenIntrospector"]) {
      const read = await t.call({ method: "GET", path });
      expect(read.status).toBe(200);
      expect(read.text).not.toMatch(/sealed:|secret/);
    }
    const dropped = await t.call({ method: "PATCH", path: "/TokenIntrospector/hs", body: { jwt: { secret: null } } });
    expect(dropped.status, dropped.text).toBe(200);
    expect((await t.introspectors.get("hs"))!.jwt.secret).toBeUndefined();
    const twin = await t.call({ method: "PUT", path: "/TokenIntrospector/twin", body: { type: "jwt", jwt: { iss: "https://idp.example.com" }, policy: POLICY } });
    expect(twin.status).toBe(409);
    expect(diagnostics(twin)).toMatch(/TokenIntrospector\/hs already accepts tokens from https:\/\/idp.example.com/);
  });

  it("is managed by the admin or a client granted manage-introspectors, within its own policy", async () => {
    const t = createTestApp();
    const plain = await t.createClient("plain", { operations: ["upload"] });
    expect((await t.call({ method: "GET", path: "/TokenIntrospector", auth: plain })).status).toBe(403);
    const manager = await t.createClient("mgr", { operations: ["manage-introspectors", "upload"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["tenants/acme/"] });
    const put = (id: string, policy: Record<string, unknown>, iss = `https://${id}.example.com`) =>
      t.call({ method: "PUT", path: `/TokenIntrospector/${id}`, auth: manager, body: { type: "jwt", jwt: { iss }, policy } });
    expect((await put("inside", { operations: ["upload"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["tenants/acme/users/{jwt.sub}/"] })).status).toBe(201);
    for (const policy of [
      { operations: ["upload"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["{jwt.tenant}/"] },
      { operations: ["upload"], accounts: ["acc"], buckets: ["uploads"] },
      { operations: ["download"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["tenants/acme/"] },
      { operations: ["upload"], accounts: ["*"], buckets: ["uploads"], prefixes: ["tenants/acme/"] },
    ]) {
      const answer = await put("outside", policy);
      expect(answer.status, JSON.stringify(policy)).toBe(403);
    }
    // The admin's own introspector is out of the manager's reach, seen or changed.
    await t.call({ method: "PUT", path: "/TokenIntrospector/wide", body: { type: "jwt", jwt: { iss: "https://wide.example.com" }, policy: POLICY } });
    const listed = await t.call({ method: "GET", path: "/TokenIntrospector", auth: manager });
    expect(listed.json.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(["inside"]);
    expect((await t.call({ method: "DELETE", path: "/TokenIntrospector/wide", auth: manager })).status).toBe(403);
    expect((await t.call({ method: "PATCH", path: "/TokenIntrospector/wide", auth: manager, body: { cache_ttl: 5 } })).status).toBe(403);
    expect((await t.call({ method: "DELETE", path: "/TokenIntrospector/inside", auth: manager })).status).toBe(200);
  });

  it("a manager with a literal '{jwt.' prefix cannot hand out other folders", async () => {
    const t = createTestApp();
    const manager = await t.createClient("mgr", { operations: ["manage-introspectors", "upload"], prefixes: ["users/{jwt."] });
    const answer = await t.call({ method: "PUT", path: "/TokenIntrospector/x", auth: manager, body: { type: "jwt", jwt: { iss: "https://x.example.com" }, policy: { operations: ["upload"], prefixes: ["users/{jwt.sub}/"] } } });
    expect(answer.status).toBe(403);
  });

  it("a deleted introspector's tokens are refused at once on this replica", async () => {
    const t = await setup({ jwt: { iss: issuer.url, keys: [issuer.jwk(kids.ES256)] } });
    const token = await t.token({}, { kid: kids.ES256 });
    expect((await t.upload(token)).status).toBe(200);
    expect((await t.call({ method: "DELETE", path: "/TokenIntrospector/app" })).status).toBe(200);
    expect((await t.upload(token)).status).toBe(401);
  });
});
