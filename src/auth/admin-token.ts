// The admin: SIGNPOST_ADMIN_TOKEN as a bearer token, compared in constant time.
import { constantTimeEqual } from "../crypto/hash.ts";
import { ADMIN } from "../domain/policy.ts";
import type { Authenticator } from "./index.ts";

export function adminToken(token: string): Authenticator {
  return async (credentials) => (credentials.scheme === "bearer" && constantTimeEqual(credentials.token, token) ? ADMIN : undefined);
}
