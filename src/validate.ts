// Input rules. Every failure is a 400 HttpError whose message says what was wrong and what is allowed.
import { HttpError } from "./errors.ts";

export const MAX_EXPIRATION = 604800; // SigV4 presigned URLs live at most 7 days
export const DEFAULT_EXPIRATION = 86400;
const MAX_KEY_BYTES = 1024;
/** A '.' or '..' segment. */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

function invalid(message: string): never {
  throw new HttpError(400, message);
}

const FHIR_ID = /^[A-Za-z0-9.-]{1,64}$/;

export function checkId(id: string, what = "id"): string {
  if (!FHIR_ID.test(id)) invalid(`${what} must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'`);
  return id;
}

/** `expiration` query parameter: decimal digits only, 1..604800; undefined when absent (the default applies). */
export function parseExpiration(values: string[]): number | undefined {
  if (values.length === 0) return undefined;
  const range = `expiration must be a whole number of seconds from 1 to ${MAX_EXPIRATION}`;
  if (values.length > 1) invalid(`${range}, given once`);
  const value = values[0]!;
  if (!/^\d{1,7}$/.test(value)) invalid(range);
  const seconds = Number(value);
  if (seconds < 1 || seconds > MAX_EXPIRATION) invalid(range);
  return seconds;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const BUCKET_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const BUCKET_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/** S3 general purpose bucket naming rules. */
export function checkBucket(bucket: string): string {
  const rules = "bucket names are 3 to 63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit";
  if (!BUCKET.test(bucket)) invalid(`invalid bucket name: ${rules}`);
  if (bucket.includes("..")) invalid("invalid bucket name: no two adjacent periods");
  if (IPV4.test(bucket)) invalid("invalid bucket name: must not be formatted as an IP address");
  if (BUCKET_PREFIXES.some((p) => bucket.startsWith(p)) || BUCKET_SUFFIXES.some((s) => bucket.endsWith(s))) {
    invalid("invalid bucket name: uses a prefix or suffix that S3 reserves");
  }
  return bucket;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Object keys: 1..1024 UTF-8 bytes, no control characters, no `.` or `..` segments. */
export function checkKey(key: unknown): string {
  if (typeof key !== "string") invalid("filename must be a string");
  if (key.length === 0) invalid("object key is empty");
  if (CONTROL.test(key)) invalid("object key must not contain control characters");
  if (LONE_SURROGATE.test(key)) invalid("object key is not valid Unicode");
  // A UTF-16 code unit takes at most 3 UTF-8 bytes: only long keys need counting.
  if (key.length * 3 > MAX_KEY_BYTES && new TextEncoder().encode(key).length > MAX_KEY_BYTES) invalid(`object key is longer than ${MAX_KEY_BYTES} UTF-8 bytes`);
  // URL clients resolve dot segments before sending, so a URL for such a key could never reach it.
  if (DOT_SEGMENT.test(key)) {
    invalid("object key must not contain '.' or '..' path segments");
  }
  return key;
}

// host[:port]: a DNS name, an IPv4 address or a bracketed IPv6 address.
const HOST = /^(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;

export function checkHost(host: string): string {
  const lower = host.toLowerCase();
  const match = lower.length <= 261 ? HOST.exec(lower) : null;
  const port = match?.[1];
  if (!match || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) {
    invalid("host must be host[:port] with no scheme or path, e.g. 127.0.0.1:9000 or s3.example.com");
  }
  return lower;
}

// A media type: type/subtype with optional parameters (RFC 9110 tokens, or quoted strings for values).
const TOKEN = "[A-Za-z0-9!#$%&'*+.^_`|~-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:\\s*;\\s*${TOKEN}=(?:${TOKEN}|"[^"\\\\\\u0000-\\u001f\\u007f]*"))*$`);

/** A Content-Type value of at most 255 characters; undefined stays undefined. */
export function checkContentType(value: unknown, what = "content-type"): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length > 255 || !MEDIA_TYPE.test(value)) {
    invalid(`${what} must be a media type such as image/png or text/plain; charset=utf-8 (at most 255 characters)`);
  }
  return value;
}

/**
 * `attachment` with the name twice (RFC 6266): an ASCII fallback in `filename` (other characters, quotes, '\' and
 * '%' as '_') and the exact name in `filename*` (RFC 5987: UTF-8, percent-encoded but for attr-chars).
 */
export function contentDisposition(filename: string): string {
  if (filename.length === 0 || filename.length > 255 || CONTROL.test(filename) || LONE_SURROGATE.test(filename)) {
    invalid("filename must be 1 to 255 characters of valid Unicode without control characters");
  }
  const fallback = filename.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
