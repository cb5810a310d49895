// Who is calling: the admin (SIGNPOST_ADMIN_TOKEN as a bearer token) or a Client (its secret as a bearer token,
// or HTTP Basic `client-id:secret` as Aidbox clients send it). Anything else is 401.
import { ADMIN, type Caller, type Client, clientIdOf, storedClient } from "./clients.ts";
import { HttpError } from "./errors.ts";
import type { ResourceStore } from "./store/store.ts";

/** Compares in time that depends only on the expected value's length, never on where they differ. */
export function constantTimeEqual(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    diff |= (given.charCodeAt(i) | 0) ^ expected.charCodeAt(i); // NaN|0 is 0 past the end of `given`
  }
  return diff === 0;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;
const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;
const CHALLENGE = 'Bearer realm="signpost", Basic realm="signpost"';
const INVALID_CHALLENGE = 'Bearer realm="signpost", error="invalid_token", Basic realm="signpost"';
const MAX_VERIFIED = 10_000;

function presented(authorization: string | null): { secret: string; user?: string } | undefined {
  if (!authorization) return undefined;
  const bearer = BEARER.exec(authorization);
  if (bearer) return { secret: bearer[1]! };
  const basic = BASIC.exec(authorization);
  if (!basic) return undefined;
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(basic[1]!), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** Who the credentials claim to be, for the log of a refused request: never the secret. */
export function presentedIdentity(authorization: string | null): string | undefined {
  const credentials = presented(authorization);
  if (!credentials) return authorization ? "malformed" : undefined;
  const id = credentials.user ?? clientIdOf(credentials.secret);
  return id === undefined ? "a bearer token" : `Client/${id.slice(0, 64).replace(/[^\w.@-]/g, "_")}`;
}

// Compared against when no client matches, so that an unknown id costs what a wrong secret does.
const NO_CLIENT_HASH = "0".repeat(64);

export function createAuthenticator(adminToken: string | undefined, clients: ResourceStore<Client>) {
  // Secrets already checked, with the hash they matched: later requests skip the SHA-256 while it still matches.
  const verified = new Map<string, string>();
  // Stored records already checked (the cache hands out the same frozen object until it reads the store again).
  const checked = new WeakSet<Client>();
  const tooShort = adminToken !== undefined && adminToken.length < 16;

  return async (authorization: string | null): Promise<Caller> => {
    if (!adminToken || tooShort) {
      throw new HttpError(503, `signpost is not configured: ${tooShort ? "SIGNPOST_ADMIN_TOKEN must be at least 16 characters" : "set SIGNPOST_ADMIN_TOKEN"}`);
    }
    const credentials = presented(authorization);
    if (credentials) {
      const { secret, user } = credentials;
      if (user === undefined && constantTimeEqual(secret, adminToken)) return ADMIN;
      const id = clientIdOf(secret);
      if (id !== undefined && (user === undefined || user === id)) {
        const client = await clients.get(id);
        // Hashed whether or not the client exists: a wrong secret and an unknown id take the same time.
        const hash = (client && verified.get(secret)) ?? (await sha256Hex(secret));
        if (constantTimeEqual(hash, client?.["secret-hash"] ?? NO_CLIENT_HASH) && client) {
          if (!checked.has(client)) {
            const problem = storedClient(client, id);
            if (typeof problem === "string") throw new HttpError(403, `Client/${id} is stored in a form signpost cannot use (${problem}): it is denied everything until the admin replaces it`);
            if (Object.isFrozen(client)) checked.add(client);
          }
          if (verified.size >= MAX_VERIFIED) verified.clear();
          verified.set(secret, hash);
          return { admin: false, id: client.id, policy: client.policy };
        }
      }
    }
    const message = credentials ? "invalid credentials" : authorization ? "malformed credentials: send Authorization: Bearer <token>, or Basic base64(<client id>:<secret>)" : "missing credentials: send Authorization: Bearer <token>, or Basic with a client id and secret";
    throw new HttpError(401, message, { "www-authenticate": credentials ? INVALID_CHALLENGE : CHALLENGE });
  };
}
