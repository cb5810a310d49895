// An answer that hands out URLs: when they expire, whether the credentials cut that short, and never cached.
import type { Grant } from "../domain/presign.ts";
import { NO_STORE } from "./context.ts";
import { isoClock, jsonString } from "./log.ts";

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

/** One URL of an answer: what objectUrl makes, and in a batch its file's name and method before it. */
interface AnswerUrl {
  filename?: string;
  method?: string;
  url: string;
  headers?: Record<string, string>;
}

/** An answer of presignedAnswer's: one URL's members, or a batch's `urls`. */
export type PresignedBody = (AnswerUrl | { urls: AnswerUrl[] }) & { "expires-at": string; "expiry-capped"?: true };

/**
 * A URL as a JSON string. The signer makes printable ASCII with no '"' or '\' (every part percent-encoded, the host
 * checked when the account is stored), which JSON writes as it is; JSON.stringify would scan all of its 400 or so
 * characters to find that out, half a microsecond. Anything else goes through JSON.stringify.
 */
const urlJson = (url: string) => (url.includes('"') || url.includes("\\") ? JSON.stringify(url) : `"${url}"`);

const urlMembers = ({ filename, method, url, headers }: AnswerUrl) =>
  `${filename === undefined ? "" : `"filename":${jsonString(filename)},"method":${jsonString(method!)},`}"url":${urlJson(url)}${headers ? `,"headers":${JSON.stringify(headers)}` : ""}`;

/** JSON.stringify(answer), byte for byte, for the answers presignedAnswer makes: the JSON text of every presign. */
export function presignedJson(answer: PresignedBody): string {
  const urls = "urls" in answer ? `"urls":[${answer.urls.map((url) => `{${urlMembers(url)}}`).join(",")}]` : urlMembers(answer);
  return `{${urls},"expires-at":${jsonString(answer["expires-at"])}${answer["expiry-capped"] ? ',"expiry-capped":true' : ""}}`;
}
