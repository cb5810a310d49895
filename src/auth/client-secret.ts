// A Client: its secret as a bearer token, or Basic `<client id>:<secret>`. The secret names its client
// (`<id>~<random>`); signpost keeps only the secret's SHA-256, and the stored record is checked before it grants.
import { constantTimeEqual, sha256Hex } from "../crypto/hash.ts";
import { type Client, clientIdOf, readClient } from "../domain/client.ts";
import { HttpError } from "../errors.ts";
import type { ResourceStore } from "../store/store.ts";
import type { Authenticator } from "./index.ts";

const MAX_VERIFIED = 10_000;
// Compared against when no client matches, so that an unknown id costs what a wrong secret does.
const NO_CLIENT_HASH = "0".repeat(64);

export function clientSecret(clients: ResourceStore<Client>): Authenticator {
  // Secrets already checked, with the hash they matched: later requests skip the SHA-256 while it still matches.
  const verified = new Map<string, string>();
  return async (credentials) => {
    if (credentials.scheme === "bearer" && credentials.via) return undefined; // a secret does not belong in a browser
    const secret = credentials.scheme === "bearer" ? credentials.token : credentials.secret;
    const id = clientIdOf(secret);
    if (id === undefined || (credentials.scheme === "basic" && credentials.user !== id)) return undefined;
    const client = await clients.get(id);
    // Hashed whether or not the client exists: a wrong secret and an unknown id take the same time.
    const hash = (client && verified.get(secret)) ?? (await sha256Hex(secret));
    const matches = constantTimeEqual(hash, client?.["secret-hash"] ?? NO_CLIENT_HASH);
    if (!client || !matches) return undefined;
    const stored = readClient(client, id); // checked once per cached record
    if (typeof stored === "string") throw new HttpError(403, `Client/${id} is stored in a form signpost cannot use (${stored}): it is denied everything until the admin replaces it`);
    if (verified.size >= MAX_VERIFIED) verified.clear();
    verified.set(secret, hash);
    return { admin: false, id: stored.id, policy: stored.policy };
  };
}
