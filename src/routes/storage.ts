// What the /aws/storage route groups share: where a request points (account, bucket, key from the raw path) and
// the grant every URL of an answer is signed under.
import { type ObjectMethod, OPERATION_OF, type ObjectRequest, signedHeaders } from "../domain/object-request.ts";
import type { ObjectOperation } from "../domain/policy.ts";
import { storagePath } from "../domain/names.ts";
import { type Grant, parseExpiration, type Use } from "../domain/presign.ts";
import { type Context, queryValues, rawPath } from "../http/context.ts";
import type { LogEntry } from "../http/log.ts";
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

/** A URL made by objectUrl, its entry in the answer, and its audit line's fields. */
export interface ObjectUrl {
  url: string;
  answer: { url: string; headers?: Record<string, string> };
  audit: (expiresAt: string, more?: LogEntry) => LogEntry;
}

/**
 * One object URL under `grant` (single URLs and batches), with the headers it signs (an upload's, which its PUT must
 * send; an upload's answer hands them back, `{}` when none) and the fields of its audit line. A plain value when the
 * signer answers at once (node:crypto): a batch of many URLs then waits for none of them.
 */
export function objectUrl(s: Services, grant: Grant, target: Target, key: string, method: ObjectMethod, request: ObjectRequest | undefined): ObjectUrl | Promise<ObjectUrl> {
  const signed = signedHeaders(request);
  const made = (url: string): ObjectUrl => ({
    url,
    answer: method === "PUT" ? { url, headers: signed ?? {} } : { url },
    audit: (expiresAt, more) => ({
      action: "presign", operation: OPERATION_OF[method], "s3-method": method, account: target.accountId, bucket: target.bucket, key,
      "expires-in": grant.expiresIn, "expires-at": expiresAt, ...(signed ? { signed: Object.keys(signed).join(" ") } : {}), ...more,
    }),
  });
  const url = s.presign.url(grant, { method, bucket: target.bucket, key, ...(request?.query ? { query: request.query } : {}), ...(signed ? { headers: signed } : {}) });
  return typeof url === "string" ? made(url) : url.then(made);
}
