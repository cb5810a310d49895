// Presigning, the use case: a grant (the caller authorized, the account found, the credentials chosen, the lifetime
// fixed, never longer than the credentials live), then URLs under it. Also what a URL says beyond its key: the
// expiration asked for, and the response headers a download asks S3 for.
import { type ObjectLocation, objectLocation } from "../aws/s3url.ts";
import { type FormRequest, postPolicy } from "../aws/post-policy.ts";
import type { Credentials, HeaderSigner, Presigner, PresignRequest } from "../aws/signer.ts";
import { HttpError } from "../errors.ts";
import { invalidFor } from "./fields.ts";
import type { AccountReader, AwsAccount } from "./account.ts";
import { CONTROL, LONE_SURROGATE } from "./names.ts";
import { authorizePresign, type Caller, type ObjectOperation, type PresignGrant } from "./policy.ts";
import type { Signing } from "./signing.ts";

export const MAX_EXPIRATION = 604800; // SigV4 presigned URLs live at most 7 days
const DEFAULT_EXPIRATION = 86400;

const invalid: (message: string) => never = invalidFor("");

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


export interface UrlLifetime {
  /** X-Amz-Expires: the requested seconds, or fewer when the credentials expire sooner. */
  expiresIn: number;
  /** When the URL stops working, to the second (X-Amz-Date has no milliseconds). */
  expiresAt: Date;
  /** True when the credentials' expiry cut the requested lifetime. */
  capped: boolean;
}

export function urlLifetime(requested: number, credentials: Credentials, signingDate: Date): UrlLifetime {
  const start = Math.floor(signingDate.getTime() / 1000); // the URL's clock starts at X-Amz-Date
  let expiresIn = requested;
  let capped = false;
  if (credentials.expiration) {
    const left = Math.floor(credentials.expiration.getTime() / 1000) - start;
    if (left < 1) throw new HttpError(503, `the AWS credentials expired at ${credentials.expiration.toISOString()}`);
    if (left < requested) {
      expiresIn = left;
      capped = true;
    }
  }
  return { expiresIn, expiresAt: new Date((start + expiresIn) * 1000), capped };
}

// A media type: type/subtype with optional parameters (RFC 9110 tokens, or quoted strings for values). Spaces
// only around ';', and printable ASCII only in quoted strings: the value becomes a signed header (or, for
// downloads, the header S3 answers with), where CR or LF would split it and other characters break its signature.
const TOKEN = "[A-Za-z0-9!#$%&'*+.^_`|~-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?: *; *${TOKEN}=(?:${TOKEN}|"[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*"))*$`);

/** A Content-Type value of at most 255 characters; undefined stays undefined. */
export function checkContentType(value: unknown, what = "content-type"): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length > 255 || !MEDIA_TYPE.test(value)) {
    invalid(`${what} must be a media type such as image/png or text/plain; charset=utf-8 (at most 255 characters)`);
  }
  return value;
}

/**
 * `attachment` (or `inline`) with the name twice (RFC 6266): an ASCII fallback in `filename` (other characters,
 * quotes, '\' and '%' as '_') and the exact name in `filename*` (RFC 5987: UTF-8, percent-encoded but for
 * attr-chars). Without a name, the bare disposition.
 */
export function contentDisposition(filename: string | undefined, disposition: "attachment" | "inline" = "attachment"): string {
  if (filename === undefined) return disposition;
  if (filename.length === 0 || filename.length > 255 || CONTROL.test(filename) || LONE_SURROGATE.test(filename)) {
    invalid("filename must be 1 to 255 characters of valid Unicode without control characters");
  }
  const fallback = filename.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${disposition}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/**
 * What a URL is for: `url` to read or delete; `write` for PUT and part URLs (which their holder can send with
 * headers of its own); `form` for a POST policy (whose fields S3 holds to it); `call` for an S3 call signpost makes
 * itself (list, complete, abort: no URL leaves signpost); `create` for a CreateMultipartUpload URL (a write whose
 * holder could also set the upload's ACL, see domain/signing.ts).
 */
export type Use = "url" | "write" | "create" | "form" | "call";

/** Everything one answer's URLs are signed with. */
export interface Grant extends UrlLifetime {
  account: AwsAccount;
  credentials: Credentials;
  /** The signing time: X-Amz-Date of every URL of the answer. */
  date: Date;
}

interface GrantRequest {
  operation: ObjectOperation;
  accountId: string;
  bucket: string;
  key: string;
  /** The `expiration` asked for; undefined for the default. */
  expiration: number | undefined;
  use: Use;
}

export function presigning(deps: { accounts: Pick<AccountReader, "find">; signing: Signing; presigner: Presigner & HeaderSigner; now: () => number }) {
  /** The credentials for an authorized request, and the lifetime they allow from `date` (default: once they are there). */
  async function issue(caller: Caller, account: AwsAccount, bucket: string, allowed: PresignGrant, use: Use, date?: Date): Promise<Grant> {
    const credentials = use === "call"
      ? await deps.signing.accountCredentials(account)
      : await deps.signing.urlCredentials({ caller, account, bucket, grant: allowed, use });
    const signed = date ?? new Date(deps.now());
    // Never promise a URL a longer life than the credentials that sign it.
    return { account, credentials, date: signed, ...urlLifetime(allowed.expiration, credentials, signed) };
  }

  const authorize = (caller: Caller, target: Pick<GrantRequest, "accountId" | "bucket" | "expiration">, operation: ObjectOperation, key: string) =>
    authorizePresign(caller, { operation, account: target.accountId, bucket: target.bucket, key, expiration: target.expiration }, DEFAULT_EXPIRATION);

  /** Authorizes the caller, finds the account and the credentials that sign, and fixes the signing time and lifetime. */
  async function grant(caller: Caller, request: GrantRequest): Promise<Grant> {
    const allowed = authorize(caller, request, request.operation, request.key);
    return issue(caller, await deps.accounts.find(request.accountId), request.bucket, allowed, request.use);
  }

  /**
   * Grants for many keys of one bucket at one signing time (a batch): each key authorized on its own, the account
   * found once, and the credentials chosen once per use and prefix (scoped credentials differ by prefix). A grant
   * already made is handed out as it is, not as a promise: a batch of many keys then waits once per grant.
   */
  function grants(caller: Caller, target: Pick<GrantRequest, "accountId" | "bucket" | "expiration">) {
    const date = new Date(deps.now());
    let account: Promise<AwsAccount> | undefined;
    const chosen = new Map<string, Grant | Promise<Grant>>();
    return (operation: ObjectOperation, key: string, use: Use): Grant | Promise<Grant> => {
      const allowed = authorize(caller, target, operation, key);
      const id = `${use}\n${allowed.expiration}\n${allowed.prefix ?? ""}`;
      let granted = chosen.get(id);
      if (!granted) {
        const pending = (account ??= deps.accounts.find(target.accountId)).then((found) => issue(caller, found, target.bucket, allowed, use, date));
        pending.then((grant) => chosen.set(id, grant), () => {}); // a refusal stays the promise: each file awaiting it is refused
        chosen.set(id, (granted = pending));
      }
      return granted;
    };
  }

  /**
   * A presigned URL for `method` on `key` under `grant`; a plain string with node:crypto. Many URLs for one object
   * (the parts of an upload) pass its location, found once.
   */
  function url(
    grant: Grant,
    request: { method: string; bucket: string; key: string } & Pick<PresignRequest, "query" | "headers">,
    { protocol, host, path }: ObjectLocation = objectLocation(grant.account, request.bucket, request.key),
  ): string | Promise<string> {
    return deps.presigner.presign({
      method: request.method, protocol, host, path, query: request.query, headers: request.headers,
      region: grant.account.region, credentials: grant.credentials, expiresIn: grant.expiresIn, date: grant.date,
    });
  }

  /** A browser form's URL and fields (a POST policy) under `grant`, which must be a `form` grant. */
  const form = (grant: Grant, request: Omit<FormRequest, "account" | "credentials" | "date" | "expiresIn">) =>
    postPolicy(deps.presigner, { ...request, account: grant.account, credentials: grant.credentials, date: grant.date, expiresIn: grant.expiresIn });

  return { grant, grants, url, form };
}

