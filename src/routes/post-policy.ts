// POST /aws/storage/<account>/<bucket>/$post-policy: the fields of a browser form upload (a SigV4 POST policy).
import { wholeNumber } from "../domain/fields.ts";
import { checkKey } from "../domain/names.ts";
import { checkContentType } from "../domain/presign.ts";
import { formSizeRange, MAX_PUT, requireUploadType } from "../domain/upload-limits.ts";
import { HttpError } from "../errors.ts";
import { fieldsOf, respond } from "../http/context.ts";
import { presignedAnswer } from "../http/presigned.ts";
import type { Services } from "../services.ts";
import { grantFor, type StorageOperation } from "./storage.ts";

/** Pins a form does not carry: S3 takes no Content-MD5 or If-None-Match form field (and a checksum field is AWS's alone). */
const FORM_CANNOT = ["content-md5", "checksum-sha256", "no-overwrite"];

export function postPolicyOperations(s: Services): Record<string, StorageOperation> {
  return {
    async "$post-policy"(c, target) {
      const body = await fieldsOf(c, ["filename", "prefix", "content-type", "min-size", "max-size", "content-length", ...FORM_CANNOT]);
      for (const name of FORM_CANNOT) {
        if (body[name] !== undefined) throw new HttpError(400, `${name} cannot be pinned on a form upload (S3 takes no such form field): use an upload URL (POST /aws/storage/<account>/<bucket>)`);
      }
      const { filename, prefix } = body;
      if ((filename === undefined) === (prefix === undefined)) throw new HttpError(400, "give either filename (the exact key) or prefix (keys starting with it)");
      const key = checkKey(filename ?? prefix);
      const contentType = checkContentType(body["content-type"]);
      const exact = wholeNumber(body["content-length"], "", "content-length", 0, MAX_PUT);
      if (exact !== undefined && (body["min-size"] !== undefined || body["max-size"] !== undefined)) throw new HttpError(400, "give content-length (the exact size) or min-size and max-size, not both");
      const min = exact ?? wholeNumber(body["min-size"], "", "min-size", 0, MAX_PUT);
      const asked = exact ?? wholeNumber(body["max-size"], "", "max-size", 0, MAX_PUT);
      if (min !== undefined && asked !== undefined && asked < min) throw new HttpError(400, "max-size must not be less than min-size");
      const grant = await grantFor(s, c, "upload", target, key, "form");
      requireUploadType(c.get("caller"), contentType);
      // A caller with a max-size gets no form without a content-length-range within it.
      const size = formSizeRange(c.get("caller"), min, asked);
      const form = await s.presign.form(grant, { bucket: target.bucket, key, prefix: filename === undefined, ...(contentType ? { contentType } : {}), ...(size ? { size } : {}) });
      const [answer, headers] = presignedAnswer({ url: form.url, fields: form.fields }, grant);
      s.audit(c, { action: "post-policy", operation: "upload", account: target.accountId, bucket: target.bucket, key, ...(filename === undefined ? { prefix: true } : {}), "max-size": size?.max, "expires-in": grant.expiresIn, "expires-at": answer["expires-at"] });
      return respond(c, answer, 200, headers);
    },
  };
}
