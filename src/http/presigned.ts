// An answer that hands out URLs: when they expire, whether the credentials cut that short, and never cached.
import type { Grant } from "../domain/presign.ts";
import { isoClock } from "./log.ts";

// Its own clock: expiry times are a day or so away from the log's.
const expiryIso = isoClock();

/** The body with `expires-at` (and `expiry-capped`), assigned in place as this is on every presign's path; and the headers. */
export function presignedAnswer(body: Record<string, unknown>, grant: Grant): [Record<string, unknown>, Record<string, string>] {
  body["expires-at"] = expiryIso(grant.expiresAt.getTime()).replace(".000Z", "Z");
  // A presigned URL is a bearer credential: keep it out of shared caches.
  const headers: Record<string, string> = { "cache-control": "no-store" };
  if (grant.capped) {
    body["expiry-capped"] = true;
    headers["signpost-expiry-capped"] = "true";
  }
  return [body, headers];
}

/** `expires-at` text of a grant, for audit lines. */
export const expiresAtText = (grant: Grant) => expiryIso(grant.expiresAt.getTime()).replace(".000Z", "Z");
