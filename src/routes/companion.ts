// /companion/<account>/<bucket>/s3/...: Companion's S3 routes, as @uppy/aws-s3 calls them (5.x with `endpoint`, 6.x
// with `companionEndpoint`), so that signpost can stand where Companion stood. Authenticated like every other route
// (Bearer or Basic in Uppy 5's `headers`, or an end user's cookie on the same site); every key is judged by the
// caller's policy, and the keys signpost chooses go in the caller's folder. Answers and errors in Companion's shapes
// (errors as {error: {message}}, plus the top-level message Uppy 5 shows), JSON only.
import { Hono } from "hono/tiny";
import { checkParts, checkUploadId, isPartNumber, MAX_PART_NUMBER, multipartCalls, partQuery } from "../domain/multipart.ts";
import { checkBucket, checkId, checkKey } from "../domain/names.ts";
import { checkContentType } from "../domain/presign.ts";
import { formSizeRange, maxSizeOf, requireNoLimits, requireSize, requireUploadType } from "../domain/upload-limits.ts";
import { freshKey, userMetadata } from "../domain/upload-keys.ts";
import { HttpError } from "../errors.ts";
import { render } from "../http/body.ts";
import { type AppEnv, type Context, fieldsOf, NO_STORE, onlyQuery, param, queryValues } from "../http/context.ts";
import { presignedAnswer } from "../http/presigned.ts";
import type { Services } from "../services.ts";
import { grantFor, type Target } from "./storage.ts";

/** Where these routes are mounted: app.ts answers errors under it in Companion's shape. */
export const COMPANION_PATH = "/companion";

/** An error as Companion answers it; `message` at the top too, which is what Uppy 5 shows the user. */
export function companionError(status: number, message: string, headers: Record<string, string> = {}): Response {
  return json({ error: { message }, message }, status, headers);
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => render(body, status, "json", headers);

const METADATA = /^metadata\[([^\]]*)\]$/;

/** `/params`'s query: filename, type and metadata[<name>], each once; anything else is refused. */
function paramsQuery(c: Context) {
  const metadata: Record<string, string> = {};
  for (const name of Object.keys(c.req.queries())) {
    const field = METADATA.exec(name)?.[1];
    if (field !== undefined) metadata[field] = param(c, name)!;
    else if (name !== "filename" && name !== "type") throw new HttpError(400, `unknown query parameter ${JSON.stringify(name)}: this route takes filename, type and metadata[<name>]`);
  }
  return { filename: param(c, "filename"), type: param(c, "type"), metadata };
}

/** The media type Uppy sends (empty when it knows none). */
const typeOf = (type: unknown) => (type === "" || type === undefined ? undefined : checkContentType(type, "type"));

export function companionRoutes(s: Services) {
  const app = new Hono<AppEnv>();
  const calls = multipartCalls(s.s3);
  const targetOf = (c: Context): Target => ({ accountId: checkId(c.req.param("account")!, "account id"), bucket: checkBucket(c.req.param("bucket")!) });
  /** The ?key= of an upload signpost made: the caller's policy judges it again. */
  const keyOf = (c: Context) => {
    onlyQuery(c, ["key"]);
    const values = queryValues(c, "key");
    if (values.length !== 1) throw new HttpError(400, 'the object key must be given once as a query parameter, e.g. "?key=users/alice/photo.jpg"');
    return checkKey(values[0]);
  };
  const uploadIdOf = (c: Context) => checkUploadId(c.req.param("uploadId"), "the upload id must be the one POST /s3/multipart answered");
  const audit = (c: Context, target: Target, entry: Record<string, string | number | undefined>) => s.audit(c, { ...entry, via: "companion", account: target.accountId, bucket: target.bucket });

  // A simple upload of a new key: a form (a POST policy, which Uppy 6 requires), or a PUT URL for a client that asks
  // for JSON only (Uppy 5 and older): Uppy 5 waits for the ETag header of a form's answer, which Ceph RGW does not send.
  app.get("/:account/:bucket/s3/params", async (c) => {
    const target = targetOf(c);
    const query = paramsQuery(c);
    if (query.filename === undefined) throw new HttpError(400, 'the "filename" query parameter is required');
    const key = freshKey(c.get("caller"), query.filename);
    const contentType = typeOf(query.type);
    const metadata = userMetadata(query.metadata);
    if (c.req.header("accept")?.trim().toLowerCase() === "application/json") {
      // Host only, as $sign's: the browser sends the file's type; metadata would need signed headers (see uppy.ts).
      const grant = await grantFor(s, c, "upload", target, key, "write");
      requireNoLimits(c.get("caller"), "a PUT URL from /s3/params");
      const url = await s.presign.url(grant, { method: "PUT", bucket: target.bucket, key });
      // fields: not sent with a PUT, but where Uppy 5 reads the object's key and bucket from
      const [answer, headers] = presignedAnswer({ method: "PUT", url, fields: { key, bucket: target.bucket }, headers: {}, expires: grant.expiresIn }, grant);
      audit(c, target, { action: "presign", operation: "upload", "s3-method": "PUT", key, "expires-in": grant.expiresIn, "expires-at": answer["expires-at"] });
      return json(answer, 200, headers);
    }
    const grant = await grantFor(s, c, "upload", target, key, "form");
    requireUploadType(c.get("caller"), contentType);
    const size = formSizeRange(c.get("caller"));
    // success_action_status 201: S3 answers with the object's Location, Bucket, Key and ETag (204 has none on RGW).
    const form = await s.presign.form(grant, { bucket: target.bucket, key, ...(contentType ? { contentType } : {}), ...(size ? { size } : {}), fields: { success_action_status: "201", ...metadata } });
    const [answer, headers] = presignedAnswer({ method: "POST", url: form.url, fields: form.fields, headers: {}, expires: grant.expiresIn }, grant);
    audit(c, target, { action: "post-policy", operation: "upload", key, "expires-in": grant.expiresIn, "expires-at": answer["expires-at"] });
    return json(answer, 200, headers);
  });

  app.post("/:account/:bucket/s3/multipart", async (c) => {
    onlyQuery(c, []);
    const target = targetOf(c);
    const body = await fieldsOf(c, ["filename", "type", "metadata"]);
    if (body.filename === undefined) throw new HttpError(400, 'the "filename" field is required');
    const key = freshKey(c.get("caller"), body.filename);
    const contentType = typeOf(body.type);
    const headers = { ...(contentType ? { "content-type": contentType } : {}), ...userMetadata(body.metadata) };
    // A write: its credentials are the ones the part URLs will carry.
    const grant = await grantFor(s, c, "upload", target, key, "write");
    requireUploadType(c.get("caller"), contentType);
    // Refused before S3 is called: an upload started here could never get a part URL (see the part route below).
    const max = maxSizeOf(c.get("caller"));
    if (max !== undefined) {
      throw new HttpError(403, `this client may not start a multipart upload here: Companion's part URLs declare no size, so they could not hold it to its max-size of ${max} bytes (use $create-multipart and $presign-parts, which sign each part's content-length)`);
    }
    const uploadId = await calls.create({ grant, bucket: target.bucket, key }, headers);
    audit(c, target, { action: "create-multipart", operation: "upload", key });
    return json({ key, uploadId, bucket: target.bucket }, 200, NO_STORE);
  });

  app.get("/:account/:bucket/s3/multipart/:uploadId/:partNumber", async (c) => {
    const target = targetOf(c);
    const key = keyOf(c);
    const uploadId = uploadIdOf(c);
    const number = c.req.param("partNumber");
    const partNumber = /^\d{1,5}$/.test(number) ? Number(number) : NaN;
    if (!isPartNumber(partNumber)) throw new HttpError(400, `the part number must be a whole number from 1 to ${MAX_PART_NUMBER}`);
    const grant = await grantFor(s, c, "upload", target, key, "write");
    // Companion's part URLs declare no size: with a max-size, each part would be unbounded.
    requireSize(c.get("caller"), undefined, "part content-length (Companion's part URLs declare none; $presign-parts takes them)");
    const url = await s.presign.url(grant, { method: "PUT", bucket: target.bucket, key, query: partQuery(partNumber, uploadId) });
    const [answer, headers] = presignedAnswer({ method: "PUT", url, expires: grant.expiresIn }, grant);
    audit(c, target, { action: "presign-parts", operation: "upload", key, parts: 1, "expires-in": grant.expiresIn, "expires-at": answer["expires-at"] });
    return json(answer, 200, headers);
  });

  app.get("/:account/:bucket/s3/multipart/:uploadId", async (c) => {
    const target = targetOf(c);
    const key = keyOf(c);
    const uploadId = uploadIdOf(c);
    const grant = await grantFor(s, c, "upload", target, key, "call");
    const parts = await calls.list({ grant, bucket: target.bucket, key }, uploadId);
    audit(c, target, { action: "list-parts", operation: "upload", key });
    return json(parts.map((part) => ({ PartNumber: part["part-number"], ETag: part.etag, Size: part.size })), 200, NO_STORE);
  });

  app.post("/:account/:bucket/s3/multipart/:uploadId/complete", async (c) => {
    const target = targetOf(c);
    const key = keyOf(c);
    const uploadId = uploadIdOf(c);
    const rule = `parts must be a list of 1 to ${MAX_PART_NUMBER} {PartNumber, ETag} with different part numbers from 1 to ${MAX_PART_NUMBER}`;
    const parts = checkParts((await fieldsOf(c, ["parts"])).parts, { number: "PartNumber", etag: "ETag" }, rule);
    const grant = await grantFor(s, c, "upload", target, key, "call");
    const completed = await calls.complete({ grant, bucket: target.bucket, key }, uploadId, parts, { maxSize: maxSizeOf(c.get("caller")) });
    audit(c, target, { action: "complete-multipart", operation: "upload", key, parts: completed.parts });
    return json({ location: completed.location, key, bucket: target.bucket }, 200, NO_STORE);
  });

  app.delete("/:account/:bucket/s3/multipart/:uploadId", async (c) => {
    const target = targetOf(c);
    const key = keyOf(c);
    const uploadId = uploadIdOf(c);
    const grant = await grantFor(s, c, "upload", target, key, "call");
    await calls.abort({ grant, bucket: target.bucket, key }, uploadId);
    audit(c, target, { action: "abort-multipart", operation: "upload", key });
    return json({}, 200, NO_STORE);
  });

  return app;
}
