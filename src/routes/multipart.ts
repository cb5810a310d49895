// POST /aws/storage/<account>/<bucket>/$<op>: multipart uploads. signpost calls S3 for create, list, complete and
// abort; the parts go straight to S3 through presigned part URLs.
import { wholeNumber } from "../domain/fields.ts";
import { checkParts, checkUploadId, isPartNumber, multipartCalls, partQuery } from "../domain/multipart.ts";
import { checkKey } from "../domain/names.ts";
import { checkContentType } from "../domain/presign.ts";
import { MAX_PUT, maxSizeOf, parsePins, pinnedHeaders, requireSize, requireUploadType, type UploadPins } from "../domain/upload-limits.ts";
import { HttpError } from "../errors.ts";
import { objectLocation } from "../aws/s3url.ts";
import { type Context, fieldsOf, NO_STORE, respond } from "../http/context.ts";
import { presignedAnswer, presignedHeaders } from "../http/presigned.ts";
import type { Services } from "../services.ts";
import { grantFor, type StorageOperation } from "./storage.ts";

const uploadIdOf = (value: unknown): string => checkUploadId(value, "upload-id is required: the one $create-multipart answered");

/** filename and upload-id, checked, and the other fields allowed. */
const multipartBody = async (c: Context, ...more: string[]) => {
  const body = await fieldsOf(c, ["filename", "upload-id", ...more]);
  return { body, key: checkKey(body.filename ?? ""), uploadId: uploadIdOf(body["upload-id"]) };
};

const PARTS_RULE =
  "parts must be a list of 1 to 1000 different part numbers from 1 to 10000, or of {part-number, content-length?, content-md5?} " +
  "(content-length and content-md5 are then signed into that part's URL)";

/** `parts` of $presign-parts: numbers, or objects that pin each part's size and digest. */
function partsToPresign(value: unknown): { n: number; pins: UploadPins }[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 1000) throw new HttpError(400, PARTS_RULE);
  const parts = value.map((part: unknown) => {
    if (isPartNumber(part)) return { n: part, pins: {} };
    if (typeof part !== "object" || part === null || Array.isArray(part)) throw new HttpError(400, PARTS_RULE);
    const fields = part as Record<string, unknown>;
    if (!isPartNumber(fields["part-number"]) || Object.keys(fields).some((name) => !["part-number", "content-length", "content-md5"].includes(name))) throw new HttpError(400, PARTS_RULE);
    return { n: fields["part-number"], pins: parsePins({ "content-length": fields["content-length"], "content-md5": fields["content-md5"] }) };
  });
  if (new Set(parts.map((part) => part.n)).size !== parts.length) throw new HttpError(400, PARTS_RULE);
  return parts;
}

export function multipartOperations(s: Services): Record<string, StorageOperation> {
  const calls = multipartCalls(s.s3);
  return {
    async "$create-multipart"(c, target) {
      const body = await fieldsOf(c, ["filename", "content-type", "content-length"]);
      const key = checkKey(body.filename ?? "");
      const type = checkContentType(body["content-type"]);
      // The whole upload's size, when declared: refused here already when over the caller's max-size.
      const total = wholeNumber(body["content-length"], "", "content-length", 0, 10_000 * MAX_PUT);
      // A write: its credentials are the ones the part URLs will carry.
      const grant = await grantFor(s, c, "upload", target, key, "write");
      requireUploadType(c.get("caller"), type);
      if (total !== undefined) requireSize(c.get("caller"), total);
      const uploadId = await calls.create({ grant, bucket: target.bucket, key }, type ? { "content-type": type } : {});
      s.audit(c, { action: "create-multipart", operation: "upload", account: target.accountId, bucket: target.bucket, key });
      return respond(c, { filename: key, "upload-id": uploadId }, 200, presignedHeaders(grant));
    },

    async "$presign-parts"(c, target) {
      const { body, key, uploadId } = await multipartBody(c, "parts");
      const parts = partsToPresign(body.parts);
      const grant = await grantFor(s, c, "upload", target, key, "write");
      // With a max-size, each part's URL holds its declared size (and $complete-multipart the total).
      for (const { n, pins } of parts) requireSize(c.get("caller"), pins["content-length"], `part ${n} content-length`);
      const location = objectLocation(grant.account, target.bucket, key);
      const urls = [];
      for (const { n, pins } of parts) {
        const headers = pinnedHeaders(undefined, pins);
        const signed = Object.keys(headers).length > 0;
        const url = await s.presign.url(grant, { method: "PUT", bucket: target.bucket, key, query: partQuery(n, uploadId), ...(signed ? { headers } : {}) }, location);
        urls.push(signed ? { "part-number": n, url, headers } : { "part-number": n, url });
      }
      const [answer, headers] = presignedAnswer({ filename: key, "upload-id": uploadId, parts: urls }, grant);
      s.audit(c, { action: "presign-parts", operation: "upload", account: target.accountId, bucket: target.bucket, key, parts: parts.length, "expires-in": grant.expiresIn, "expires-at": answer["expires-at"] });
      return respond(c, answer, 200, headers);
    },

    async "$list-parts"(c, target) {
      const { key, uploadId } = await multipartBody(c);
      const grant = await grantFor(s, c, "upload", target, key, "call");
      s.audit(c, { action: "list-parts", operation: "upload", account: target.accountId, bucket: target.bucket, key });
      return respond(c, { filename: key, "upload-id": uploadId, parts: await calls.list({ grant, bucket: target.bucket, key }, uploadId) }, 200, NO_STORE);
    },

    async "$complete-multipart"(c, target) {
      const { body, key, uploadId } = await multipartBody(c, "parts", "no-overwrite");
      if (body["no-overwrite"] !== undefined && typeof body["no-overwrite"] !== "boolean") throw new HttpError(400, "no-overwrite must be true or false");
      const rule = "parts must be a list of 1 to 10000 {part-number, etag} with different part numbers from 1 to 10000 (or absent: every uploaded part)";
      const parts = body.parts === undefined ? undefined : checkParts(body.parts, { number: "part-number", etag: "etag" }, rule);
      const grant = await grantFor(s, c, "upload", target, key, "call");
      const completed = await calls.complete({ grant, bucket: target.bucket, key }, uploadId, parts, { maxSize: maxSizeOf(c.get("caller")), noOverwrite: body["no-overwrite"] === true });
      s.audit(c, { action: "complete-multipart", operation: "upload", account: target.accountId, bucket: target.bucket, key, parts: completed.parts });
      return respond(c, { filename: key, etag: completed.etag }, 200, NO_STORE);
    },

    async "$abort-multipart"(c, target) {
      const { key, uploadId } = await multipartBody(c);
      const grant = await grantFor(s, c, "upload", target, key, "call");
      await calls.abort({ grant, bucket: target.bucket, key }, uploadId);
      s.audit(c, { action: "abort-multipart", operation: "upload", account: target.accountId, bucket: target.bucket, key });
      return respond(c, { filename: key, "upload-id": uploadId, aborted: true }, 200, NO_STORE);
    },
  };
}
