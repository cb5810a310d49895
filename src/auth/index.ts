// Who is calling: each authentication method (admin-token.ts, client-secret.ts; the OIDC JWT lands beside them)
// looks at what the Authorization header presents and names a Caller, or passes. None naming one is 401.
import type { Caller } from "../domain/policy.ts";
import { HttpError } from "../errors.ts";
import { type Presented, presented } from "./presented.ts";

/** A Caller for these credentials, undefined when they are not this method's (or are wrong). */
export type Authenticator = (credentials: Presented) => Promise<Caller | undefined>;

const CHALLENGE = 'Bearer realm="signpost", Basic realm="signpost"';
const INVALID_CHALLENGE = 'Bearer realm="signpost", error="invalid_token", Basic realm="signpost"';

/**
 * The methods tried in turn. `notConfigured`, when set, is why nobody can be authenticated (no admin token yet):
 * every request then answers 503 with it, fail closed.
 */
export function authenticator(methods: Authenticator[], notConfigured?: string) {
  return async (authorization: string | null): Promise<Caller> => {
    if (notConfigured) throw new HttpError(503, `signpost is not configured: ${notConfigured}`);
    const credentials = presented(authorization);
    if (credentials) {
      for (const method of methods) {
        const caller = await method(credentials);
        if (caller) return caller;
      }
    }
    const message = credentials ? "invalid credentials"
      : authorization ? "malformed credentials: send Authorization: Bearer <token>, or Basic base64(<client id>:<secret>)"
      : "missing credentials: send Authorization: Bearer <token>, or Basic with a client id and secret";
    throw new HttpError(401, message, { "www-authenticate": credentials ? INVALID_CHALLENGE : CHALLENGE });
  };
}

export { presentedIdentity } from "./presented.ts";
