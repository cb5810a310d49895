// End users: a JWT from the app's OpenID Connect provider, as a bearer token (or in the introspector's cookie).
// The token's iss picks the TokenIntrospector. The signature is checked by hono's JWS verify (Web Crypto
// underneath) with an algorithm signpost chooses from the key, never the one the token asks for: RS256, PS256,
// ES256, ES384 or EdDSA with a public key, HS256 only with the introspector's secret. Then the claims: exp required,
// nbf and iat honoured with at most 60 s of leeway, aud when the introspector names one. The caller gets the
// introspector's policy, filled in from the claims.
import { verify } from "hono/utils/jwt/jwt";
import { openedSecrets, type Sealer } from "../crypto/seal.ts";
import { ALGORITHMS, keyKind, type PublicJwk, type TokenIntrospector, tokenPolicy } from "../domain/introspector.ts";
import type { Caller } from "../domain/policy.ts";
import { HttpError } from "../errors.ts";
import type { Authenticator } from "./index.ts";
import type { IntrospectorIndex } from "./introspectors.ts";
import type { KeySets } from "./key-sets.ts";

export const MAX_TOKEN_BYTES = 8192;
export const LEEWAY_SECONDS = 60;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const TYP = /^(application\/)?(jwt|at\+jwt)$/i;

/** A 401 that tells what is wrong with the token in general words: never a claim's value or a key. */
export function invalidToken(reason: string): HttpError {
  return new HttpError(401, `invalid token: ${reason}`, { "www-authenticate": `Bearer realm="signpost", error="invalid_token", error_description="${reason}"` });
}

function decodePart(part: string): Record<string, unknown> {
  const base64 = part.replaceAll("-", "+").replaceAll("_", "/");
  const text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
  return value as Record<string, unknown>;
}

/** Would `key` check a token signed with `alg`? Its type must sign with it, and its own alg (if any) must be it. */
const fits = (key: PublicJwk, alg: string) => ALGORITHMS[keyKind(key)]!.includes(alg) && (key.alg === undefined || key.alg === alg);

export function jwtBearer(deps: { introspectors: IntrospectorIndex; keys: KeySets; sealer: Sealer; now: () => number }): Authenticator {
  // The HMAC key imported here, not by hono (which would read a secret holding "PUBLIC" or "PRIVATE" as a PEM key).
  const hmacKey = openedSecrets(deps.sealer, {
    max: 1_000,
    use: (secret) => crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]),
  });
  const secretOf = (introspector: TokenIntrospector) => hmacKey(`TokenIntrospector/${introspector.id}`, introspector.jwt.secret!);

  /** True when `key` verifies the token's signature with `alg`; the claims are checked apart, with leeway. */
  const signedWith = async (token: string, key: CryptoKey | PublicJwk, alg: string, typ: unknown): Promise<boolean> => {
    try {
      await verify(token, key as never, { alg: alg as never, ...(typeof typ === "string" ? { typ } : {}), exp: false, nbf: false, iat: false });
      return true;
    } catch {
      return false;
    }
  };

  return async (credentials) => {
    if (credentials.scheme !== "bearer") return undefined;
    const token = credentials.token;
    if (token.length > MAX_TOKEN_BYTES) throw invalidToken(`the token is larger than ${MAX_TOKEN_BYTES / 1024} KB`);
    if (!COMPACT_JWS.test(token)) return undefined; // not a JWT: another method's
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      const [head, body] = token.split(".");
      header = decodePart(head!);
      claims = decodePart(body!);
    } catch {
      throw invalidToken("the token cannot be read");
    }
    if (typeof claims.iss !== "string") throw invalidToken("the token has no iss");
    const introspector = await deps.introspectors.byIssuer(claims.iss);
    if (!introspector) throw invalidToken("no TokenIntrospector accepts tokens from this issuer");
    if (introspector === "ambiguous") throw new HttpError(503, "more than one TokenIntrospector accepts tokens from this issuer: none is used until one is removed");
    // A cookie opens only the issuer whose introspector names it: the others never chose to be read from one.
    if (credentials.via && introspector.cookie !== credentials.via.cookie) throw invalidToken("this issuer's tokens are not accepted from this cookie");

    const alg = header.alg;
    if (typeof alg !== "string") throw invalidToken("the token names no algorithm");
    if (header.crit !== undefined) throw invalidToken("the token has critical header parameters signpost does not understand");
    if (header.typ !== undefined && (typeof header.typ !== "string" || !TYP.test(header.typ))) throw invalidToken("the token's typ is not JWT");
    let verified: boolean;
    if (introspector.jwt.secret !== undefined) {
      if (alg !== "HS256") throw invalidToken("this issuer's tokens must be signed with HS256");
      verified = await signedWith(token, await secretOf(introspector), alg, header.typ);
    } else {
      // A public key never checks an HMAC: that is the key-confusion attack (the public key used as a secret).
      if (alg === "none" || !Object.values(ALGORITHMS).some((algs) => algs.includes(alg))) throw invalidToken("the token's algorithm is not accepted (RS256, PS256, ES256, ES384, EdDSA)");
      const kid = typeof header.kid === "string" ? header.kid : undefined;
      const candidates = (await deps.keys.keys(introspector, kid)).filter((key) => (kid === undefined || key.kid === kid) && fits(key, alg));
      if (candidates.length === 0) throw invalidToken(kid === undefined ? "no key of the issuer checks this token's algorithm" : "the token's key is not in the issuer's key set");
      verified = false;
      for (const key of candidates.slice(0, 5)) {
        if ((verified = await signedWith(token, key, alg, header.typ))) break;
      }
    }
    if (!verified) throw invalidToken("the signature does not verify");

    const now = deps.now() / 1000;
    const number = (name: string) => {
      const value = claims[name];
      if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value))) throw invalidToken(`the token's ${name} is not a number`);
      return value as number | undefined;
    };
    const exp = number("exp");
    const nbf = number("nbf");
    const iat = number("iat");
    if (exp === undefined) throw invalidToken("the token has no exp");
    if (now - LEEWAY_SECONDS >= exp) throw invalidToken("the token has expired");
    if (nbf !== undefined && nbf > now + LEEWAY_SECONDS) throw invalidToken("the token is not valid yet");
    if (iat !== undefined && iat > now + LEEWAY_SECONDS) throw invalidToken("the token was issued in the future");
    if (introspector.audience !== undefined) {
      const aud = claims.aud;
      const audiences = Array.isArray(aud) ? aud : [aud];
      if (!audiences.includes(introspector.audience)) throw invalidToken("the token is not meant for this audience");
    }
    const sub = claims.sub;
    if (typeof sub !== "string" || sub.length === 0 || sub.length > 255) throw invalidToken("the token has no sub");

    const caller: Caller = { admin: false, id: `${introspector.id}:${sub}`, name: `jwt:${introspector.id}:${sub}`, policy: tokenPolicy(introspector, claims) };
    return caller;
  };
}
