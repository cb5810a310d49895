// The AwsAccount resource: what a client may send, what is stored, and what is shown.
import { isSealed } from "../crypto/seal.ts";
import { HttpError } from "../errors.ts";
import { readOnce, type ResourceStore } from "../store/store.ts";
import { invalidFor, objectFields, resourceHeader, wholeNumber } from "./fields.ts";
import { checkHost } from "./names.ts";

export interface AwsAccount {
  resourceType: "AwsAccount";
  id: string;
  region: string;
  "access-key-id"?: string;
  "secret-access-key"?: string;
  host?: string;
  "path-style": boolean;
  "use-ssl": boolean;
  /** An IAM role to assume (STS AssumeRole) with the account's keys or the default credentials. */
  "role-arn"?: string;
  "external-id"?: string;
  "role-session-name"?: string;
  /** Lifetime of the role's temporary credentials: 900..43200 seconds (STS default 3600). */
  "duration-seconds"?: number;
  /**
   * Every client that may use this account is trusted with all its credentials can do: upload URLs are handed to
   * clients even where S3 acts on unsigned headers and the credentials cannot be narrowed (see signing.ts).
   */
  "single-tenant"?: true;
  meta: { versionId: string; lastUpdated: string };
}

/** The fields a client supplies; the server adds resourceType, id and meta. */
export type AwsAccountInput = Omit<AwsAccount, "resourceType" | "id" | "meta">;

const invalid: (message: string) => never = invalidFor("AwsAccount");

const REGION = /^[a-z0-9][a-z0-9-]{0,62}$/;
// Printable ASCII; no '/' in the key id since it is joined with '/' into X-Amz-Credential.
const ACCESS_KEY_ID = /^[\x21-\x2e\x30-\x7e]{1,128}$/;
const SECRET = /^[\x20-\x7e]{1,256}$/;
// STS AssumeRole parameter rules (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html). The
// account part of the ARN may be empty (Ceph RGW: arn:aws:iam:::role/Name) or an RGW tenant.
const ROLE_ARN = /^arn:[a-z][a-z0-9-]{0,31}:iam::[A-Za-z0-9_-]{0,64}:role\/[\w+=,.@\/-]{0,1900}[\w+=,.@-]$/;
const EXTERNAL_ID = /^[\w+=,.@:\/-]{2,1224}$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
export const MIN_ROLE_DURATION = 900;
export const MAX_ROLE_DURATION = 43200;

const fields = new Set([
  "resourceType", "id", "meta", "region", "access-key-id", "secret-access-key", "host", "path-style", "use-ssl",
  "role-arn", "external-id", "role-session-name", "duration-seconds", "single-tenant",
]);

function optionalString(body: Record<string, unknown>, name: string, pattern: RegExp, rule: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") invalid(`${name} must be a string`);
  if (!pattern.test(value)) invalid(`${name} ${rule}`);
  return value;
}

function optionalBoolean(body: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = body[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "boolean") invalid(`${name} must be true or false`);
  return value;
}

/** Checks a PUT body for account `id` and returns the fields to store. */
export function parseAwsAccount(body: unknown, id: string): AwsAccountInput {
  const record = objectFields(body, "AwsAccount", fields);
  resourceHeader(record, "AwsAccount", id);

  const region = optionalString(record, "region", REGION, "must be lowercase letters, digits and '-', e.g. us-east-1");
  if (region === undefined) invalid("region is required");
  const accessKeyId = optionalString(record, "access-key-id", ACCESS_KEY_ID, "must be 1 to 128 printable ASCII characters without '/'");
  const secret = optionalString(record, "secret-access-key", SECRET, "must be 1 to 256 printable ASCII characters");
  if ((accessKeyId === undefined) !== (secret === undefined)) {
    invalid("access-key-id and secret-access-key go together: give both or neither");
  }
  const host = record.host;
  if (host !== undefined && host !== null && typeof host !== "string") invalid("host must be a string");

  const account: AwsAccountInput = {
    region,
    "path-style": optionalBoolean(record, "path-style", false),
    "use-ssl": optionalBoolean(record, "use-ssl", true),
  };
  if (accessKeyId !== undefined) {
    account["access-key-id"] = accessKeyId;
    account["secret-access-key"] = secret;
  }
  if (typeof host === "string") account.host = checkHost(host);
  if (optionalBoolean(record, "single-tenant", false)) account["single-tenant"] = true;

  const roleArn = optionalString(record, "role-arn", ROLE_ARN, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/name");
  const externalId = optionalString(record, "external-id", EXTERNAL_ID, "must be 2 to 1224 characters of letters, digits and +=,.@:/-_");
  const sessionName = optionalString(record, "role-session-name", SESSION_NAME, "must be 2 to 64 characters of letters, digits and +=,.@-_");
  const duration = wholeNumber(record["duration-seconds"] ?? undefined, "AwsAccount", "duration-seconds", MIN_ROLE_DURATION, MAX_ROLE_DURATION);
  if (roleArn === undefined) {
    const orphan = ["external-id", "role-session-name", "duration-seconds"].find((name) => record[name] !== undefined && record[name] !== null);
    if (orphan) invalid(`${orphan} applies only with role-arn`);
  } else {
    account["role-arn"] = roleArn;
    if (externalId !== undefined) account["external-id"] = externalId;
    if (sessionName !== undefined) account["role-session-name"] = sessionName;
    if (duration !== undefined) account["duration-seconds"] = duration;
  }
  return account;
}

/**
 * A stored account as read back, checked like a new one (rules may have tightened since it was written, e.g. the
 * hosts signpost sends requests to), with the defaults of the fields it lacks (an imported record without `use-ssl`
 * signs https URLs, as it reads); a reason instead when it is not usable.
 */
function storedAccount(value: unknown, id: string): AwsAccount | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "it is not an object";
  const record = value as Record<string, unknown>;
  if (record.resourceType !== "AwsAccount" || record.id !== id) return "its resourceType or id is wrong";
  const meta = record.meta as Record<string, unknown> | undefined;
  if (typeof meta?.versionId !== "string" || typeof meta.lastUpdated !== "string") return "its meta is missing";
  const sealed = record["secret-access-key"];
  if (sealed !== undefined && !isSealed(sealed)) return "its secret-access-key is not sealed";
  let fields: AwsAccountInput;
  try {
    // The sealed secret stands in for a plain one of the same shape.
    fields = parseAwsAccount({ ...record, ...(sealed === undefined ? {} : { "secret-access-key": "sealed" }) }, id);
  } catch (error) {
    return error instanceof HttpError ? error.message.replace(/^AwsAccount: /, "") : "it cannot be read";
  }
  if (sealed !== undefined) fields["secret-access-key"] = sealed as string;
  return { resourceType: "AwsAccount", id, ...fields, meta: record.meta as AwsAccount["meta"] };
}

/** What callers see: everything but the secret; and for clients, not the external id either (it guards the role). */
export function publicView(account: AwsAccount, admin = true): Omit<AwsAccount, "secret-access-key"> {
  const { "secret-access-key": _secret, ...visible } = account;
  if (!admin) delete visible["external-id"];
  return visible;
}

const unusable = (id: string, reason: string) => `AwsAccount/${id} is stored in a form signpost cannot use (${reason}): replace it with PUT /AwsAccount/${id}`;

/** Why a stored account cannot be used, or undefined. */
export function accountProblem(account: AwsAccount, id = account.id): string | undefined {
  const read = storedAccount(account, id);
  return typeof read === "string" ? unusable(id, read) : undefined;
}

/**
 * Reading accounts to use them: a missing one is 404, one that does not read back is 500 naming it (never used),
 * and the rest as they read back, defaults in. The cache hands out one frozen object per read, so each is checked
 * and read once.
 */
export function accountReader(store: ResourceStore<AwsAccount>) {
  /** The account as it reads back, or why it cannot be used. */
  const read = readOnce((account: AwsAccount, id: string): AwsAccount | string => {
    const found = storedAccount(account, id);
    return typeof found === "string" ? unusable(id, found) : found;
  });
  const find = async (id: string): Promise<AwsAccount> => {
    const account = await store.get(id);
    if (!account) throw new HttpError(404, `AwsAccount/${id} not found`);
    const found = read(account, id);
    if (typeof found === "string") throw new HttpError(500, found);
    return found;
  };
  return { find, read };
}

export type AccountReader = ReturnType<typeof accountReader>;
