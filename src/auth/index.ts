// Who is calling: each authentication method (admin-token.ts, client-secret.ts, jwt.ts) looks at what the request
// presents and names a Caller, or passes. None naming one is 401.
import type { Caller } from "../domain/policy.ts";
import { HttpError } from "../errors.ts";
import { type Presented, presented, tokenFromCookie } from "./presented.ts";

/** A Caller for these credentials, undefined when they are not this method's (or are wrong). */
export type Authenticator = (credentials: Presented) => Promise<Caller | undefined>;

/** What authentication reads of a request. */
export interface Presenting {
  authorization: string | null;
  cookie: string | null;
  method: string;
  contentType: string | null;
  /** Sec-Fetch-Site, which browsers send with every request. */
  fetchSite: string | null;
}

const CHALLENGE = 'Bearer realm="signpost", Basic realm="signpost"';
const INVALID_CHALLENGE = 'Bearer realm="signpost", error="invalid_token", Basic realm="signpost"';
// The content types a cross-site form or a fetch without a CORS preflight can send.
const SIMPLE_TYPE = /^\s*(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)\s*(;|$)/i;

/**
 * The methods tried in turn. `notConfigured`, when set, is why nobody can be authenticated (no admin token yet):
 * every request then answers 503 with it, fail closed. `cookieNames` are where a token may come instead of the
 * Authorization header (only tokens: never the admin's or a client's secret, which a browser must not hold).
 */
export function authenticator(methods: Authenticator[], notConfigured?: string, cookieNames: () => Promise<string[]> = async () => []) {
  return async (request: Presenting): Promise<Caller> => {
    if (notConfigured) throw new HttpError(503, `signpost is not configured: ${notConfigured}`);
    const { authorization } = request;
    let credentials = presented(authorization);
    if (!authorization && request.cookie) {
      const found = tokenFromCookie(request.cookie, await cookieNames());
      if (found) {
        // A browser sends cookies with requests other sites start: refused when it says so, and a write must come
        // with a type that only a same-origin page (or a CORS preflight) can send. A DELETE needs no such type: no
        // other origin can send one without a preflight, which signpost never answers with Allow-Credentials (so
        // the browser sends it no cookie); Uppy 6 aborts an upload with a DELETE that has no body.
        if (request.fetchSite === "cross-site") throw new HttpError(403, "a cookie is not accepted on a request another site started (Sec-Fetch-Site: cross-site)");
        if (!/^(GET|HEAD|DELETE)$/i.test(request.method) && (request.contentType === null || SIMPLE_TYPE.test(request.contentType))) {
          throw new HttpError(403, "a request authenticated by a cookie must send Content-Type: application/json (a cross-site form cannot)");
        }
        credentials = { scheme: "bearer", token: found.token, via: { cookie: found.cookie } };
      }
    }
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
