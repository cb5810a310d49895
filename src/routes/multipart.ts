// POST /aws/storage/<account>/<bucket>/$<op>: multipart uploads. signpost calls S3 for create, list, complete and
// abort; the parts go straight to S3 through presigned part URLs.
import { wholeNumber } from "../domain/fields.ts";
import { checkKey } from "../domain/names.ts";
import { checkContentType } from "../domain/presign.ts";
import { MAX_PUT, maxSizeOf, parsePins, pinnedHeaders, requireSize, requireUploadType, type UploadPins } from "../domain/upload.ts";
import { HttpError } from "../errors.ts";
import type { S3Request } from "../aws/s3.ts";
import { objectLocation } from "../aws/s3url.ts";
import { leaf } from "../aws/xml.ts";
import { type Context, fieldsOf, NO_STORE, respond } from "../http/context.ts";
import { presignedAnswer, presignedHeaders } from "../http/presigned.ts";
import type { Services } from "../services.ts";
import { grantFor, type StorageOperation } from "./storage.ts";

const uploadIdOf = (value: unknown): string => {
  if (typeof value !== "string" || !/^[\x21-\x7e]{1,1024}$/.test(value)) throw new HttpError(400, "upload-id is required: the one $create-multipart answered");
  return value;
};

/** filename and upload-id, checked, and the other fields allowed. */
const multipartBody = async (c: Context, ...more: string[]) => {
  const body = await fieldsOf(c, ["filename", "upload-id", ...more]);
  return { body, key: checkKey(body.filename ?? ""), uploadId: uploadIdOf(body["upload-id"]) };
};

const isPartNumber = (n: unknown) => typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 10000;

const PARTS_RULE =
  "parts must be a list of 1 to 1000 different part numbers from 1 to 10000, or of {part-number, content-length?, content-md5?} " +
  "(content-length and content-md5 are then signed into that part's URL)";

/** `parts` of $presign-parts: numbers, or objects that pin each part's size and digest. */
function partsToPresign(value: unknown): { n: number; pins: UploadPins }[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 1000) throw new HttpError(400, PARTS_RULE);
  const parts = value.map((part: unknown) => {
    if (isPartNumber(part)) return { n: part as number, pins: {} };
    if (typeof part !== "object" || part === null || Array.isArray(part)) throw new HttpError(400, PARTS_RULE);
    const fields = part as Record<string, unknown>;
    if (!isPartNumber(fields["part-number"]) || Object.keys(fields).some((name) => !["part-number", "content-length", "content-md5"].includes(name))) throw new HttpError(400, PARTS_RULE);
    return { n: fields["part-number"] as number, pins: parsePins({ "content-length": fields["content-length"], "content-md5": fields["content-md5"] }) };
  });
  if (new Set(parts.map((part) => part.n)).size !== parts.length) throw new HttpError(400, PARTS_RULE);
  return parts;
}
const escapeXml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * The parts to complete, by S3's own account of their sizes, hold no more than `max` bytes; otherwise the upload is
 * aborted (its parts deleted) and the answer is 403. An ETag that differs from the uploaded part's is a 400: S3
 * completes only with the parts as uploaded, so a part sent again after this count cannot change the total.
 */
async function requireTotalWithin(max: number, parts: { "part-number": number; etag: string }[], uploaded: { "part-number": number; etag: string; size: number }[], abort: () => Promise<unknown>) {
  const byNumber = new Map(uploaded.map((part) => [part["part-number"], part]));
  const unquoted = (etag: string) => etag.replace(/^"|"$/g, "");
  let total = 0;
  for (const part of parts) {
    const seen = byNumber.get(part["part-number"]);
    if (!seen || unquoted(seen.etag) !== unquoted(part.etag)) throw new HttpError(400, `part ${part["part-number"]} has not been uploaded with etag ${part.etag}`);
    if (!Number.isSafeInteger(seen.size) || seen.size < 0) throw new HttpError(502, `S3 ListParts: part ${part["part-number"]} has no size`);
    total += seen.size;
  }
  if (total > max) {
    await abort();
    throw new HttpError(403, `this client may not upload more than ${max} bytes: the parts hold ${total}, so the upload is aborted`);
  }
}

/**
 * no-overwrite on completion: AWS holds CompleteMultipartUpload to If-None-Match, but RGW 16 ignores it there, so
 * signpost also looks first (on such a server, an object made between the look and the completion is overwritten).
 */
async function requireAbsent(s: Services, where: Omit<S3Request, "what" | "method" | "query">) {
  const { status } = await s.s3.send({ ...where, what: "HeadObject", method: "HEAD", query: {} });
  if (status === 200) throw new HttpError(412, `${where.key} exists already, and no-overwrite is set: the upload is left as it is (abort it, or complete it without no-overwrite)`);
  if (status !== 404) throw new HttpError(502, `S3 HeadObject: HTTP ${status}`);
}

export function multipartOperations(s: Services): Record<string, StorageOperation> {
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
      const xml = await s.s3.call({ account: grant.account, credentials: grant.credentials, bucket: target.bucket, key, what: "CreateMultipartUpload", method: "POST", query: { uploads: "" }, headers: type ? { "content-type": type } : {} });
      const uploadId = leaf(xml, "UploadId");
      if (!uploadId) throw new HttpError(502, "S3 CreateMultipartUpload: the answer has no UploadId");
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
        const url = await s.presign.url(grant, { method: "PUT", bucket: target.bucket, key, query: { partNumber: String(n), uploadId }, ...(signed ? { headers } : {}) }, location);
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
      return respond(c, { filename: key, "upload-id": uploadId, parts: await s.s3.listParts({ account: grant.account, credentials: grant.credentials, bucket: target.bucket, key }, uploadId) }, 200, NO_STORE);
    },

    async "$complete-multipart"(c, target) {
      const { body, key, uploadId } = await multipartBody(c, "parts", "no-overwrite");
      if (body["no-overwrite"] !== undefined && typeof body["no-overwrite"] !== "boolean") throw new HttpError(400, "no-overwrite must be true or false");
      let parts: { "part-number": number; etag: string }[] | undefined;
      if (body.parts !== undefined) {
        const rule = "parts must be a list of 1 to 10000 {part-number, etag} with different part numbers from 1 to 10000 (or absent: every uploaded part)";
        if (!Array.isArray(body.parts) || body.parts.length === 0 || body.parts.length > 10000) throw new HttpError(400, rule);
        parts = body.parts.map((part: Record<string, unknown>) => {
          const n = part?.["part-number"];
          const etag = part?.etag;
          if (Object.keys(part ?? 0).length !== 2 || !isPartNumber(n) || typeof etag !== "string" || !/^[\x20-\x7e]{1,200}$/.test(etag)) throw new HttpError(400, rule);
          return { "part-number": n as number, etag };
        });
        if (new Set(parts.map((part) => part["part-number"])).size !== parts.length) throw new HttpError(400, rule);
      }
      const grant = await grantFor(s, c, "upload", target, key, "call");
      const where = { account: grant.account, credentials: grant.credentials, bucket: target.bucket, key };
      const max = maxSizeOf(c.get("caller"));
      const uploaded = parts === undefined || max !== undefined ? await s.s3.listParts(where, uploadId) : undefined;
      parts ??= uploaded!;
      if (parts.length === 0) throw new HttpError(400, "no part has been uploaded");
      if (max !== undefined) await requireTotalWithin(max, parts, uploaded!, () => s.s3.call({ ...where, what: "AbortMultipartUpload", method: "DELETE", query: { uploadId } }));
      const xml = `<CompleteMultipartUpload>${parts
        .sort((a, b) => a["part-number"] - b["part-number"])
        .map((part) => `<Part><PartNumber>${part["part-number"]}</PartNumber><ETag>${escapeXml(part.etag)}</ETag></Part>`)
        .join("")}</CompleteMultipartUpload>`;
      if (body["no-overwrite"]) await requireAbsent(s, where);
      // If-None-Match: S3 completes only when the key does not exist yet.
      const headers: Record<string, string> = body["no-overwrite"] ? { "content-type": "application/xml", "if-none-match": "*" } : { "content-type": "application/xml" };
      const answer = await s.s3.call({ ...where, what: "CompleteMultipartUpload", method: "POST", query: { uploadId }, body: xml, headers });
      s.audit(c, { action: "complete-multipart", operation: "upload", account: target.accountId, bucket: target.bucket, key, parts: parts.length });
      return respond(c, { filename: key, etag: leaf(answer, "ETag") || undefined }, 200, NO_STORE); // RGW 16 sends it empty
    },

    async "$abort-multipart"(c, target) {
      const { key, uploadId } = await multipartBody(c);
      const grant = await grantFor(s, c, "upload", target, key, "call");
      await s.s3.call({ account: grant.account, credentials: grant.credentials, bucket: target.bucket, key, what: "AbortMultipartUpload", method: "DELETE", query: { uploadId } });
      s.audit(c, { action: "abort-multipart", operation: "upload", account: target.accountId, bucket: target.bucket, key });
      return respond(c, { filename: key, "upload-id": uploadId, aborted: true }, 200, NO_STORE);
    },
  };
}
