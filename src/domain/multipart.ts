// Multipart uploads as the S3 calls signpost makes itself (create, list, complete, abort) under a grant, and the
// checks of what callers send for them: shared by the $create-multipart family and Companion's routes. The parts
// themselves go straight to S3 through presigned part URLs.
import { objectLocation } from "../aws/s3url.ts";
import type { S3Client, S3Request, UploadedPart } from "../aws/s3.ts";
import { leaf } from "../aws/xml.ts";
import { HttpError } from "../errors.ts";
import type { Grant } from "./presign.ts";

export const MAX_PART_NUMBER = 10000;

/** An upload id as S3 hands them out: 1 to 1024 printable ASCII characters; else 400 with `rule`. */
export function checkUploadId(value: unknown, rule: string): string {
  if (typeof value !== "string" || !/^[\x21-\x7e]{1,1024}$/.test(value)) throw new HttpError(400, rule);
  return value;
}

export const isPartNumber = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= MAX_PART_NUMBER;

/** The query of a part URL (UploadPart). */
export const partQuery = (partNumber: number, uploadId: string) => ({ partNumber: String(partNumber), uploadId });

export interface CompletedPart {
  "part-number": number;
  etag: string;
}

/**
 * The parts of a complete as a caller lists them: 1 to 10000 objects of exactly a part number and an ETag (under
 * `names`: `part-number` and `etag` for signpost's API, `PartNumber` and `ETag` for Companion's), the numbers
 * different; else 400 with `rule`.
 */
export function checkParts(value: unknown, names: { number: string; etag: string }, rule: string): CompletedPart[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_PART_NUMBER) throw new HttpError(400, rule);
  const parts = value.map((part: unknown) => {
    const fields = (typeof part === "object" && part !== null ? part : {}) as Record<string, unknown>;
    const n = fields[names.number];
    const etag = fields[names.etag];
    if (Object.keys(fields).length !== 2 || !isPartNumber(n) || typeof etag !== "string" || !/^[\x20-\x7e]{1,200}$/.test(etag)) throw new HttpError(400, rule);
    return { "part-number": n, etag };
  });
  if (new Set(parts.map((part) => part["part-number"])).size !== parts.length) throw new HttpError(400, rule);
  return parts;
}

const escapeXml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** One upload's object: the grant that signs the calls, its bucket and key. */
export interface UploadTarget {
  grant: Grant;
  bucket: string;
  key: string;
}

/**
 * The parts to complete, by S3's own account of their sizes, hold no more than `max` bytes; otherwise the upload is
 * aborted (its parts deleted) and the answer is 403. An ETag that differs from the uploaded part's is a 400: S3
 * completes only with the parts as uploaded, so a part sent again after this count cannot change the total.
 */
async function requireTotalWithin(max: number, parts: CompletedPart[], uploaded: UploadedPart[], abort: () => Promise<unknown>) {
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
async function requireAbsent(s3: S3Client, where: Omit<S3Request, "what" | "method" | "query">) {
  const { status } = await s3.send({ ...where, what: "HeadObject", method: "HEAD", query: {} });
  if (status === 200) throw new HttpError(412, `${where.key} exists already, and no-overwrite is set: the upload is left as it is (abort it, or complete it without no-overwrite)`);
  if (status !== 404) throw new HttpError(502, `S3 HeadObject: HTTP ${status}`);
}

export function multipartCalls(s3: S3Client) {
  const where = ({ grant, bucket, key }: UploadTarget) => ({ account: grant.account, credentials: grant.credentials, bucket, key });

  return {
    /** CreateMultipartUpload with `headers` (content-type, x-amz-meta-*): the new upload's id. */
    async create(target: UploadTarget, headers: Record<string, string>): Promise<string> {
      const xml = await s3.call({ ...where(target), what: "CreateMultipartUpload", method: "POST", query: { uploads: "" }, headers });
      const uploadId = leaf(xml, "UploadId");
      if (!uploadId) throw new HttpError(502, "S3 CreateMultipartUpload: the answer has no UploadId");
      return uploadId;
    },

    /** Every part uploaded so far. */
    list: (target: UploadTarget, uploadId: string): Promise<UploadedPart[]> => s3.listParts(where(target), uploadId),

    /**
     * CompleteMultipartUpload with `parts` (in part-number order), or every uploaded part when undefined. The
     * answer: how many parts, S3's ETag when it gives one (Ceph RGW 16 sends it empty), the object's plain URL.
     * `maxSize`: the caller's max-size, which the parts (as S3 lists them) must hold to, or the upload is aborted;
     * `noOverwrite`: complete only if the key does not exist yet.
     */
    async complete(target: UploadTarget, uploadId: string, parts?: CompletedPart[], limits: { maxSize?: number | undefined; noOverwrite?: boolean } = {}) {
      const uploaded = parts === undefined || limits.maxSize !== undefined ? await s3.listParts(where(target), uploadId) : undefined;
      parts ??= uploaded!;
      if (parts.length === 0) throw new HttpError(400, "no part has been uploaded");
      if (limits.maxSize !== undefined) {
        await requireTotalWithin(limits.maxSize, parts, uploaded!, () => s3.call({ ...where(target), what: "AbortMultipartUpload", method: "DELETE", query: { uploadId } }));
      }
      if (limits.noOverwrite) await requireAbsent(s3, where(target));
      const xml = `<CompleteMultipartUpload>${[...parts]
        .sort((a, b) => a["part-number"] - b["part-number"])
        .map((part) => `<Part><PartNumber>${part["part-number"]}</PartNumber><ETag>${escapeXml(part.etag)}</ETag></Part>`)
        .join("")}</CompleteMultipartUpload>`;
      // If-None-Match: S3 completes only when the key does not exist yet.
      const headers: Record<string, string> = limits.noOverwrite ? { "content-type": "application/xml", "if-none-match": "*" } : { "content-type": "application/xml" };
      const answer = await s3.call({ ...where(target), what: "CompleteMultipartUpload", method: "POST", query: { uploadId }, body: xml, headers });
      const { protocol, host, path } = objectLocation(target.grant.account, target.bucket, target.key);
      return { parts: parts.length, etag: leaf(answer, "ETag") || undefined, location: `${protocol}//${host}${path}` };
    },

    async abort(target: UploadTarget, uploadId: string): Promise<void> {
      await s3.call({ ...where(target), what: "AbortMultipartUpload", method: "DELETE", query: { uploadId } });
    },
  };
}
