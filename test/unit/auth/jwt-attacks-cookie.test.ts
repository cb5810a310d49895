// Attacks on end-user tokens (issue 14, a security review): tokens in cookies. "HOLE:" tests failed on the first version (each fixed); "holds:" ones passed.
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, createTestApp, diagnostics, NOW, SAMPLE_ACCOUNT } from "../../app.ts";

const POLICY = { operations: ["upload", "download"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["users/{jwt.sub}/"] };
const API_ISS = "https://api-idp.example.com";
const WIDGET_ISS = "https://widget-idp.example.com";
let apiKey: CryptoKey;
let apiJwk: Record<string, unknown>;
let widgetJwk: Record<string, unknown>;

beforeAll(async () => {
  const api = await generateKeyPair("ES256");
  apiKey = api.privateKey as CryptoKey;
  apiJwk = { ...(await exportJWK(api.publicKey)), kid: "api-1" };
  widgetJwk = { ...(await exportJWK((await generateKeyPair("ES256")).publicKey)), kid: "widget-1" };
});

const apiToken = (claims: Record<string, unknown> = {}) =>
  new SignJWT({ iss: API_ISS, sub: "alice", exp: NOW / 1000 + 600, ...claims }).setProtectedHeader({ alg: "ES256", kid: "api-1" }).sign(apiKey);

async function setup() {
  const t = createTestApp();
  await t.putAccount("acc", { ...SAMPLE_ACCOUNT, "single-tenant": true });
  // The admin's API introspector: header tokens only (no `cookie`), deliberately.
  expect((await t.call({ method: "PUT", path: "/TokenIntrospector/api", body: { type: "jwt", jwt: { iss: API_ISS, keys: [apiJwk] }, policy: POLICY } })).status).toBe(201);
  return t;
}

describe("cookie tokens", () => {
  it("HOLE: a token is read from a cookie only for the introspector that names that cookie (another introspector's cookie must not open header-only issuers)", async () => {
    const t = await setup();
    // A second introspector (here made by a mere manager) opts into cookie "tok" for its own issuer.
    const manager = await t.createClient("mgr", { operations: ["manage-introspectors", "upload", "download"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["widgets/"] });
    const widget = await t.call({ method: "PUT", path: "/TokenIntrospector/widget", auth: manager, body: { type: "jwt", jwt: { iss: WIDGET_ISS, keys: [widgetJwk] }, cookie: "tok", policy: { ...POLICY, prefixes: ["widgets/{jwt.sub}/"] } } });
    expect(widget.status, widget.text).toBe(201);
    // Now the API issuer's tokens (never meant for cookies) authenticate from that cookie too: CSRF/XSS surface the admin did not opt into.
    const answer = await t.call({ method: "GET", path: "/aws/storage/acc/uploads/users/alice/secret.pdf", auth: null, headers: { cookie: `tok=${await apiToken()}` } });
    expect(answer.status, answer.text).toBe(401);
  });

  it("holds: the admin token and a client secret in a cookie are refused, even under an introspector's cookie name", async () => {
    const t = await setup();
    await t.call({ method: "PUT", path: "/TokenIntrospector/api", body: { type: "jwt", jwt: { iss: API_ISS, keys: [apiJwk] }, cookie: "tok", policy: POLICY } });
    expect((await t.call({ method: "GET", path: "/AwsAccount", auth: null, headers: { cookie: `tok=${ADMIN_TOKEN}` } })).status).toBe(401);
    expect((await t.call({ method: "GET", path: "/AwsAccount", auth: null, headers: { cookie: `tok="${ADMIN_TOKEN}"` } })).status).toBe(401);
    const secret = (await t.createClient("c", { operations: ["download"] })).slice(7);
    expect((await t.call({ method: "GET", path: "/aws/storage/acc/uploads/x", auth: null, headers: { cookie: `tok=${secret}` } })).status).toBe(401);
  });

  it("holds: cookie-authenticated writes need a non-form Content-Type (CSRF); quoted, duplicated and padded cookies parse sanely", async () => {
    const t = await setup();
    await t.call({ method: "PUT", path: "/TokenIntrospector/api", body: { type: "jwt", jwt: { iss: API_ISS, keys: [apiJwk] }, cookie: "tok", policy: POLICY } });
    const token = await apiToken();
    const post = (contentType: string | undefined, cookie = `tok=${token}`) =>
      t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: null, headers: { cookie, ...(contentType ? { "content-type": contentType } : {}) }, body: JSON.stringify({ filename: "users/alice/a" }) });
    for (const type of ["text/plain", "TEXT/PLAIN; charset=utf-8", "  application/x-www-form-urlencoded", "multipart/form-data; boundary=x", undefined]) {
      const answer = await post(type);
      expect(answer.status, String(type)).toBe(403);
      expect(diagnostics(answer)).toMatch(/Content-Type: application\/json/);
    }
    expect((await post("application/json")).status).toBe(200);
    expect((await post("application/json", `tok="${token}"`)).status).toBe(200);
    // PUT and PATCH likewise; a DELETE with a cookie but no body is taken (no other origin can send a DELETE without
    // a preflight, and signpost's CORS never allows credentials), unless another site started it.
    for (const method of ["PUT", "PATCH"]) {
      expect((await t.call({ method, path: "/TokenIntrospector/x", auth: null, headers: { cookie: `tok=${token}`, "content-type": "text/plain" }, body: "{}" })).status, method).toBe(403);
    }
    const del = (headers: Record<string, string> = {}) => t.call({ method: "DELETE", path: "/aws/storage/acc/uploads/users/alice/a", auth: null, headers: { cookie: `tok=${token}`, ...headers } });
    // (the token's policy has no delete: a 403 for that, after the cookie was taken, not for the cookie)
    const taken = await del();
    expect(taken.status).toBe(403);
    expect(diagnostics(taken)).toMatch(/may not delete/);
    const crossSite = await del({ "sec-fetch-site": "cross-site" });
    expect(diagnostics(crossSite)).toMatch(/Sec-Fetch-Site: cross-site/);
    // An Authorization header wins over any cookie.
    expect((await t.call({ method: "GET", path: "/aws/storage/acc/uploads/users/alice/a", auth: "Bearer nonsense", headers: { cookie: `tok=${token}` } })).status).toBe(401);
  });
});
