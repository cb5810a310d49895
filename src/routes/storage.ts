// What the /aws/storage route groups share: where a request points (account, bucket, key from the raw path) and
// the grant every URL of an answer is signed under.
import { type ObjectMethod, OPERATION_OF, type ObjectRequest, signedHeaders } from "../domain/object-request.ts";
import type { ObjectOperation } from "../domain/policy.ts";
import { storagePath } from "../domain/names.ts";
import { type Grant, parseExpiration, type Use } from "../domain/presign.ts";
import { type Context, queryValues, rawPath } from "../http/context.ts";
import { jsonString, members } from "../http/log.ts";
import type { Services } from "../services.ts";

const STORAGE_PREFIX = "/aws/storage/";

export interface Target {
  accountId: string;
  bucket: string;
}

/** `/aws/storage/<account>/<bucket>/<key...>` of the request, checked and decoded. */
export const storageTarget = (c: Context) => storagePath(rawPath(c.req.url).slice(STORAGE_PREFIX.length));

/** The grant for `operation` on `key`, with the expiration the query asks for (unless the body gave one). */
export const grantFor = (s: Services, c: Context, operation: ObjectOperation, target: Target, key: string, use: Use, expiration = parseExpiration(queryValues(c, "expiration"))): Promise<Grant> =>
  s.presign.grant(c.get("caller"), { operation, accountId: target.accountId, bucket: target.bucket, key, expiration, use });

/** A POST /aws/storage/<account>/<bucket>/$<name> operation (forms, multipart, batches, $sign). */
export type StorageOperation = (c: Context, target: Target) => Promise<Response>;

/** A URL made by objectUrl, its entry in the answer, and its own members of the audit line. */
export interface ObjectUrl {
  url: string;
  answer: { url: string; headers?: Record<string, string> };
  /** `,"operation":...,"key":...`: what the answer's shared audit fields (auditor.urls) leave to this URL. */
  audit: string;
}

/** The audit members of the URLs of one presign answer (`flag`: a batch's, or a redirect). */
export const presignMembers = (target: Target, expiresAt: string, flag?: "batch" | "redirect") =>
  `,"action":"presign","account":${jsonString(target.accountId)},"bucket":${jsonString(target.bucket)},"expires-at":${jsonString(expiresAt)}${flag ? `,"${flag}":true` : ""}`;

/** The audit members each method's URLs begin with. */
const METHOD_MEMBERS = Object.fromEntries(
  Object.entries(OPERATION_OF).map(([method, operation]) => [method, members({ operation, "s3-method": method })]),
) as Record<ObjectMethod, string>;

/**
 * One object URL under `grant` (single URLs and batches), with the headers it signs (an upload's, which its PUT must
 * send; an upload's answer hands them back, `{}` when none) and its members of the audit line. A plain value when the
 * signer answers at once (node:crypto): a batch of many URLs then waits for none of them.
 */
export function objectUrl(s: Services, grant: Grant, target: Target, key: string, method: ObjectMethod, request: ObjectRequest | undefined): ObjectUrl | Promise<ObjectUrl> {
  const signed = signedHeaders(request);
  const made = (url: string): ObjectUrl => ({
    url,
    answer: method === "PUT" ? { url, headers: signed ?? {} } : { url },
    audit: `${METHOD_MEMBERS[method]},"key":${jsonString(key)},"expires-in":${grant.expiresIn}${signed ? `,"signed":${jsonString(Object.keys(signed).join(" "))}` : ""}`,
  });
  const url = s.presign.url(grant, { method, bucket: target.bucket, key, ...(request?.query ? { query: request.query } : {}), ...(signed ? { headers: signed } : {}) });
  return typeof url === "string" ? made(url) : url.then(made);
}
