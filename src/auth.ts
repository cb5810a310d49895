// Bearer-token check for the admin token.
import { HttpError } from "./errors.ts";

/** Compares in time that depends only on the expected token's length, never on where they differ. */
export function constantTimeEqual(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    diff |= (given.charCodeAt(i) | 0) ^ expected.charCodeAt(i); // NaN|0 is 0 past the end of `given`
  }
  return diff === 0;
}

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

export function requireBearer(authorization: string | null, expected: string): void {
  const token = authorization ? BEARER.exec(authorization)?.[1] : undefined;
  if (token === undefined) {
    throw new HttpError(401, "missing bearer token: send Authorization: Bearer <token>", {
      "www-authenticate": 'Bearer realm="signpost"',
    });
  }
  if (!constantTimeEqual(token, expected)) {
    throw new HttpError(401, "invalid bearer token", {
      "www-authenticate": 'Bearer realm="signpost", error="invalid_token"',
    });
  }
}
