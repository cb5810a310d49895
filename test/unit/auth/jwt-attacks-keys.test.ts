// Attacks on end-user tokens (issue 14, a security review): signatures, algorithms, kids and key sets. "HOLE:" tests
// failed on the first version (each fixed); "holds:" ones passed. Key sets are served by a fake fetch (the app's `fetch` dependency): no network.
import { constants, createPrivateKey, createSign, generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestApp, diagnostics, NOW, SAMPLE_ACCOUNT } from "../../app.ts";

const ISS = "https://idp.example.com";
const JWKS = "https://idp.example.com/jwks";
const POLICY = { operations: ["upload", "download"], accounts: ["acc"], buckets: ["uploads"], prefixes: ["users/{jwt.sub}/"] };
const exp = NOW / 1000 + 600;
const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const forge = (header: Record<string, unknown>, claims: Record<string, unknown>, signature = "AAAA") => `${b64(header)}.${b64(claims)}.${signature}`;

interface Pair {
  privateKey: CryptoKey;
  jwk: Record<string, unknown>;
  privateJwk: Record<string, unknown>;
}
const pairs: Record<string, Pair> = {};
async function pair(name: string, alg: string, kid: string, extra: Record<string, unknown> = {}) {
  const generated = await generateKeyPair(alg, alg === "EdDSA" ? { crv: "Ed25519", extractable: true } : { extractable: true });
  pairs[name] = { privateKey: generated.privateKey as CryptoKey, jwk: { ...(await exportJWK(generated.publicKey)), kid, ...extra }, privateJwk: (await exportJWK(generated.privateKey)) as Record<string, unknown> };
}

beforeAll(async () => {
  await pair("rsa", "RS256", "rsa-1");
  await pair("rsaAlg", "RS256", "rsa-alg", { alg: "RS256" });
  await pair("es256", "ES256", "es256-1");
  await pair("es384", "ES384", "es384-1");
  await pair("ed", "EdDSA", "ed-1");
  await pair("other", "ES256", "es256-1"); // the same kid as es256, another key
});

const sign = (name: string, alg: string, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  new SignJWT({ iss: ISS, sub: "alice", exp, ...claims }).setProtectedHeader({ alg, kid: pairs[name]!.jwk.kid as string, ...header } as never).sign(pairs[name]!.privateKey);

/** PS256 with an RSA pair made for RS256 (jose will not; node:crypto will). */
function signPss(name: string, header: Record<string, unknown> = {}) {
  const input = `${b64({ alg: "PS256", kid: pairs[name]!.jwk.kid, ...header })}.${b64({ iss: ISS, sub: "alice", exp })}`;
  const key = createPrivateKey({ key: pairs[name]!.privateJwk as never, format: "jwk" });
  return `${input}.${nodeSign("sha256", Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }).toString("base64url")}`;
}

/** An app whose key-set fetches `serve` answers (and are counted). */
async function setup(introspector: Record<string, unknown>, serve: (url: string) => Response | Promise<Response> = () => new Response("{}", { status: 404 })) {
  let clock = NOW;
  const fetched: string[] = [];
  const t = createTestApp({
    now: () => clock,
    fetch: (async (input: RequestInfo | URL) => {
      const url = String(input instanceof Request ? input.url : input);
      fetched.push(url);
      return serve(url);
    }) as typeof fetch,
  });
  await t.putAccount("acc", { ...SAMPLE_ACCOUNT, "single-tenant": true });
  const created = await t.call({ method: "PUT", path: "/TokenIntrospector/app", body: { type: "jwt", jwt: { iss: ISS }, policy: POLICY, ...introspector } });
  expect(created.status, created.text).toBe(201);
  const upload = (jwt: string, key = "users/alice/x") => t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${jwt}`, body: { filename: key } });
  return { ...t, upload, fetched, advance: (ms: number) => (clock += ms) };
}
const jwks = (...keys: unknown[]) => new Response(JSON.stringify({ keys }), { status: 200, headers: { "content-type": "application/json" } });

describe("key sets", () => {
  it("HOLE: a deleted introspector's fetched keys are not reused by a new one of the same id (same versionId and lastUpdated)", async () => {
    // Keys served per URL: the old introspector's set has the (since compromised) RSA key, the new one only EC.
    const t = await setup({ jwks_uri: JWKS }, (url) => (url === JWKS ? jwks(pairs.rsa!.jwk) : jwks(pairs.es256!.jwk)));
    const old = await sign("rsa", "RS256");
    expect((await t.upload(old)).status).toBe(200);
    // The admin drops it and creates a fresh one with another key set, in the same millisecond (a script; this clock).
    expect((await t.call({ method: "DELETE", path: "/TokenIntrospector/app" })).status).toBe(200);
    const again = await t.call({ method: "PUT", path: "/TokenIntrospector/app", body: { type: "jwt", jwt: { iss: ISS }, jwks_uri: "https://idp.example.com/new-jwks", policy: POLICY } });
    expect(again.status).toBe(201);
    // Version "1\n<same time>" both times: the old set (cache_ttl, up to a day) is taken for the new introspector.
    const answer = await t.upload(old);
    expect(answer.status, answer.text).toBe(401);
  });

  it("HOLE: an RSA key under 2048 bits is refused even when its modulus is zero-padded to 256 bytes", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const jwk = publicKey.export({ format: "jwk" }) as { n: string; e: string };
    const n = Buffer.from(jwk.n, "base64url");
    const padded = Buffer.concat([Buffer.alloc(256 - n.length), n]).toString("base64url"); // 342 characters: passes the length check
    const t = createTestApp();
    const answer = await t.call({ method: "PUT", path: "/TokenIntrospector/weak", body: { type: "jwt", jwt: { iss: ISS, keys: [{ kty: "RSA", n: padded, e: jwk.e, kid: "weak" }] }, policy: POLICY } });
    if (answer.status === 201) {
      // And it verifies tokens: a 1024-bit key (factorable by a well-funded attacker) is what stands guard.
      await t.putAccount("acc", { ...SAMPLE_ACCOUNT, "single-tenant": true });
      const input = `${b64({ alg: "RS256", kid: "weak" })}.${b64({ iss: ISS, sub: "alice", exp })}`;
      const token = `${input}.${createSign("sha256").update(input).sign(privateKey).toString("base64url")}`;
      const used = await t.call({ method: "POST", path: "/aws/storage/acc/uploads", auth: `Bearer ${token}`, body: { filename: "users/alice/x" } });
      expect(used.status, "a 1024-bit key was accepted and verifies tokens").toBe(401);
    }
    expect(answer.status, answer.text).toBe(400);
  });

  it("holds: a flood of made-up kids costs one refetch per 30 s; missing kid tries several keys; duplicate kids both tried", async () => {
    const t = await setup({ jwks_uri: JWKS }, () => jwks(pairs.es256!.jwk, pairs.other!.jwk, pairs.rsa!.jwk));
    expect((await t.upload(await sign("es256", "ES256"))).status).toBe(200);
    expect((await t.upload(await sign("other", "ES256"))).status).toBe(200); // the second key with the same kid
    expect((await t.upload(await sign("rsa", "RS256", {}, { kid: undefined }))).status).toBe(200);
    const before = t.fetched.length;
    for (let i = 0; i < 100; i++) expect((await t.upload(await sign("es256", "ES256", {}, { kid: `made-up-${i}` }))).status).toBe(401);
    expect(t.fetched.length - before).toBe(1);
  });

  it("holds: a JWKS key whose key_ops leave out verify (RFC 7517, 4.3) is passed over; one whose key_ops hold it is used (a review, 2026-12-01)", async () => {
    const t = await setup({ jwks_uri: JWKS }, () => jwks({ ...pairs.es256!.jwk, key_ops: ["encrypt", "wrapKey"] }, { ...pairs.rsa!.jwk, key_ops: ["verify"] }));
    expect((await t.upload(await sign("es256", "ES256"))).status).toBe(401);
    expect((await t.upload(await sign("rsa", "RS256"))).status).toBe(200);
  });

  it("holds: JWKS abuse: private members, non-sig keys, weak and odd keys are passed over; a huge set is refused", async () => {
    const evil = [
      { ...pairs.es256!.jwk, d: "AAAA" }, // private material: skipped
      { ...pairs.rsa!.jwk, use: "enc" },
      { kty: "oct", k: "c2VjcmV0", kid: "rsa-1" }, // an HMAC key under a real kid: never a candidate
      { kty: "EC", crv: "P-521", x: "AA", y: "AA", kid: "x" },
      { ...pairs.ed!.jwk },
    ];
    const t = await setup({ jwks_uri: JWKS }, () => jwks(...evil));
    expect((await t.upload(await sign("ed", "EdDSA"))).status).toBe(200);
    expect((await t.upload(await sign("es256", "ES256"))).status).toBe(401);
    expect((await t.upload(await sign("rsa", "RS256"))).status).toBe(401);
    const hmac = await new SignJWT({ iss: ISS, sub: "alice", exp }).setProtectedHeader({ alg: "HS256", kid: "rsa-1" }).sign(new TextEncoder().encode("secret"));
    expect(diagnostics(await t.upload(hmac))).toMatch(/algorithm is not accepted/);
    const huge = await setup({ jwks_uri: JWKS }, () => new Response(" ".repeat(300 * 1024) + "{}", { status: 200 }));
    expect((await huge.upload(await sign("ed", "EdDSA"))).status).toBe(503);
    const redirect = await setup({ jwks_uri: JWKS }, () => new Response(null, { status: 307, headers: { location: "http://169.254.169.254/" } }));
    const answer = await redirect.upload(await sign("ed", "EdDSA"));
    expect(answer.status).toBe(503);
    // The reason is logged, not answered (a token's presenter learns nothing of what answers at an address).
    expect(diagnostics(answer)).not.toMatch(/redirect/);
    expect(redirect.logs.some((line) => /redirect \(not followed\)/.test(String(line.error)))).toBe(true);
  });
});

describe("algorithms", () => {
  const inline = (...names: string[]) => ({ jwt: { iss: ISS, keys: names.map((name) => pairs[name]!.jwk) } });

  it("holds: alg none in every spelling, HS256/HS384/HS512 against public keys, unknown algs: refused", async () => {
    const t = await setup(inline("rsa", "es256"));
    for (const alg of ["none", "None", "NONE", "nOnE", "", "HS256", "HS384", "HS512", "RS384", "RS512", "PS512", "ES512", "ES256K", "Ed25519"]) {
      for (const signature of ["AAAA", ""]) {
        const answer = await t.upload(forge({ alg, kid: "rsa-1" }, { iss: ISS, sub: "alice", exp }, signature));
        expect(answer.status, `${alg}/${signature}`).toBe(401);
      }
    }
    // The key-confusion attack proper: HS256 keyed with every rendering of the public key.
    const jwk = pairs.rsa!.jwk;
    for (const secret of [JSON.stringify(jwk), String(jwk.n), JSON.stringify({ kty: jwk.kty, n: jwk.n, e: jwk.e })]) {
      const token = await new SignJWT({ iss: ISS, sub: "alice", exp }).setProtectedHeader({ alg: "HS256", kid: "rsa-1" }).sign(new TextEncoder().encode(secret));
      expect((await t.upload(token)).status).toBe(401);
    }
  });

  it("holds: alg/kty mismatches: ES256 against a P-384 key, ES384 against P-256, EdDSA against EC, RS256 against EC, PS256 against an RS256-only key", async () => {
    const t = await setup(inline("rsaAlg", "es256", "es384", "ed"));
    // Re-labelled headers over genuine signatures: each names a key of another kind.
    const relabel = async (name: string, alg: string, as: { alg: string; kid: string }) => {
      const [, body, signature] = (await sign(name, alg)).split(".");
      return `${b64(as)}.${body}.${signature}`;
    };
    expect(diagnostics(await t.upload(await relabel("es384", "ES384", { alg: "ES256", kid: "es384-1" })))).toMatch(/key is not in the issuer's key set/);
    expect(diagnostics(await t.upload(await relabel("es256", "ES256", { alg: "ES384", kid: "es256-1" })))).toMatch(/key is not in the issuer's key set/);
    expect(diagnostics(await t.upload(await relabel("ed", "EdDSA", { alg: "EdDSA", kid: "es256-1" })))).toMatch(/key is not in the issuer's key set/);
    expect(diagnostics(await t.upload(await relabel("es256", "ES256", { alg: "RS256", kid: "es256-1" })))).toMatch(/key is not in the issuer's key set/);
    // PS256 signed with the RSA key whose JWK says alg RS256: refused before any crypto.
    expect(diagnostics(await t.upload(signPss("rsaAlg")))).toMatch(/key is not in the issuer's key set/);
    // No kid: no key of the token's kind checks it.
    expect((await t.upload(await relabel("es384", "ES384", { alg: "ES256" } as never))).status).toBe(401);
    // Genuine ones pass.
    for (const [name, alg] of [["rsaAlg", "RS256"], ["es256", "ES256"], ["es384", "ES384"], ["ed", "EdDSA"]]) expect((await t.upload(await sign(name!, alg!))).status, alg).toBe(200);
  });

  it("holds: an RSA JWK without alg checks RS256 and PS256 alike (both need the private key; no forgery across them)", async () => {
    const t = await setup(inline("rsa"));
    expect((await t.upload(await sign("rsa", "RS256"))).status).toBe(200);
    expect((await t.upload(signPss("rsa"))).status).toBe(200);
    const [, body, signature] = (await sign("rsa", "RS256")).split(".");
    expect((await t.upload(`${b64({ alg: "PS256", kid: "rsa-1" })}.${body}.${signature}`)).status).toBe(401);
  });

  it("holds: header tricks: embedded jwk/jku/x5u are ignored, crit refused, typ checked, crit with b64 refused", async () => {
    const t = await setup(inline("es256"));
    const attacker = await generateKeyPair("ES256");
    const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: "es256-1" };
    for (const header of [{ jwk: attackerJwk }, { jku: "https://evil.example.com/jwks" }, { x5u: "https://evil.example.com/x5" }]) {
      const token = await new SignJWT({ iss: ISS, sub: "alice", exp }).setProtectedHeader({ alg: "ES256", kid: "es256-1", ...header } as never).sign(attacker.privateKey);
      expect((await t.upload(token)).status).toBe(401);
    }
    expect(diagnostics(await t.upload(forge({ alg: "ES256", kid: "es256-1", crit: ["b64"], b64: false }, { iss: ISS, sub: "alice", exp })))).toMatch(/critical/);
    expect(diagnostics(await t.upload(forge({ alg: "ES256", kid: "es256-1", crit: [] }, { iss: ISS, sub: "alice", exp })))).toMatch(/critical/);
    for (const typ of ["dpop+jwt", "JWS", "logout+jwt", "application/jwt;x"]) expect((await t.upload(await sign("es256", "ES256", {}, { typ }))).status, typ).toBe(401);
    for (const typ of ["JWT", "jwt", "at+jwt", "application/at+jwt"]) expect((await t.upload(await sign("es256", "ES256", {}, { typ }))).status, typ).toBe(200);
    expect((await t.upload(await sign("es256", "ES256", {}, { typ: 1 }))).status).toBe(401);
  });

  it("holds: base64url tricks: padding, standard-alphabet characters, whitespace, a non-canonical last character of a part", async () => {
    const t = await setup(inline("es256"));
    const good = await sign("es256", "ES256");
    const [head, body, signature] = good.split(".") as [string, string, string];
    for (const token of [`${head}=.${body}.${signature}`, `${head}.${body}.${signature}==`, `${head}.${body}.${signature.replace(/^./, "+")}`, `${head}.${body}..${signature}`]) {
      expect((await t.upload(token)).status, token.slice(-30)).toBe(401);
    }
    // A payload re-encoded non-canonically decodes to the same JSON but is not what was signed.
    const last = body.at(-1)!;
    const flipped = `${body.slice(0, -1)}${last === "A" ? "B" : "A"}`;
    expect((await t.upload(`${head}.${flipped}.${signature}`)).status).toBe(401);
  });
});

describe("claims", () => {
  it.each([
    ["exp as a string", { exp: String(exp) }, /exp is not a number/],
    ["exp 1e999 (JSON for Infinity)", "1e999", /exp is not a number/],
    ["exp negative", { exp: -1 }, /expired/],
    ["exp null", { exp: null }, /exp is not a number/],
    ["nbf as a string", { nbf: "0" }, /nbf is not a number/],
    ["iat in the far future", { iat: 1e300 }, /issued in the future/],
    ["nbf 1e999", "nbf", /nbf is not a number/],
    ["iss with a trailing slash", { iss: `${ISS}/` }, /no TokenIntrospector/],
    ["iss in upper case", { iss: ISS.toUpperCase() }, /no TokenIntrospector/],
    ["iss with a zero-width space", { iss: `${ISS}\u200b` }, /no TokenIntrospector/],
    ["iss as a list", { iss: [ISS] }, /has no iss/],
    ["sub as a number", { sub: 1 }, /has no sub/],
    ["sub empty", { sub: "" }, /has no sub/],
  ] as const)("holds: %s is refused", async (_, claims, reason) => {
    const t = await setup({ jwt: { iss: ISS, keys: [pairs.es256!.jwk] } });
    let token: string;
    if (typeof claims === "string") {
      const json = claims === "nbf" ? `{"iss":"${ISS}","sub":"alice","exp":${exp},"nbf":1e999}` : `{"iss":"${ISS}","sub":"alice","exp":1e999}`;
      const { CompactSign } = await import("jose");
      token = await new CompactSign(new TextEncoder().encode(json)).setProtectedHeader({ alg: "ES256", kid: "es256-1" }).sign(pairs.es256!.privateKey);
    } else {
      token = await sign("es256", "ES256", claims as Record<string, unknown>);
    }
    const answer = await t.upload(token);
    expect(answer.status, answer.text).toBe(401);
    expect(diagnostics(answer)).toMatch(reason);
  });

  it("holds: aud lists with non-strings, objects, or the audience in another case do not match", async () => {
    const t = await setup({ jwt: { iss: ISS, keys: [pairs.es256!.jwk] }, audience: "signpost" });
    for (const aud of [[1, null, {}], { signpost: true }, ["Signpost"], "signpost ", [["signpost"]]]) {
      expect((await t.upload(await sign("es256", "ES256", { aud }))).status, JSON.stringify(aud)).toBe(401);
    }
    expect((await t.upload(await sign("es256", "ES256", { aud: [1, "signpost"] }))).status).toBe(200);
  });

  it("holds: an oversized token is refused before it is read", async () => {
    const t = await setup({ jwt: { iss: ISS, keys: [pairs.es256!.jwk] } });
    const answer = await t.upload(await sign("es256", "ES256", { pad: "x".repeat(9000) }));
    expect(answer.status).toBe(401);
    expect(diagnostics(answer)).toMatch(/larger than 8 KB/);
  });
});
