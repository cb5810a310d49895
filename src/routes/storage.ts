// What the /aws/storage route groups share: where a request points (account, bucket, key from the raw path) and
// the grant every URL of an answer is signed under.
import type { ObjectOperation } from "../domain/policy.ts";
import { storagePath } from "../domain/names.ts";
import { type Grant, parseExpiration, type Use } from "../domain/presign.ts";
import { type Context, queryValues, rawPath } from "../http/context.ts";
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
