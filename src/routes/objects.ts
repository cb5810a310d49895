// /aws/storage/<account>/<bucket>: presigned URLs for one object (PUT to upload, GET or HEAD to download, DELETE),
// and POST .../$<operation> for the operations other groups bring (forms, multipart).
import { Hono } from "hono/tiny";
import { checkKey } from "../domain/names.ts";
import { checkContentType, contentDisposition } from "../domain/presign.ts";
import { parsePins, PIN_FIELDS, pinnedHeaders, requireDownloadType, requireSize, requireUploadType } from "../domain/upload.ts";
import type { Caller } from "../domain/policy.ts";
import { HttpError } from "../errors.ts";
import { type AppEnv, type Context, fieldsOf, notAllowed, onlyQuery, param, respond } from "../http/context.ts";
import { presignedAnswer } from "../http/presigned.ts";
import type { Services } from "../services.ts";
import { grantFor, type StorageOperation, storageTarget, type Target } from "./storage.ts";

const OPERATION_OF = { PUT: "upload", GET: "download", HEAD: "download", DELETE: "delete" } as const;
const DOWNLOAD_QUERY = ["expiration", "filename", "disposition", "content-type", "redirect", "method"];

export function objectRoutes(s: Services, operations: Record<string, StorageOperation>) {
  const app = new Hono<AppEnv>();

  /**
   * One presigned URL for `method` on `key`: the JSON answer, or a 302 to it. `headers` are signed: an upload's
   * answer hands them back, as the headers its PUT must send.
   */
  const presign = async (c: Context, method: keyof typeof OPERATION_OF, target: Target, rawKey: unknown, extra: { query?: Record<string, string>; headers?: Record<string, string>; redirect?: boolean; limits?: (caller: Caller) => void } = {}) => {
    const key = checkKey(rawKey);
    const operation = OPERATION_OF[method];
    const grant = await grantFor(s, c, operation, target, key, method === "PUT" ? "write" : "url");
    extra.limits?.(c.get("caller"));
    const url = await s.presign.url(grant, { method, bucket: target.bucket, key, ...(extra.query ? { query: extra.query } : {}), ...(extra.headers ? { headers: extra.headers } : {}) });
    const [answer, headers] = presignedAnswer(method === "PUT" ? { url, headers: extra.headers ?? {} } : { url }, grant);
    s.audit(c, { action: "presign", operation, "s3-method": method, account: target.accountId, bucket: target.bucket, key, "expires-in": grant.expiresIn, "expires-at": answer["expires-at"], redirect: extra.redirect || undefined, ...(extra.headers ? { signed: Object.keys(extra.headers).join(" ") } : {}) });
    if (extra.redirect) return new Response(null, { status: 302, headers: { ...headers, location: url } });
    return respond(c, answer, 200, headers);
  };

  app.post("/:account/:bucket", async (c) => {
    onlyQuery(c, ["expiration"]);
    const { accountId, bucket } = storageTarget(c);
    const body = await fieldsOf(c, ["filename", "content-type", ...PIN_FIELDS]);
    if (body.filename === undefined) throw new HttpError(400, "filename is required");
    const contentType = checkContentType(body["content-type"]);
    const pins = parsePins(body);
    // Signed as headers: S3 refuses the upload unless it carries exactly these (type, digest, size, If-None-Match).
    const headers = pinnedHeaders(contentType, pins);
    const limits = (caller: Caller) => {
      requireUploadType(caller, contentType);
      requireSize(caller, pins["content-length"]);
    };
    return presign(c, "PUT", { accountId, bucket }, body.filename, { ...(Object.keys(headers).length > 0 ? { headers } : {}), limits });
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
    const filename = param(c, "filename");
    const disposition = param(c, "disposition");
    if (disposition !== undefined && disposition !== "attachment" && disposition !== "inline") throw new HttpError(400, "disposition must be attachment or inline");
    const type = checkContentType(param(c, "content-type"));
    // S3 answers with these headers when the URL carries them, signed (an unsigned one is refused).
    const query: Record<string, string> = {};
    if (filename !== undefined || disposition !== undefined) query["response-content-disposition"] = contentDisposition(filename, disposition);
    if (type !== undefined) query["response-content-type"] = type;
    return presign(c, method, { accountId, bucket }, key, { ...(filename ?? disposition ?? type ? { query } : {}), redirect: redirect === "true", limits: (caller) => requireDownloadType(caller, type) });
  });

  app.delete("/:account/:bucket/*", (c) => {
    onlyQuery(c, ["expiration"]);
    const { accountId, bucket, key } = storageTarget(c);
    return key === undefined ? bucketOnly(c) : presign(c, "DELETE", { accountId, bucket }, key);
  });
  app.all("/:account/:bucket", bucketOnly);
  app.all("/:account/:bucket/*", notAllowed("GET, DELETE"));

  return app;
}
