// What one object URL asks beyond its method and key, the same for single URLs and batches: an upload's signed
// headers (type and pins), a download's response overrides, and the limits the caller's policy puts on each.
import { HttpError } from "../errors.ts";
import type { Caller } from "./policy.ts";
import { checkContentType, contentDisposition, type Use } from "./presign.ts";
import { parsePins, pinnedHeaders, requireDownloadType, requireSize, requireUploadType } from "./upload-limits.ts";

/** The grant each method of an object URL needs. */
export const OPERATION_OF = { PUT: "upload", GET: "download", HEAD: "download", DELETE: "delete" } as const;
export type ObjectMethod = keyof typeof OPERATION_OF;

/** What an object URL of `method` is for: a PUT is a write (its holder can add headers of its own), the rest URLs. */
export const useOf = (method: ObjectMethod): Use => (method === "PUT" ? "write" : "url");

export interface ObjectRequest {
  /** Signed query parameters (a download's response-content-*). */
  query?: Record<string, string>;
  /** Signed headers, which the holder must send (an upload's). */
  headers?: Record<string, string>;
  /** Throws a 403 when the caller's policy limits forbid this request. */
  limits: (caller: Caller) => void;
}

/** An upload from its fields (content-type and the pins), all checked. */
export function uploadRequest(fields: Record<string, unknown>): ObjectRequest & { headers: Record<string, string> } {
  const contentType = checkContentType(fields["content-type"]);
  const pins = parsePins(fields);
  return {
    headers: pinnedHeaders(contentType, pins),
    limits: (caller) => {
      requireUploadType(caller, contentType);
      requireSize(caller, pins["content-length"]);
    },
  };
}

/** A download (GET or HEAD): the name to save as, the disposition and the type S3 answers with. */
export function downloadRequest(filename: string | undefined, disposition: string | undefined, type: unknown): ObjectRequest {
  if (disposition !== undefined && disposition !== "attachment" && disposition !== "inline") throw new HttpError(400, "disposition must be attachment or inline");
  const contentType = checkContentType(type);
  // S3 answers with these headers when the URL carries them, signed (an unsigned one is refused).
  const query: Record<string, string> = {};
  if (filename !== undefined || disposition !== undefined) query["response-content-disposition"] = contentDisposition(filename, disposition);
  if (contentType !== undefined) query["response-content-type"] = contentType;
  return { ...(filename ?? disposition ?? contentType ? { query } : {}), limits: (caller) => requireDownloadType(caller, contentType) };
}

/** The headers `request`'s URL signs (an upload's type and pins), or undefined when it signs host alone. */
export const signedHeaders = (request: ObjectRequest | undefined): Record<string, string> | undefined =>
  request?.headers && Object.keys(request.headers).length > 0 ? request.headers : undefined;
