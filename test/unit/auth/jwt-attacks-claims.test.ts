// Attacks on end-user tokens (issue 14, a security review): {jwt.<claim>} placeholders. "HOLE:" tests failed on the first version (each fixed); "holds:" ones passed.
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestApp, diagnostics, NOW, SAMPLE_ACCOUNT } from "../../app.ts";

const ISS = "https://idp.example.com";
let privateKey: CryptoKey;
let jwk: Record<string, unknown>;

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  privateKey = pair.privateKey as CryptoKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1" };
});

const token = (claims: Record<string, unknown>) =>
  new SignJWT({ iss: ISS, sub: "alice", exp: NOW / 1000 + 600, ...claims }).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(privateKey);
/** A token whose payload is exactly `json` (duplicate keys, odd numbers): signed over the raw text. */
async function rawToken(json: string) {
  const head = Buffer.from(JSON.stringify({ alg: "ES256", kid: "k1" })).toString("base64url");
  const body = Buffer.from(json).toString("base64url");
  const { CompactSign } = await import("jose");
  const jws = await new CompactSign(new TextEncoder().encode(json)).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(privateKey);
  expect(jws.startsWith(`${head}.${body}.`) || jws.split(".")[1] === body).toBe(true);
  return jws;
}

async function setup(prefixes: string[]) {
  const t = createTestApp();
  await t.putAccount("acc", { ...SAMPLE_ACCOUNT, "single-tenant": true });
  const created = await t.call({ method: "PUT", path: "/TokenIntrospector/app", body: { type: "jwt", jwt: { iss: ISS, keys: [jwk] }, policy: { operations: ["upload", "download"], accounts: ["acc"], buckets: ["uploads"], prefixes } } });
  expect(created.status, created.text).toBe(201);
  const upload = async (jwt: string, key: string) => t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${jwt}`, body: { filename: key } });
  return { ...t, upload };
}

describe("claims in placeholders", () => {
  it("HOLE: a claim value of '{client}' is a literal folder name, not re-expanded into '<introspector>:<sub>' (sub unchecked: may hold '/')", async () => {
    const t = await setup(["users/{jwt.username}/"]);
    // username is typically user-editable (Cognito preferred_username, Keycloak with editable usernames).
    // The folder must be users/{client}/ (or nothing): here it becomes users/app:alice/, someone else's name.
    const collide = await t.upload(await token({ username: "{client}", sub: "alice" }), "users/app:alice/stolen.txt");
    expect(collide.status, collide.text).toBe(403);
    // And the sub (never checked when no placeholder names it) smuggles '/' into the prefix the README says no claim can.
    const slash = await t.upload(await token({ username: "{client}", sub: "bob/private" }), "users/app:bob/private/x");
    expect(slash.status, slash.text).toBe(403);
  });

  it.each([
    ["%2F", "..%2Fbob", 200], // percent-escapes are literal characters in an S3 key: its own folder, no traversal
    ["backslash", "..\\bob", 200],
    ["fullwidth solidus", "bob\uff0fx", 200],
    ["NFD vs NFC", "e\u0301", 200],
    ["NUL", "bo\u0000b", 403],
    ["C1 control", "bo\u0085b", 403],
    ["lone surrogate", "bo\ud800b", 403],
    ["256 bytes", "é".repeat(128), 403],
    ["dot", ".", 403],
    ["dot-dot", "..", 403],
    ["slash", "a/b", 403],
  ])("holds: a claim with %s (%j) is its own folder or gets nothing", async (_, value, status) => {
    const t = await setup(["tenants/{jwt.tenant}/"]);
    const answer = await t.upload(await token({ tenant: value }), `tenants/${value}/x`);
    expect(answer.status, answer.text).toBe(status);
    if (status === 200) {
      // Nothing but its own folder.
      expect((await t.upload(await token({ tenant: value }), "tenants/bob/x")).status).toBe(403);
    }
  });

  it.each([
    ["a number", 42],
    ["an object", { toString: "bob" }],
    ["an array", ["bob"]],
    ["null", null],
    ["true", true],
  ])("holds: a claim that is %s gets nothing", async (_, value) => {
    const t = await setup(["tenants/{jwt.tenant}/"]);
    const answer = await t.upload(await token({ tenant: value }), "tenants/42/x");
    expect(answer.status).toBe(403);
    expect(diagnostics(answer)).toMatch(/tenant claim is not a string/);
  });

  it("holds: prototype names as claims: an own __proto__ claim is a plain value, an absent constructor/toString is absent", async () => {
    const t = await setup(["p/{jwt.__proto__}/"]);
    const own = await t.upload(await rawToken(`{"iss":"${ISS}","sub":"alice","exp":${NOW / 1000 + 600},"__proto__":"alice"}`), "p/alice/x");
    expect(own.status, own.text).toBe(200);
    const absent = await t.upload(await token({}), "p/[object Object]/x");
    expect(absent.status).toBe(403);
    for (const claim of ["constructor", "toString", "hasOwnProperty"]) {
      const u = await setup([`p/{jwt.${claim}}/`]);
      const answer = await u.upload(await token({}), "p/x/y");
      expect(answer.status, claim).toBe(403);
      expect(diagnostics(answer)).toMatch(/claim is not a string/);
    }
  });

  it("holds: a claim holding '{jwt.sub}' is not expanded again; duplicate keys read the same in the check and the policy", async () => {
    const t = await setup(["t/{jwt.tenant}/{jwt.sub}/"]);
    expect((await t.upload(await token({ tenant: "{jwt.sub}" }), "t/{jwt.sub}/alice/x")).status).toBe(200);
    expect((await t.upload(await token({ tenant: "{jwt.sub}" }), "t/alice/alice/x")).status).toBe(403);
    // JSON duplicate keys: last wins, in hono's reading and signpost's alike (one parser).
    const dup = await rawToken(`{"iss":"${ISS}","sub":"bob","sub":"alice","tenant":"a","tenant":"b","exp":${NOW / 1000 + 600}}`);
    expect((await t.upload(dup, "t/b/alice/x")).status).toBe(200);
    expect((await t.upload(dup, "t/a/bob/x")).status).toBe(403);
  });

  it("holds: a sub with '/' or '..' gets nothing when it names the folder", async () => {
    const t = await setup(["users/{jwt.sub}/"]);
    for (const sub of ["alice/../bob", "..", "a/", "%2e%2e/"]) {
      const answer = await t.upload(await token({ sub }), `users/${sub}/x`);
      expect([400, 403], sub).toContain(answer.status);
      expect(answer.json.url).toBeUndefined();
    }
  });
});
