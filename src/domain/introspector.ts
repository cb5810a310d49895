// TokenIntrospector resources (Aidbox's shape, plus a policy): whose JWTs signpost accepts, with which keys, and the
// policy a token gets, its {jwt.<claim>} placeholders filled in from the token's claims. The checks of a token
// itself are auth/jwt.ts's; the key sets it fetches, auth/key-sets.ts's.
import { isSealed } from "../crypto/seal.ts";
import { readOnce } from "../store/store.ts";
import { HttpError } from "../errors.ts";
import { invalidFor, objectFields, resourceHeader, wholeNumber } from "./fields.ts";
import { checkHost, CONTROL, isLoopbackHost, LONE_SURROGATE } from "./names.ts";
import { type Caller, isWithin, type ObjectOperation, type Policy, requireWithin } from "./policy.ts";
import { parsePolicy, type PolicyRules } from "./policy-input.ts";

/** A public key as a JWK, with only the members that say what it is. */
export interface PublicJwk {
  kty: "RSA" | "EC" | "OKP";
  kid?: string;
  alg?: string;
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
}

export interface TokenIntrospector {
  resourceType: "TokenIntrospector";
  id: string;
  description?: string;
  type: "jwt";
  jwt: {
    /** The tokens' `iss`, matched exactly; it picks the introspector. */
    iss: string;
    keys?: PublicJwk[];
    /** An HS256 shared secret: sealed at rest, never shown. */
    secret?: string;
  };
  jwks_uri?: string;
  /** Seconds a fetched key set (and discovery document) is trusted. */
  cache_ttl?: number;
  /** When set, the token's `aud` must contain it. */
  audience?: string;
  /** A cookie that may carry the token, for same-site apps and widgets that cannot send headers. */
  cookie?: string;
  /** Scopes (`scope` / `scp` claims) a token must hold for an operation, all of them. */
  scopes?: Partial<Record<ObjectOperation, string[]>>;
  policy: Policy;
  meta: { versionId: string; lastUpdated: string };
}

export type IntrospectorInput = Omit<TokenIntrospector, "resourceType" | "id" | "meta">;

export const DEFAULT_CACHE_TTL = 300;
const OBJECT_OPERATIONS: readonly ObjectOperation[] = ["upload", "download", "delete"];
/** {jwt.sub}, {jwt.tenant}, {jwt.cognito:username}: a top-level claim. */
const PLACEHOLDER = /\{jwt\.([A-Za-z0-9_:-]{1,64})\}/g;
const POLICY_RULES: PolicyRules = { what: "TokenIntrospector", operations: OBJECT_OPERATIONS, placeholders: PLACEHOLDER, strictBraces: true };
const FIELDS = new Set(["resourceType", "id", "meta", "description", "type", "jwt", "jwks_uri", "cache_ttl", "audience", "cookie", "scopes", "policy"]);
const JWT_FIELDS = new Set(["iss", "keys", "secret"]);
// The members of a public JWK signpost reads; private members are refused outright, others dropped.
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];
const B64URL = /^[A-Za-z0-9_-]+$/;
/** The algorithms each kind of public key may sign with (HS256 only with jwt.secret). */
export const ALGORITHMS: Record<string, readonly string[]> = { RSA: ["RS256", "PS256"], "EC:P-256": ["ES256"], "EC:P-384": ["ES384"], "OKP:Ed25519": ["EdDSA"] };
export const keyKind = (jwk: PublicJwk) => (jwk.kty === "RSA" ? "RSA" : `${jwk.kty}:${jwk.crv}`);
const COOKIE_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;

const invalid: (message: string) => never = invalidFor("TokenIntrospector");

/**
 * An issuer or key-set URL: https, or http on this machine (a local issuer in development); never a link-local or
 * metadata address. Returns the URL as given.
 */
export function checkIssuerUrl(value: unknown, what: string, fail: (message: string) => never = invalid): string {
  if (typeof value !== "string" || value.length > 2048) return fail(`${what} must be a URL of at most 2048 characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(`${what} must be a URL, not ${JSON.stringify(value.slice(0, 100))}`);
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) fail(`${what} must be https (http only on localhost)`);
  if (url.username || url.password || url.hash) fail(`${what} must have no user, password or fragment`);
  try {
    checkHost(url.host);
  } catch (error) {
    fail(`${what}: ${(error as Error).message}`);
  }
  return value;
}

/** Is this (checked) issuer or key-set URL plain http, in any spelling of the scheme ("HTTP://" too)? */
export const isPlainHttp = (url: string) => new URL(url).protocol === "http:";

/** A public JWK signpost can verify with, reduced to the members that say what it is. */
export function publicJwk(value: unknown, where: string, fail: (message: string) => never = invalid): PublicJwk {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail(`${where} must be a JWK object`);
  const jwk = value as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((member) => jwk[member] !== undefined)) fail(`${where} holds private key material: give the public key only`);
  if (jwk.use !== undefined && jwk.use !== "sig") fail(`${where}: use must be "sig"`);
  // RFC 7517, 4.3: a key whose key_ops leave out "verify" is not for checking signatures, whatever else it says.
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes("verify"))) fail(`${where}: key_ops must include "verify"`);
  const member = (name: string) => {
    if (typeof jwk[name] !== "string" || !B64URL.test(jwk[name] as string)) fail(`${where}: ${name} must be base64url`);
    return jwk[name] as string;
  };
  let key: PublicJwk;
  if (jwk.kty === "RSA") {
    key = { kty: "RSA", n: member("n"), e: member("e") };
    // The modulus's length without the zero bytes it may be padded with.
    let modulus = "";
    try {
      modulus = atob(key.n!.replaceAll("-", "+").replaceAll("_", "/")).replace(/^\0+/, "");
    } catch {
      fail(`${where}: n must be base64url`);
    }
    if (modulus.length < 256) fail(`${where}: RSA keys must have at least 2048 bits`);
  } else if (jwk.kty === "EC" && (jwk.crv === "P-256" || jwk.crv === "P-384")) {
    key = { kty: "EC", crv: jwk.crv, x: member("x"), y: member("y") };
  } else if (jwk.kty === "OKP" && jwk.crv === "Ed25519") {
    key = { kty: "OKP", crv: "Ed25519", x: member("x") };
  } else {
    return fail(`${where}: kty must be RSA, EC (crv P-256 or P-384) or OKP (crv Ed25519)`);
  }
  if (jwk.kid !== undefined) {
    if (typeof jwk.kid !== "string" || jwk.kid.length === 0 || jwk.kid.length > 256) fail(`${where}: kid must be a string of 1 to 256 characters`);
    key.kid = jwk.kid;
  }
  if (jwk.alg !== undefined) {
    const allowed = ALGORITHMS[keyKind(key)]!;
    if (typeof jwk.alg !== "string" || !allowed.includes(jwk.alg)) fail(`${where}: alg must be ${allowed.join(" or ")} for this key`);
    key.alg = jwk.alg;
  }
  return key;
}

function scopes(value: unknown, operations: readonly string[]): Partial<Record<ObjectOperation, string[]>> {
  const record = objectFields(value, "TokenIntrospector scopes", OBJECT_OPERATIONS);
  const parsed: Partial<Record<ObjectOperation, string[]>> = {};
  for (const [operation, list] of Object.entries(record)) {
    if (!operations.includes(operation)) invalid(`scopes.${operation}: the policy does not grant ${operation}`);
    if (!Array.isArray(list) || list.length === 0 || list.length > 20 || !list.every((scope) => typeof scope === "string" && SCOPE.test(scope))) {
      invalid(`scopes.${operation} must be a list of 1 to 20 scopes (printable, no spaces, quotes or backslashes)`);
    }
    parsed[operation as ObjectOperation] = [...new Set(list as string[])];
  }
  return parsed;
}

/** Checks a PUT /TokenIntrospector body; `secret` comes back as given (the caller seals it). */
export function parseIntrospector(body: unknown, id: string): IntrospectorInput {
  const record = objectFields(body, "TokenIntrospector", FIELDS);
  resourceHeader(record, "TokenIntrospector", id);
  if (record.type !== "jwt") invalid('type must be "jwt"');
  if (record.description !== undefined && (typeof record.description !== "string" || record.description.length > 500)) {
    invalid("description must be a string of at most 500 characters");
  }
  const jwt = objectFields(record.jwt ?? null, "TokenIntrospector jwt", JWT_FIELDS);
  const input: IntrospectorInput = { type: "jwt", jwt: { iss: checkIssuerUrl(jwt.iss, "jwt.iss") }, policy: parsePolicy(record.policy, POLICY_RULES) };
  const sources = [jwt.keys, jwt.secret, record.jwks_uri].filter((source) => source !== undefined).length;
  if (sources > 1) invalid("give one of jwt.keys, jwt.secret and jwks_uri (or none: the keys are then found through <iss>/.well-known/openid-configuration)");
  if (jwt.keys !== undefined) {
    if (!Array.isArray(jwt.keys) || jwt.keys.length === 0 || jwt.keys.length > 20) invalid("jwt.keys must be a list of 1 to 20 public JWKs");
    input.jwt.keys = jwt.keys.map((key, i) => publicJwk(key, `jwt.keys[${i}]`));
  }
  if (jwt.secret !== undefined) {
    if (typeof jwt.secret !== "string" || jwt.secret.length < 32 || jwt.secret.length > 512) invalid("jwt.secret must be a string of 32 to 512 characters (HS256 needs 256 bits)");
    input.jwt.secret = jwt.secret;
  }
  if (record.jwks_uri !== undefined) input.jwks_uri = checkIssuerUrl(record.jwks_uri, "jwks_uri");
  const ttl = wholeNumber(record.cache_ttl, "TokenIntrospector", "cache_ttl", 1, 86400);
  if (ttl !== undefined) input.cache_ttl = ttl;
  if (record.audience !== undefined) {
    if (typeof record.audience !== "string" || record.audience.length === 0 || record.audience.length > 256) invalid("audience must be a string of 1 to 256 characters");
    input.audience = record.audience;
  }
  if (record.cookie !== undefined) {
    if (typeof record.cookie !== "string" || !COOKIE_NAME.test(record.cookie)) invalid("cookie must be a cookie name (1 to 64 letters, digits and !#$%&'*+.^_`|~-)");
    input.cookie = record.cookie;
  }
  if (record.scopes !== undefined) input.scopes = scopes(record.scopes, input.policy.operations);
  if (typeof record.description === "string") input.description = record.description;
  return input;
}

/**
 * A stored introspector as read back, checked like a new one, with the defaults of what it lacks (a policy imported
 * without `buckets` allows every bucket, as it reads); a reason instead when it is not one.
 */
export function storedIntrospector(value: unknown, id: string): TokenIntrospector | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "it is not an object";
  const record = value as Record<string, unknown>;
  if (record.resourceType !== "TokenIntrospector" || record.id !== id) return "its resourceType or id is wrong";
  const meta = record.meta as Record<string, unknown> | undefined;
  if (typeof meta?.versionId !== "string" || typeof meta.lastUpdated !== "string") return "its meta is missing";
  const jwt = record.jwt as Record<string, unknown> | undefined;
  const sealed = jwt?.secret;
  if (sealed !== undefined && !isSealed(sealed)) return "its jwt.secret is not sealed";
  let input: IntrospectorInput;
  try {
    const { meta: _, ...rest } = record;
    // The sealed secret stands in for a plain one of the right length.
    input = parseIntrospector(sealed === undefined ? rest : { ...rest, jwt: { ...jwt, secret: "s".repeat(32) } }, id);
  } catch (error) {
    return error instanceof HttpError ? error.message.replace(/^TokenIntrospector:? /, "") : "it cannot be read";
  }
  if (sealed !== undefined) input.jwt.secret = sealed as string;
  return { resourceType: "TokenIntrospector", id, ...input, meta: record.meta as TokenIntrospector["meta"] };
}

/** storedIntrospector once per frozen record, shared by everything that reads a stored introspector. */
export const readIntrospector = readOnce((introspector: TokenIntrospector, id: string) => storedIntrospector(introspector, id));

/** An introspector without its secret. */
export function withoutSecret(introspector: TokenIntrospector): TokenIntrospector {
  const { secret: _, ...jwt } = introspector.jwt ?? {};
  return { ...introspector, jwt: jwt as TokenIntrospector["jwt"] };
}

/** What answers show: the introspector as it reads back (as stored when it does not), never the secret (a PUT without one keeps it). */
export function publicIntrospector(introspector: TokenIntrospector): TokenIntrospector {
  const read = readIntrospector(introspector, introspector.id);
  return withoutSecret(typeof read === "string" ? introspector : read);
}

/** Why the stored TokenIntrospector/`id` cannot be used or shown, from storedIntrospector's reason. */
export const unusableIntrospector = (id: string, reason: string) =>
  `TokenIntrospector/${id} is stored in a form signpost cannot use (${reason}): replace it with PUT /TokenIntrospector/${id}`;

/** Why a stored introspector cannot be used or shown, or undefined. */
export function introspectorProblem(introspector: TokenIntrospector): string | undefined {
  const read = readIntrospector(introspector, introspector.id);
  return typeof read === "string" ? unusableIntrospector(introspector.id, read) : undefined;
}

/** A manager handles only introspectors whose policy is within its own, and a damaged record only the admin. */
export function requireManageableIntrospector(caller: Caller, id: string, stored: TokenIntrospector | null): void {
  if (caller.admin || !stored) return;
  const introspector = readIntrospector(stored, id);
  if (typeof introspector === "string") throw new HttpError(403, `TokenIntrospector/${id} is stored in a form signpost cannot use (${introspector}): only the admin may change it`);
  requireIntrospectorWithin(caller, id, introspector.policy);
}

/**
 * May `caller` give tokens `policy`? Each prefix is judged by its part before the first placeholder, which every
 * filled-in prefix starts with: `users/{jwt.sub}/` is within `users/`, never within `users/alice/` (or within a
 * literal `users/{jwt.`).
 */
export function requireIntrospectorWithin(caller: Caller, id: string, policy: Policy): void {
  requireWithin(caller, id, withHeads(policy), `TokenIntrospector/${id}`);
}

/** May `caller` see and manage the introspector `id`, as it reads back (a damaged one: only the admin)? */
export const introspectorWithin = (caller: Caller, id: string, read: TokenIntrospector | string): boolean =>
  caller.admin || (typeof read !== "string" && isWithin(caller, id, withHeads(read.policy)));

const withHeads = (policy: Policy): Policy => (policy.prefixes ? { ...policy, prefixes: policy.prefixes.map((prefix) => prefix.split("{jwt.")[0]!) } : policy);

const UTF8 = new TextEncoder();

/**
 * The policy a token gets: the introspector's, each {jwt.<claim>} replaced by the claim, which must be a string
 * that is one safe path segment; operations whose scopes the token lacks left out. A claim that cannot be a folder
 * name gets the token nothing (403 naming the claim).
 */
export function tokenPolicy(introspector: TokenIntrospector, claims: Record<string, unknown>): Policy {
  const fill = (prefix: string) =>
    prefix.replace(PLACEHOLDER, (_, claim: string) => {
      const value = Object.hasOwn(claims, claim) ? claims[claim] : undefined;
      const bad = typeof value !== "string" ? "is not a string"
        : value === "" ? "is empty"
        : value.includes("/") ? "holds a '/'"
        : value === "." || value === ".." ? `is ${JSON.stringify(value)}`
        : CONTROL.test(value) || LONE_SURROGATE.test(value) ? "holds a control character"
        : UTF8.encode(value).length > 255 ? "is longer than 255 bytes"
        : undefined;
      if (bad) throw new HttpError(403, `this token's ${claim} claim ${bad}: it cannot name a folder, so the token gets nothing`);
      return value as string;
    });
  const held = new Set(scopesOf(claims));
  const operations = introspector.policy.operations.filter((operation) => (introspector.scopes?.[operation as ObjectOperation] ?? []).every((scope) => held.has(scope)));
  const policy: Policy = { ...introspector.policy, operations };
  if (introspector.policy.prefixes) policy.prefixes = introspector.policy.prefixes.map(fill);
  return policy;
}

/** The scopes a token holds: `scope` (space-separated, RFC 8693) or `scp` (a list or a string, as Entra and Okta send). */
export function scopesOf(claims: Record<string, unknown>): string[] {
  const value = claims.scope ?? claims.scp;
  if (typeof value === "string") return value.split(" ").filter(Boolean);
  return Array.isArray(value) ? value.filter((scope): scope is string => typeof scope === "string") : [];
}
