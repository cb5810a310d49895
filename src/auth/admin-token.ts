// The admin: SIGNPOST_ADMIN_TOKEN as a bearer token (never from a cookie), compared in constant time.
import { constantTimeEqual } from "../crypto/hash.ts";
import { ADMIN } from "../domain/policy.ts";
import type { Authenticator } from "./index.ts";

export function adminToken(token: string): Authenticator {
  return async (credentials) => (credentials.scheme === "bearer" && !credentials.via && constantTimeEqual(credentials.token, token) ? ADMIN : undefined);
}
