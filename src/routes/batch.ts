// POST /aws/storage/<account>/<bucket>/$presign-batch: many URLs in one answer (a gallery, a folder view), each
// file authorized on its own. One refused file refuses the whole request, naming the file: an answer holds every
// URL asked for or none, so a page never shows half a gallery without knowing why.
import { checkKey } from "../domain/names.ts";
import { downloadRequest, type ObjectMethod as Method, OPERATION_OF, type ObjectRequest, uploadRequest, useOf } from "../domain/object-request.ts";
import { objectFields } from "../domain/fields.ts";
import type { Grant } from "../domain/presign.ts";
import { PIN_FIELDS } from "../domain/upload-limits.ts";
import { HttpError } from "../errors.ts";
import { type Context, fieldsOf, queryValues, respond } from "../http/context.ts";
import { presignedAnswer, presignedJson } from "../http/presigned.ts";
import { parseExpiration } from "../domain/presign.ts";
import type { Services } from "../services.ts";
import { objectUrl, type ObjectUrl, presignMembers, type StorageOperation, type Target } from "./storage.ts";

export const MAX_BATCH = 1000;

/** The fields a file of each method may have, besides filename and method. */
const FIELDS: Record<Method, readonly string[]> = {
  PUT: ["content-type", ...PIN_FIELDS],
  GET: ["save-as", "disposition", "content-type"],
  HEAD: ["save-as", "disposition", "content-type"],
  DELETE: [],
};

const ALLOWED = Object.fromEntries(Object.entries(FIELDS).map(([method, fields]) => [method, new Set(["filename", "method", ...fields])])) as Record<Method, Set<string>>;

interface File {
  key: string;
  method: Method;
  request: ObjectRequest | undefined;
}

/** A 4xx about files[i], naming it. */
const aboutFile = (i: number, name: unknown, error: unknown): never => {
  if (!(error instanceof HttpError)) throw error;
  throw new HttpError(error.status, `files[${i}]${typeof name === "string" ? ` (${JSON.stringify(name)})` : ""}: ${error.message}`, error.headers);
};

function parseFile(value: unknown): File {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new HttpError(400, "each file must be an object {filename, method, ...}");
  const file = value as Record<string, unknown>;
  const method = typeof file.method === "string" ? file.method.toUpperCase() : file.method;
  if (method === undefined || !Object.hasOwn(OPERATION_OF, method as string)) throw new HttpError(400, "method must be GET, HEAD, PUT or DELETE");
  objectFields(file, "", ALLOWED[method as Method]);
  const key = checkKey(file.filename);
  const optional = (name: string) => {
    const text = file[name];
    if (text !== undefined && typeof text !== "string") throw new HttpError(400, `${name} must be a string`);
    return text as string | undefined;
  };
  const request = method === "PUT" ? uploadRequest(file)
    : method === "DELETE" ? undefined
    : downloadRequest(optional("save-as"), optional("disposition"), file["content-type"]);
  return { key, method: method as Method, request };
}

export function batchOperations(s: Services): Record<string, StorageOperation> {
  return {
    async "$presign-batch"(c: Context, target: Target) {
      const { files } = await fieldsOf(c, ["files"]);
      if (!Array.isArray(files) || files.length === 0 || files.length > MAX_BATCH) throw new HttpError(400, `files must be a list of 1 to ${MAX_BATCH} files, each {filename, method, ...}`);
      const parsed = files.map((file, i) => {
        try {
          return parseFile(file);
        } catch (error) {
          return aboutFile(i, (file as Record<string, unknown> | null)?.filename, error);
        }
      });
      const caller = c.get("caller");
      const grantFor = s.presign.grants(caller, { accountId: target.accountId, bucket: target.bucket, expiration: parseExpiration(queryValues(c, "expiration")) });
      // Every file is authorized before any URL is made: a refusal leaves no URL and no audit line behind.
      // Files share a few grants (one per use and prefix): each is waited for once, in the files' order.
      const grants: Grant[] = [];
      for (const [i, file] of parsed.entries()) {
        try {
          const granted = grantFor(OPERATION_OF[file.method], file.key, useOf(file.method));
          grants.push(granted instanceof Promise ? await granted : granted);
          file.request?.limits(caller);
        } catch (error) {
          aboutFile(i, file.key, error);
        }
      }
      const making: (ObjectUrl | Promise<ObjectUrl>)[] = [];
      try {
        for (const [i, { key, method, request }] of parsed.entries()) making.push(objectUrl(s, grants[i]!, target, key, method, request));
      } catch (error) {
        for (const url of making) if (url instanceof Promise) url.catch(() => {}); // the request fails with `error` alone
        throw error;
      }
      const made = making.some((url) => url instanceof Promise) ? await Promise.all(making) : (making as ObjectUrl[]);
      const soonest = grants.reduce((a, b) => (b.expiresAt < a.expiresAt ? b : a));
      const [answer, headers] = presignedAnswer({ urls: made.map((url, i) => ({ filename: parsed[i]!.key, method: parsed[i]!.method, ...url.answer })) }, soonest);
      const audit = s.audit.urls(c, presignMembers(target, answer["expires-at"], "batch"));
      for (const url of made) audit(url.audit);
      return respond(c, answer, 200, headers, presignedJson);
    },
  };
}
