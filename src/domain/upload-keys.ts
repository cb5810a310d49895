// Keys and metadata of uploads whose caller does not spell the key out in full: Uppy's, and Companion's protocol.
// A key signpost chooses goes into the caller's folder (its first prefix), has a random part (so it never names an
// existing object by accident) and ends with the file's name.
import { toBase64 } from "../crypto/encoding.ts";
import { invalidFor } from "./fields.ts";
import { checkKey, CONTROL, LONE_SURROGATE } from "./names.ts";
import { type Caller, callerPrefixes } from "./policy.ts";

const invalid: (message: string) => never = invalidFor("");

/** S3's limit for user metadata: names and values together. */
export const MAX_METADATA_BYTES = 2048;
const META_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** Printable ASCII with no space at either end: sent as it is (a header value keeps no outer spaces). */
const PLAIN_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;

/**
 * `key`, or a bare name (no '/') placed in the caller's folder when it is in none of the caller's prefixes (Uppy's
 * default key is `<uuid>-<file name>`). A key with a folder is the caller's choice, and its policy judges it.
 */
export function keyInFolder(caller: Caller, key: string): string {
  const prefixes = callerPrefixes(caller);
  if (!prefixes?.length || key.includes("/") || prefixes.some((prefix) => key.startsWith(prefix))) return key;
  return checkKey(`${prefixes[0]}${key}`);
}

/** A new key for a file called `filename`: `<the caller's folder><random UUID>-<name>`, '/' and '\' in the name as '_'. */
export function freshKey(caller: Caller, filename: unknown): string {
  if (typeof filename !== "string" || filename.length === 0 || filename.length > 255 || CONTROL.test(filename) || LONE_SURROGATE.test(filename)) {
    invalid("filename must be 1 to 255 characters of valid Unicode without control characters");
  }
  return checkKey(`${callerPrefixes(caller)?.[0] ?? ""}${crypto.randomUUID()}-${filename.replace(/[/\\]/g, "_")}`);
}

/**
 * Uppy's file metadata as S3 user metadata: `x-amz-meta-<name>` (lower case) for each string, number or boolean
 * (null skipped). A value that is not plain ASCII is sent RFC 2047-encoded (`=?UTF-8?B?...?=`), as Companion does.
 */
export function userMetadata(metadata: unknown): Record<string, string> {
  if (metadata === undefined || metadata === null) return {};
  if (typeof metadata !== "object" || Array.isArray(metadata)) invalid("metadata must be an object of names and values");
  const headers: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(metadata)) {
    if (value === null || value === undefined) continue;
    if (!META_NAME.test(name)) invalid(`metadata names are 1 to 128 letters, digits, '-' and '_', starting with a letter or digit: not ${JSON.stringify(name.slice(0, 64))}`);
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") invalid(`metadata ${name} must be a string, a number or a boolean`);
    const header = `x-amz-meta-${name.toLowerCase()}`;
    if (Object.hasOwn(headers, header)) invalid(`metadata ${name} is given twice (S3 metadata names are not case-sensitive)`);
    const text = String(value);
    const sent = PLAIN_VALUE.test(text) ? text : `=?UTF-8?B?${toBase64(new TextEncoder().encode(text))}?=`;
    bytes += name.length + sent.length;
    if (bytes > MAX_METADATA_BYTES) invalid(`metadata is larger than S3's ${MAX_METADATA_BYTES} bytes of user metadata`);
    headers[header] = sent;
  }
  return headers;
}
