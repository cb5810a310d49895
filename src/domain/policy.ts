// Who may do what: the Caller (the admin, or a client with its policy), the checks of a request against a policy,
// and the "within" rule by which a manager hands out no more than it holds. Deny by default.
import { HttpError } from "../errors.ts";
import { typesWithin } from "./upload-limits.ts";

export const OPERATIONS = [
  "upload", "download", "delete", "manage-accounts", "manage-clients", "manage-introspectors", "use-default-credentials", "assume-role",
] as const;
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
  /** The most bytes one upload may store: every upload URL declares its size, signed (upload-limits.ts). */
  "max-size"?: number;
  /** The content types uploads must pin one of (`image/*` for any image), and downloads may be served as. */
  "content-types"?: string[];
}

/**
 * Who is calling. The admin is marked as such: a client is never the admin, whatever its record holds. A caller
 * with a `name` is an end user with a token (`jwt:<introspector>:<sub>`), its policy already filled from the claims.
 */
export type Caller =
  | { readonly admin: true; readonly id: "admin" }
  | { readonly admin: false; readonly id: string; readonly policy: Policy; readonly name?: string };

export const ADMIN: Caller = Object.freeze({ admin: true, id: "admin" });

/** How logs and messages name a caller: `admin`, `Client/<id>` (so no client id can read as the admin), or a token's name. */
export const callerName = (caller: Caller): string => (caller.admin ? "admin" : caller.name ?? `Client/${caller.id}`);

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

// A token's policy is filled in already, from its claims: a claim that reads "{client}" is a folder name.
const filledPolicy = (caller: Caller & { admin: false }): Policy => (caller.name ? caller.policy : effectivePolicy(caller.policy, caller.id));

/** The key prefixes the caller is held to, templates filled in; undefined when it may use any key. */
export const callerPrefixes = (caller: Caller): readonly string[] | undefined => (caller.admin ? undefined : filledPolicy(caller).prefixes);

/** Checks one presign request against the caller's policy (templates filled in). */
export function authorizePresign(
  caller: Caller,
  request: { operation: ObjectOperation; account: string; bucket: string; key: string; expiration: number | undefined },
  fallbackExpiration: number,
): PresignGrant {
  if (caller.admin) return { expiration: request.expiration ?? fallbackExpiration };
  requireOperation(caller, request.operation);
  requireAccount(caller, request.account);
  const policy = filledPolicy(caller);
  requireBucket(caller, request.bucket);
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
  const sizeWithin = outer["max-size"] === undefined || (inner["max-size"] ?? Infinity) <= outer["max-size"];
  const typesAllowed = !outer["content-types"] || (!!inner["content-types"] && typesWithin(inner["content-types"], outer["content-types"]));
  return (
    inner.operations.every((operation) => outer.operations.includes(operation)) &&
    listWithin(inner.accounts, outer.accounts) &&
    listWithin(inner.buckets, outer.buckets) &&
    prefixesWithin &&
    maxWithin &&
    sizeWithin &&
    typesAllowed
  );
}

/** May `caller` hold, create or change a client `id` with `policy`? Only when it grants no more than the caller has. */
export const isWithin = (caller: Caller, id: string, policy: Policy): boolean =>
  caller.admin || policyWithin(effectivePolicy(policy, id), effectivePolicy(caller.policy, caller.id));

export function requireWithin(caller: Caller, id: string, policy: Policy, resource = `Client/${id}`): void {
  if (!isWithin(caller, id, policy)) refuse(`manage ${resource}: it would hold more than this client's own policy grants`);
}

/**
 * What an account asks of the one who writes it: signing with signpost's own identity, or assuming roles, are
 * grants of their own; pointing signpost's identity at a host, and trusting every client, are the admin's call.
 */
export function requireAccountGrants(caller: Caller, account: { "access-key-id"?: string; host?: string; "role-arn"?: string; "single-tenant"?: true }): void {
  if (account["access-key-id"] === undefined) requireOperation(caller, "use-default-credentials");
  // A host such as payroll.s3.us-east-1.amazonaws.com would make every key of this account a key in another bucket.
  if (account["access-key-id"] === undefined && account.host !== undefined && !caller.admin) {
    throw new HttpError(403, "only the admin may give an account without keys a host: it would send signpost's own identity there");
  }
  if (account["role-arn"] !== undefined) requireOperation(caller, "assume-role");
  if (account["single-tenant"] && !caller.admin) throw new HttpError(403, "only the admin may set single-tenant");
}

/**
 * What decides where an account's keys sign, and as whom: every field but the keys and single-tenant (which only the
 * admin may set, and taking it away only narrows what clients get).
 */
const SIGNING_FIELDS = ["region", "host", "path-style", "use-ssl", "role-arn", "external-id", "role-session-name", "duration-seconds"] as const;
type SigningSetup = { [field in (typeof SIGNING_FIELDS)[number]]?: string | number | boolean };

/**
 * A PATCH that keeps the stored keys (the caller did not give them) changes nothing of how they sign, unless the
 * admin sends it. Moved to host payroll.s3.us-east-1.amazonaws.com, path style, the admin's keys would sign into
 * bucket payroll for a manager whose policy names another; with the role dropped, they would sign as themselves,
 * for every bucket they reach; with another role, as that role, sending the hidden external-id along.
 */
export function requireKeptKeysStay(caller: Caller, stored: SigningSetup, patched: SigningSetup, externalIdGiven: boolean): void {
  // An external-id given counts as a change even when it equals the stored one: an answer that told which would let
  // a manager confirm guesses at an id it is never shown.
  const changed = SIGNING_FIELDS.filter((field) => stored[field] !== patched[field] || (field === "external-id" && externalIdGiven));
  if (changed.length > 0 && !caller.admin) {
    throw new HttpError(403, `only the admin may change an account while keeping its keys (${changed.join(", ")} changed): give the keys again (access-key-id and secret-access-key) to change it`);
  }
}

// What decides who sends a role's external-id, to which role and STS endpoint (roles.ts), and the session it asks
// for (its name shows in the role owner's CloudTrail, and conditions may test it).
const ROLE_CALL_FIELDS = ["access-key-id", "role-arn", "region", "host", "use-ssl", "role-session-name", "duration-seconds"] as const;
type RoleCall = { [field in (typeof ROLE_CALL_FIELDS)[number]]?: string | number | boolean };

/**
 * A PATCH that keeps a stored external-id (the caller did not give it, and clients never see it) sends it nowhere it
 * was not sent before, nor for another session, unless the admin sends it: with other keys, signpost would send it
 * to STS as someone else (in whose CloudTrail it shows); with another host, to a server the caller runs; with
 * another role, to that role's owner. `newSecret`: the PATCH gives a secret, so the keys are not the stored ones
 * even under the same key id.
 */
export function requireKeptExternalIdStays(caller: Caller, stored: RoleCall, patched: RoleCall, newSecret: boolean): void {
  if (caller.admin) return;
  const changed: string[] = ROLE_CALL_FIELDS.filter((field) => stored[field] !== patched[field]);
  if (newSecret && !changed.includes("access-key-id")) changed.push("secret-access-key");
  if (changed.length > 0) {
    throw new HttpError(403, `only the admin may change who assumes an account's role, or where, while keeping its external-id (${changed.join(", ")} changed): give external-id again (or null to drop it) to change it`);
  }
}

/** May `caller` use `bucket` at all (the account checks read it with the account's credentials)? */
export function requireBucket(caller: Caller, bucket: string): void {
  if (!caller.admin && !caller.policy.buckets.includes("*") && !caller.policy.buckets.includes(bucket)) refuse(`use bucket ${bucket}`);
}
