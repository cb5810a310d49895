// Client resources: callers other than the admin, each with a secret (kept only as a hash) and a policy that
// grants operations on accounts, buckets and key prefixes. Deny by default.
import { HttpError } from "./errors.ts";
import { MAX_EXPIRATION } from "./validate.ts";

export const OPERATIONS = ["upload", "download", "delete", "manage-accounts", "manage-clients", "use-default-credentials", "assume-role"] as const;
export type Operation = (typeof OPERATIONS)[number];
/** The operations a URL can carry out on an object. */
export type ObjectOperation = "upload" | "download" | "delete";

export interface Policy {
  operations: Operation[];
  /** Account ids, or "*" for any. */
  accounts: string[];
  /** Bucket names, or "*" for any. */
  buckets: string[];
  /** Key prefixes; `{client}` stands for the caller's id. Absent: any key. */
  prefixes?: string[];
  /** The longest URL lifetime this client may ask for, in seconds. */
  "max-expiration"?: number;
}

export interface Client {
  resourceType: "Client";
  id: string;
  description?: string;
  policy: Policy;
  /** SHA-256 (hex) of the secret; the secret itself is shown once and never stored. */
  "secret-hash": string;
  meta: { versionId: string; lastUpdated: string };
}

export type ClientInput = Pick<Client, "policy"> & { description?: string };

function invalid(message: string): never {
  throw new HttpError(400, `Client: ${message}`);
}

function stringList(value: unknown, name: string, pattern: RegExp, rule: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 100) invalid(`policy.${name} must be a list of 1 to 100 entries`);
  for (const entry of value) {
    if (typeof entry !== "string" || !pattern.test(entry)) invalid(`policy.${name}: ${rule}`);
  }
  return [...new Set(value as string[])];
}

const FIELDS = new Set(["resourceType", "id", "meta", "description", "policy", "secret"]);
const POLICY_FIELDS = new Set(["operations", "accounts", "buckets", "prefixes", "max-expiration"]);

/** Ids no client may have: the admin's own name. */
const RESERVED_IDS = /^admin$/i;

/** Checks a PUT /Client body. A `secret` may not be sent: signpost makes secrets. */
export function parseClient(body: unknown, id: string): ClientInput {
  if (RESERVED_IDS.test(id)) invalid(`the id ${JSON.stringify(id)} is reserved for the admin`);
  if (typeof body !== "object" || body === null || Array.isArray(body)) invalid("the body must be an object");
  const record = body as Record<string, unknown>;
  const unknown = Object.keys(record).filter((name) => !FIELDS.has(name));
  if (unknown.length > 0) invalid(`unknown field: ${JSON.stringify(unknown[0])}`);
  if (record.resourceType !== undefined && record.resourceType !== "Client") invalid("resourceType must be Client");
  if (record.id !== undefined && record.id !== id) invalid("id in the body must match the id in the URL");
  if (record.secret !== undefined) invalid("secret cannot be set: signpost generates it (POST /Client/<id>/$rotate-secret for a new one)");
  if (record.description !== undefined && (typeof record.description !== "string" || record.description.length > 500)) {
    invalid("description must be a string of at most 500 characters");
  }
  const policy = record.policy as Record<string, unknown> | undefined;
  if (typeof policy !== "object" || policy === null || Array.isArray(policy)) invalid("policy is required and must be an object");
  const unknownPolicy = Object.keys(policy).filter((name) => !POLICY_FIELDS.has(name));
  if (unknownPolicy.length > 0) invalid(`unknown policy field: ${JSON.stringify(unknownPolicy[0])}`);

  const operations = stringList(policy.operations, "operations", /^[a-z-]+$/, `each must be one of ${OPERATIONS.join(", ")}`);
  for (const operation of operations) {
    if (!(OPERATIONS as readonly string[]).includes(operation)) invalid(`policy.operations: each must be one of ${OPERATIONS.join(", ")}`);
  }
  const parsed: Policy = {
    operations: operations as Operation[],
    accounts: stringList(policy.accounts ?? ["*"], "accounts", /^(\*|[A-Za-z0-9.-]{1,64})$/, 'each must be an account id or "*"'),
    buckets: stringList(policy.buckets ?? ["*"], "buckets", /^(\*|[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/, 'each must be a bucket name or "*"'),
  };
  if (policy.prefixes !== undefined) {
    parsed.prefixes = stringList(policy.prefixes, "prefixes", /^[^\u0000-\u001f\u007f]{1,512}$/, "each must be 1 to 512 characters without control characters");
    // users/{client} would let client app1 into users/app10/: the id must be a whole path segment.
    const open = parsed.prefixes.find((prefix) => /\{client\}(?!\/)/.test(prefix));
    if (open !== undefined) invalid(`policy.prefixes: {client} must be followed by '/' (${JSON.stringify(open)} would also match longer ids: write ${JSON.stringify(open.replace(/\{client\}(?!\/)/g, "{client}/"))})`);
  }
  const max = policy["max-expiration"];
  if (max !== undefined) {
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > MAX_EXPIRATION) {
      invalid(`policy.max-expiration must be a whole number from 1 to ${MAX_EXPIRATION}`);
    }
    parsed["max-expiration"] = max;
  }
  return { policy: parsed, ...(typeof record.description === "string" ? { description: record.description } : {}) };
}

/** A stored Client as read back, checked like a new one; a reason instead when it is not one (never a grant). */
export function storedClient(value: unknown, id: string): Client | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "it is not an object";
  const record = value as Record<string, unknown>;
  if (record.resourceType !== "Client" || record.id !== id) return "its resourceType or id is wrong";
  if (typeof record["secret-hash"] !== "string" || !/^[0-9a-f]{64}$/.test(record["secret-hash"])) return "its secret-hash is not a SHA-256";
  const meta = record.meta as Record<string, unknown> | undefined;
  if (typeof meta?.versionId !== "string" || typeof meta.lastUpdated !== "string") return "its meta is missing";
  try {
    parseClient({ policy: record.policy, description: record.description }, id);
  } catch (error) {
    return error instanceof HttpError ? error.message.replace(/^Client: /, "") : "it cannot be read";
  }
  return value as Client;
}

export function publicClient(client: Client): Omit<Client, "secret-hash"> {
  const { "secret-hash": _hash, ...visible } = client;
  return visible;
}

/** A new secret: `<client id>~<256 random bits>`; the id part lets a bare bearer secret find its client. */
export function newSecret(id: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `${id}~${btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/** The client id a secret names, if it has the shape signpost gives secrets. */
export function clientIdOf(secret: string): string | undefined {
  const match = /^([A-Za-z0-9.-]{1,64})~[A-Za-z0-9_-]{43}$/.exec(secret);
  return match?.[1];
}

/** Who is calling. The admin is marked as such: a client is never the admin, whatever its record holds. */
export type Caller =
  | { readonly admin: true; readonly id: "admin" }
  | { readonly admin: false; readonly id: string; readonly policy: Policy };

export const ADMIN: Caller = Object.freeze({ admin: true, id: "admin" });

/** How logs and messages name a caller: `admin`, or `Client/<id>` (so no client id can read as the admin). */
export const callerName = (caller: Caller): string => (caller.admin ? "admin" : `Client/${caller.id}`);

/** The policy as it applies to client `id`: `{client}` in prefixes replaced by the id. */
export function effectivePolicy(policy: Policy, id: string): Policy {
  if (!policy.prefixes?.some((prefix) => prefix.includes("{client}"))) return policy;
  return { ...policy, prefixes: policy.prefixes.map((prefix) => prefix.replaceAll("{client}", id)) };
}

const refuse = (what: string): never => {
  throw new HttpError(403, `this client may not ${what}`);
};

export function requireOperation(caller: Caller, operation: Operation): void {
  if (!caller.admin && !caller.policy.operations.includes(operation)) refuse(operation.replaceAll("-", " "));
}

/** A client that manages accounts does so only for the accounts its policy names. */
export function requireAccount(caller: Caller, accountId: string): void {
  if (!caller.admin && !caller.policy.accounts.includes("*") && !caller.policy.accounts.includes(accountId)) refuse(`use AwsAccount/${accountId}`);
}

export interface PresignGrant {
  /** The lifetime to ask for, in seconds. */
  expiration: number;
  /** The (filled) prefix that allows the key, the longest when several do; undefined when the policy has none. */
  prefix?: string;
}

/** Checks one presign request against the caller's policy (templates filled in). */
export function authorizePresign(
  caller: Caller,
  request: { operation: ObjectOperation; account: string; bucket: string; key: string; expiration: number | undefined },
  fallbackExpiration: number,
): PresignGrant {
  if (caller.admin) return { expiration: request.expiration ?? fallbackExpiration };
  requireOperation(caller, request.operation);
  requireAccount(caller, request.account);
  const policy = effectivePolicy(caller.policy, caller.id);
  if (!policy.buckets.includes("*") && !policy.buckets.includes(request.bucket)) refuse(`use bucket ${request.bucket}`);
  let prefix: string | undefined;
  if (policy.prefixes) {
    for (const candidate of policy.prefixes) {
      if (request.key.startsWith(candidate) && (prefix === undefined || candidate.length > prefix.length)) prefix = candidate;
    }
    if (prefix === undefined) refuse(`${request.operation} this key (allowed prefixes: ${policy.prefixes.join(", ")})`);
  }
  const max = policy["max-expiration"];
  if (max !== undefined && request.expiration !== undefined && request.expiration > max) refuse(`ask for expiration over ${max} seconds`);
  const expiration = request.expiration ?? (max === undefined ? fallbackExpiration : Math.min(fallbackExpiration, max));
  return prefix === undefined ? { expiration } : { expiration, prefix };
}

/**
 * Is every grant of `inner` also granted by `outer`? Both must have their templates filled in (each with its own
 * client's id): `users/{client}/` means `users/mgr/` for the manager and `users/bob/` for bob, and those differ.
 */
export function policyWithin(inner: Policy, outer: Policy): boolean {
  const listWithin = (a: string[], b: string[]) => b.includes("*") || (!a.includes("*") && a.every((x) => b.includes(x)));
  const prefixesWithin = !outer.prefixes || (!!inner.prefixes && inner.prefixes.every((p) => outer.prefixes!.some((q) => p.startsWith(q))));
  const maxWithin = outer["max-expiration"] === undefined || (inner["max-expiration"] ?? Infinity) <= outer["max-expiration"];
  return (
    inner.operations.every((operation) => outer.operations.includes(operation)) &&
    listWithin(inner.accounts, outer.accounts) &&
    listWithin(inner.buckets, outer.buckets) &&
    prefixesWithin &&
    maxWithin
  );
}

/** May `caller` hold, create or change a client `id` with `policy`? Only when it grants no more than the caller has. */
export const isWithin = (caller: Caller, id: string, policy: Policy): boolean =>
  caller.admin || policyWithin(effectivePolicy(policy, id), effectivePolicy(caller.policy, caller.id));

export function requireWithin(caller: Caller, id: string, policy: Policy): void {
  if (!isWithin(caller, id, policy)) refuse(`manage Client/${id}: it would hold more than this client's own policy grants`);
}
