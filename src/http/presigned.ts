// An answer that hands out URLs: when they expire, whether the credentials cut that short, and never cached.
import type { Grant } from "../domain/presign.ts";
import { NO_STORE } from "./context.ts";
import { isoClock } from "./log.ts";

// Its own clock: expiry times are a day or so away from the log's.
const expiryIso = isoClock();

/** The headers of an answer whose URLs `grant` signs: a presigned URL is a bearer credential. */
export function presignedHeaders(grant: Grant): Record<string, string> {
  return grant.capped ? { ...NO_STORE, "signpost-expiry-capped": "true" } : { ...NO_STORE };
}

/**
 * The body with `expires-at` (and `expiry-capped`), assigned in place as this is on every presign's path, and the
 * headers. The audit line takes its `expires-at` from the body.
 */
export function presignedAnswer<T extends Record<string, unknown>>(body: T, grant: Grant): [T & { "expires-at": string }, Record<string, string>] {
  const answer = body as T & { "expires-at": string; "expiry-capped"?: true };
  answer["expires-at"] = expiryIso(grant.expiresAt.getTime()).replace(".000Z", "Z");
  if (grant.capped) answer["expiry-capped"] = true;
  return [answer, presignedHeaders(grant)];
}
