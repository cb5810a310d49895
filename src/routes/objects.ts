// /aws/storage/<account>/<bucket>: presigned URLs for one object (PUT to upload, GET or HEAD to download, DELETE),
// and POST .../$<operation> for the operations other groups bring (forms, multipart, batches, Uppy's $sign).
import { Hono } from "hono/tiny";
import { checkKey } from "../domain/names.ts";
import { downloadRequest, type ObjectMethod, OPERATION_OF, type ObjectRequest, uploadRequest, useOf } from "../domain/object-request.ts";
import { PIN_FIELDS } from "../domain/upload-limits.ts";
import { HttpError } from "../errors.ts";
import { type AppEnv, type Context, fieldsOf, notAllowed, onlyQuery, param, respond } from "../http/context.ts";
import { presignedAnswer, presignedJson } from "../http/presigned.ts";
import type { Services } from "../services.ts";
import { grantFor, objectUrl, presignMembers, type StorageOperation, storageTarget, type Target } from "./storage.ts";

const UPLOAD_FIELDS = ["filename", "content-type", ...PIN_FIELDS];
const DOWNLOAD_QUERY = ["expiration", "filename", "disposition", "content-type", "redirect", "method"];

export function objectRoutes(s: Services, operations: Record<string, StorageOperation>) {
  const app = new Hono<AppEnv>();

  /**
   * One presigned URL for `method` on `key`: the JSON answer, or a 302 to it. An upload's answer hands back its
   * signed headers, as the headers its PUT must send.
   */
  const presign = async (c: Context, method: ObjectMethod, target: Target, rawKey: unknown, request: ObjectRequest | undefined, redirect = false) => {
    const key = checkKey(rawKey);
    const grant = await grantFor(s, c, OPERATION_OF[method], target, key, useOf(method));
    request?.limits(c.get("caller"));
    const made = await objectUrl(s, grant, target, key, method, request);
    const [answer, headers] = presignedAnswer(made.answer, grant);
    s.audit.urls(c, presignMembers(target, answer["expires-at"], redirect ? "redirect" : undefined))(made.audit);
    if (redirect) return new Response(null, { status: 302, headers: { ...headers, location: made.url } });
    return respond(c, answer, 200, headers, presignedJson);
  };

  app.post("/:account/:bucket", async (c) => {
    onlyQuery(c, ["expiration"]);
    const { accountId, bucket } = storageTarget(c);
    const body = await fieldsOf(c, UPLOAD_FIELDS);
    if (body.filename === undefined) throw new HttpError(400, "filename is required");
    // Signed as headers: S3 refuses the upload unless it carries exactly these (type, digest, size, If-None-Match).
    return presign(c, "PUT", { accountId, bucket }, body.filename, uploadRequest(body));
  });

  app.post("/:account/:bucket/*", (c) => {
    onlyQuery(c, ["expiration"]);
    const { accountId, bucket, key } = storageTarget(c);
    const operation = Object.hasOwn(operations, key!) ? operations[key!] : undefined;
    if (!operation) throw new HttpError(405, `POST is allowed here only for ${Object.keys(operations).join(", ")}; objects take GET and DELETE`, { allow: "GET, DELETE, POST" });
    return operation(c, { accountId, bucket });
  });

  const bucketOnly = notAllowed("POST", " (GET and DELETE take the object key after the bucket)");

  app.get("/:account/:bucket/*", (c) => {
    onlyQuery(c, DOWNLOAD_QUERY);
    const { accountId, bucket, key } = storageTarget(c);
    if (key === undefined) return bucketOnly(c);
    const method = (param(c, "method") ?? "GET").toUpperCase();
    if (method !== "GET" && method !== "HEAD") throw new HttpError(400, "method must be GET or HEAD");
    const redirect = param(c, "redirect") ?? "false";
    if (redirect !== "true" && redirect !== "false") throw new HttpError(400, "redirect must be true or false");
    const request = downloadRequest(param(c, "filename"), param(c, "disposition"), param(c, "content-type"));
    return presign(c, method, { accountId, bucket }, key, request, redirect === "true");
  });

  app.delete("/:account/:bucket/*", (c) => {
    onlyQuery(c, ["expiration"]);
    const { accountId, bucket, key } = storageTarget(c);
    return key === undefined ? bucketOnly(c) : presign(c, "DELETE", { accountId, bucket }, key, undefined);
  });
  app.all("/:account/:bucket", bucketOnly);
  app.all("/:account/:bucket/*", notAllowed("GET, DELETE"));

  return app;
}
