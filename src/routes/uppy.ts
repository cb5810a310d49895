// POST /aws/storage/<account>/<bucket>/$sign: what @uppy/aws-s3 6's `signRequest` must return for the request it is
// called with, so that the browser's adapter is one fetch. The browser then sends each S3 request itself (PutObject,
// the multipart calls with their XML, DeleteObject) to the URL answered here, after the caller's policy judged it:
// the key within its prefixes, multipart calls as uploads, DeleteObject as a delete.
import { wholeNumber } from "../domain/fields.ts";
import { checkUploadId, isPartNumber, partQuery } from "../domain/multipart.ts";
import { checkKey } from "../domain/names.ts";
import type { ObjectOperation } from "../domain/policy.ts";
import { checkContentType, MAX_EXPIRATION, type Use } from "../domain/presign.ts";
import { requireNoLimits } from "../domain/upload-limits.ts";
import { keyInFolder } from "../domain/upload-keys.ts";
import { HttpError } from "../errors.ts";
import { fieldsOf, respond } from "../http/context.ts";
import { presignedAnswer } from "../http/presigned.ts";
import type { Services } from "../services.ts";
import { grantFor, type StorageOperation } from "./storage.ts";

/** signRequest's argument, as @uppy/aws-s3 6 calls it. */
const FIELDS = ["method", "key", "expiresIn", "uploadId", "partNumber", "contentType"];

interface S3Operation {
  method: "PUT" | "POST" | "GET" | "DELETE";
  /** The grant it needs. */
  grant: ObjectOperation;
  /** `write` (and `create`) for the requests whose holder could add headers that write (see domain/signing.ts), `url` for the rest. */
  use: Use;
  /** The signed query beside the key. */
  query: (uploadId: string, partNumber: number) => Record<string, string> | undefined;
  /** Uppy takes the answer's key as the object's from then on: a bare name may be placed in the caller's folder. */
  choosesKey?: true;
}

const OPERATIONS: Record<string, S3Operation> = {
  PutObject: { method: "PUT", grant: "upload", use: "write", query: () => undefined, choosesKey: true },
  CreateMultipartUpload: { method: "POST", grant: "upload", use: "create", query: () => ({ uploads: "" }), choosesKey: true },
  UploadPart: { method: "PUT", grant: "upload", use: "write", query: (uploadId, partNumber) => partQuery(partNumber, uploadId) },
  CompleteMultipartUpload: { method: "POST", grant: "upload", use: "write", query: (uploadId) => ({ uploadId }) },
  ListParts: { method: "GET", grant: "upload", use: "url", query: (uploadId) => ({ uploadId }) },
  AbortMultipartUpload: { method: "DELETE", grant: "upload", use: "url", query: (uploadId) => ({ uploadId }) },
  DeleteObject: { method: "DELETE", grant: "delete", use: "url", query: () => undefined },
};

const WHICH = "method PUT (PutObject; with uploadId and partNumber, UploadPart), POST (CreateMultipartUpload; with uploadId, CompleteMultipartUpload), GET with uploadId (ListParts) or DELETE (DeleteObject; with uploadId, AbortMultipartUpload)";

/** The S3 operation a signRequest argument stands for: its method, and whether it names an upload and a part. */
function operationOf(method: unknown, uploadId: string | undefined, partNumber: number | undefined): string {
  const name =
    method === "PUT" ? (uploadId === undefined ? "PutObject" : "UploadPart")
    : method === "POST" ? (uploadId === undefined ? "CreateMultipartUpload" : "CompleteMultipartUpload")
    : method === "GET" ? (uploadId === undefined ? undefined : "ListParts")
    : method === "DELETE" ? (uploadId === undefined ? "DeleteObject" : "AbortMultipartUpload")
    : undefined;
  if (name === undefined) throw new HttpError(400, `give ${WHICH}`);
  if ((name === "UploadPart") !== (partNumber !== undefined)) throw new HttpError(400, `partNumber goes with method PUT and an uploadId (UploadPart), and only there`);
  return name;
}

export function uppyOperations(s: Services): Record<string, StorageOperation> {
  return {
    async $sign(c, target) {
      const body = await fieldsOf(c, FIELDS);
      if (typeof body.key !== "string") throw new HttpError(400, "key is required: the object key, a string");
      const uploadId = body.uploadId === undefined ? undefined : checkUploadId(body.uploadId, "uploadId must be the one S3 answered to CreateMultipartUpload");
      if (body.partNumber !== undefined && !isPartNumber(body.partNumber)) throw new HttpError(400, "partNumber must be a whole number from 1 to 10000");
      const name = operationOf(body.method, uploadId, body.partNumber as number | undefined);
      const operation = OPERATIONS[name]!;
      if (body.contentType !== undefined && name !== "PutObject") throw new HttpError(400, "contentType goes with PutObject only");
      checkContentType(body.contentType, "contentType");
      const expiration = wholeNumber(body.expiresIn, "", "expiresIn", 1, MAX_EXPIRATION);
      const caller = c.get("caller");
      const key = operation.choosesKey ? keyInFolder(caller, checkKey(body.key)) : checkKey(body.key);

      const grant = await grantFor(s, c, operation.grant, target, key, operation.use, expiration);
      // The browser sends these itself, completion included: nothing would hold them to the caller's limits.
      if (operation.grant === "upload" && operation.method !== "GET" && name !== "AbortMultipartUpload") requireNoLimits(caller, `a ${name} URL from $sign`);
      const query = operation.query(uploadId!, body.partNumber as number);
      // Only host is signed, not contentType (Uppy sends the file's type, which S3 stores): Ceph RGW 16 checks a CORS
      // preflight's signature when the URL has a session token, and a preflight cannot carry a signed Content-Type.
      const url = await s.presign.url(grant, { method: operation.method, bucket: target.bucket, key, ...(query ? { query } : {}) });
      const [answer, answerHeaders] = presignedAnswer({ url, ...(operation.choosesKey ? { key } : {}) }, grant);
      s.audit(c, { action: "sign", operation: operation.grant, "s3-operation": name, account: target.accountId, bucket: target.bucket, key, "expires-in": grant.expiresIn, "expires-at": answer["expires-at"] });
      return respond(c, answer, 200, answerHeaders);
    },
  };
}
