// What an upload pins, and the limits a caller's policy puts on uploads. Everything here reaches S3 as a signed
// header (or a form's policy condition), so S3 itself refuses a request that differs: a client cannot send another
// body size, digest or type, nor drop If-None-Match, without breaking the signature.
import { HttpError } from "../errors.ts";
import { invalidFor, wholeNumber } from "./fields.ts";
import type { Caller } from "./policy.ts";

/** The largest single PUT (or form upload, or part) S3 takes. */
export const MAX_PUT = 5 * 1024 ** 3;

const invalid: (message: string) => never = invalidFor("");

/** What one upload request pins, each checked. */
export interface UploadPins {
  /** Base64 MD5 of the body (Content-MD5): S3 answers BadDigest for another body. */
  "content-md5"?: string;
  /** Base64 SHA-256 of the body (x-amz-checksum-sha256); enforced by AWS, not by every S3-compatible server. */
  "checksum-sha256"?: string;
  /** The body's exact size in bytes (Content-Length). */
  "content-length"?: number;
  /** If-None-Match: * : S3 answers 412 when the key exists already. */
  "no-overwrite"?: true;
}

export const PIN_FIELDS = ["content-md5", "checksum-sha256", "content-length", "no-overwrite"] as const;

/** Standard base64 (with its padding) of exactly `bytes` bytes. */
const base64Of = (bytes: number) => new RegExp(`^[A-Za-z0-9+/]{${4 * Math.floor(bytes / 3)}}[A-Za-z0-9+/]{${(bytes % 3) + 1}}${"=".repeat(3 - (bytes % 3))}$`);
const MD5 = base64Of(16);
const SHA256 = base64Of(32);

/** The pins among `body`'s fields (the ones `PIN_FIELDS` names), checked; 400 naming the field otherwise. */
export function parsePins(body: Record<string, unknown>): UploadPins {
  const pins: UploadPins = {};
  const md5 = body["content-md5"];
  if (md5 !== undefined) {
    if (typeof md5 !== "string" || !MD5.test(md5)) invalid("content-md5 must be the base64 MD5 digest of the body (24 characters, as openssl md5 -binary | base64 prints)");
    pins["content-md5"] = md5;
  }
  const sha = body["checksum-sha256"];
  if (sha !== undefined) {
    if (typeof sha !== "string" || !SHA256.test(sha)) invalid("checksum-sha256 must be the base64 SHA-256 digest of the body (44 characters, as openssl sha256 -binary | base64 prints)");
    pins["checksum-sha256"] = sha;
  }
  const length = wholeNumber(body["content-length"], "", "content-length", 0, MAX_PUT);
  if (length !== undefined) pins["content-length"] = length;
  const noOverwrite = body["no-overwrite"];
  if (noOverwrite !== undefined && typeof noOverwrite !== "boolean") invalid("no-overwrite must be true or false");
  if (noOverwrite) pins["no-overwrite"] = true;
  return pins;
}

/**
 * The headers a PUT (object or part) must carry, signed: names in lower case, as the signer takes them and as the
 * answer hands them to the client.
 */
export function pinnedHeaders(contentType: string | undefined, pins: UploadPins): Record<string, string> {
  const headers: Record<string, string> = {};
  if (contentType !== undefined) headers["content-type"] = contentType;
  if (pins["content-md5"] !== undefined) headers["content-md5"] = pins["content-md5"];
  if (pins["content-length"] !== undefined) headers["content-length"] = String(pins["content-length"]);
  if (pins["no-overwrite"]) headers["if-none-match"] = "*";
  // Signed as a header: hoisted into the query, AWS would not check the body against it.
  if (pins["checksum-sha256"] !== undefined) headers["x-amz-checksum-sha256"] = pins["checksum-sha256"];
  return headers;
}

// ---------------------------------------------------------------------------------------------------------------
// The caller's limits (policy max-size and content-types). The admin has none.

const refuse = (what: string): never => {
  throw new HttpError(403, `this client may ${what}`);
};

/** A content-types entry: type/subtype or type/*, lower case. */
export const CONTENT_TYPE_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126})$/;

/** The media type without parameters, in lower case: `Image/PNG; x=y` is `image/png`. */
const essence = (type: string) => type.split(";")[0]!.trim().toLowerCase();

/** Does `type` (a concrete media type) match `pattern` (type/subtype, or type/*)? */
export function typeMatches(pattern: string, type: string): boolean {
  const [main, sub] = essence(type).split("/") as [string, string | undefined];
  if (sub === undefined || sub === "*" || main === "*") return false; // a wildcard is no type to store
  return pattern.endsWith("/*") ? pattern === `${main}/*` : pattern === `${main}/${sub}`;
}

/** Is every entry of `inner` matched by some entry of `outer` (`image/png` is within `image/*`, not the reverse)? */
export const typesWithin = (inner: string[], outer: string[]): boolean =>
  inner.every((pattern) => outer.some((allowed) => allowed === pattern || (allowed.endsWith("/*") && pattern.startsWith(allowed.slice(0, -1)))));

const policyOf = (caller: Caller) => (caller.admin ? undefined : caller.policy);

/**
 * The content type an upload pins, within the caller's content-types: required when it has them (S3 would
 * otherwise store whatever type the client sends, or none).
 */
export function requireUploadType(caller: Caller, type: string | undefined): void {
  const allowed = policyOf(caller)?.["content-types"];
  if (!allowed) return;
  if (type === undefined) refuse(`upload only with a content-type, one of ${allowed.join(", ")}`);
  if (!allowed.some((pattern) => typeMatches(pattern, type!))) refuse(`not upload content-type ${type} (allowed: ${allowed.join(", ")})`);
}

/** A download's response-content-type override, within the caller's content-types. */
export function requireDownloadType(caller: Caller, type: string | undefined): void {
  const allowed = policyOf(caller)?.["content-types"];
  if (allowed && type !== undefined && !allowed.some((pattern) => typeMatches(pattern, type))) refuse(`not have a download served as ${type} (allowed: ${allowed.join(", ")})`);
}

/** The caller's max-size, if it has one. */
export const maxSizeOf = (caller: Caller): number | undefined => policyOf(caller)?.["max-size"];

/**
 * A declared size within the caller's max-size: with a max-size, every PUT URL (object or part) must declare its
 * content-length, so that S3 refuses a body of any other size.
 */
export function requireSize(caller: Caller, size: number | undefined, what = "content-length"): void {
  const max = maxSizeOf(caller);
  if (max === undefined) return;
  if (size === undefined) refuse(`upload only with a declared ${what} of at most ${max} bytes`);
  if (size! > max) refuse(`not upload more than ${max} bytes (${what} ${size})`);
}

/**
 * A form's content-length-range for `caller`: the `min` and `max` it asks for, within its max-size; with a max-size
 * and no `max` asked, a range that ends there. Undefined when the form needs none.
 */
export function formSizeRange(caller: Caller, min?: number, max?: number): { min: number; max: number } | undefined {
  const limit = maxSizeOf(caller);
  if (limit !== undefined && max !== undefined && max > limit) refuse(`not upload more than ${limit} bytes (max-size ${max})`);
  if (limit !== undefined && min !== undefined && min > limit) refuse(`not upload more than ${limit} bytes (min-size ${min})`);
  const end = max ?? (limit !== undefined ? Math.min(limit, MAX_PUT) : min === undefined ? undefined : MAX_PUT);
  return end === undefined ? undefined : { min: min ?? 0, max: end };
}

/**
 * A URL that signs host alone (Uppy's $sign and Companion's PUT URL: browsers cannot send signed headers through
 * every S3's CORS) cannot hold a caller to a max-size or content-types: such a caller gets none. (Companion's part
 * URLs need only requireSize: their upload's type is the one signpost created it with.)
 */
export function requireNoLimits(caller: Caller, what: string): void {
  const policy = policyOf(caller);
  const limits = [policy?.["max-size"] !== undefined ? "max-size" : "", policy?.["content-types"] ? "content-types" : ""].filter(Boolean);
  if (limits.length > 0) refuse(`not have ${what}: it signs no header, so S3 could not hold it to this client's ${limits.join(" and ")} (forms, and the multipart uploads signpost completes, can)`);
}
