// POST /aws/storage/<account>/<bucket>/$post-policy: the fields of a browser form upload (a SigV4 POST policy).
import { wholeNumber } from "../domain/fields.ts";
import { checkKey } from "../domain/names.ts";
import { checkContentType } from "../domain/presign.ts";
import { HttpError } from "../errors.ts";
import { fieldsOf, respond } from "../http/context.ts";
import { presignedAnswer } from "../http/presigned.ts";
import type { Services } from "../services.ts";
import { grantFor, type StorageOperation } from "./storage.ts";

const MAX_PUT = 5 * 1024 ** 3; // the largest single PUT or POST S3 takes

export function postPolicyOperations(s: Services): Record<string, StorageOperation> {
  return {
    async "$post-policy"(c, target) {
      const body = await fieldsOf(c, ["filename", "prefix", "content-type", "min-size", "max-size"]);
      const { filename, prefix } = body;
      if ((filename === undefined) === (prefix === undefined)) throw new HttpError(400, "give either filename (the exact key) or prefix (keys starting with it)");
      const key = checkKey(filename ?? prefix);
      const contentType = checkContentType(body["content-type"]);
      const min = wholeNumber(body["min-size"], "", "min-size", 0, MAX_PUT);
      const max = wholeNumber(body["max-size"], "", "max-size", 0, MAX_PUT) ?? (min === undefined ? undefined : MAX_PUT);
      if (min !== undefined && max! < min) throw new HttpError(400, "max-size must not be less than min-size");
      const grant = await grantFor(s, c, "upload", target, key, "form");
      const form = await s.presign.form(grant, {
        bucket: target.bucket, key, prefix: filename === undefined, ...(contentType ? { contentType } : {}), ...(max !== undefined ? { size: { min: min ?? 0, max } } : {}),
      });
      const [answer, headers] = presignedAnswer({ url: form.url, fields: form.fields }, grant);
      s.audit(c, { action: "post-policy", operation: "upload", account: target.accountId, bucket: target.bucket, key, ...(filename === undefined ? { prefix: true } : {}), "max-size": max, "expires-in": grant.expiresIn, "expires-at": answer["expires-at"] });
      return respond(c, answer, 200, headers);
    },
  };
}
