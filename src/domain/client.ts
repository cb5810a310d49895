// Client resources: callers other than the admin, each with a secret (kept only as a hash) and a policy (see
// policy.ts). What a client may send, what is stored, and what is shown.
import { HttpError } from "../errors.ts";
import { randomBase64Url } from "../crypto/encoding.ts";
import { invalidFor, objectFields, resourceHeader, wholeNumber } from "./fields.ts";
import { MAX_EXPIRATION } from "./presign.ts";
import { type Caller, OPERATIONS, type Operation, type Policy, requireWithin } from "./policy.ts";

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

const invalid: (message: string) => never = invalidFor("Client");

function stringList(value: unknown, name: string, pattern: RegExp, rule: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 100) invalid(`policy.${name} must be a list of 1 to 100 entries`);
  for (const entry of value) {
    if (typeof entry !== "string" || !pattern.test(entry)) invalid(`policy.${name}: ${rule}`);
  }
  return [...new Set(value as string[])];
}

const FIELDS = new Set(["resourceType", "id", "meta", "description", "policy"]);
const POLICY_FIELDS = new Set(["operations", "accounts", "buckets", "prefixes", "max-expiration"]);

/** Ids no client may have: the admin's own name. */
const RESERVED_IDS = /^admin$/i;

/** Checks a PUT /Client body. A `secret` may not be sent: signpost makes secrets. */
export function parseClient(body: unknown, id: string): ClientInput {
  if (RESERVED_IDS.test(id)) invalid(`the id ${JSON.stringify(id)} is reserved for the admin`);
  // A secret sent is a mistake worth its own message, not one more unknown field.
  if (objectFields(body, "Client").secret !== undefined) invalid("secret cannot be set: signpost generates it (POST /Client/<id>/$rotate-secret for a new one)");
  const record = objectFields(body, "Client", FIELDS);
  resourceHeader(record, "Client", id);
  if (record.description !== undefined && (typeof record.description !== "string" || record.description.length > 500)) {
    invalid("description must be a string of at most 500 characters");
  }
  if (typeof record.policy !== "object" || record.policy === null || Array.isArray(record.policy)) invalid("policy is required and must be an object");
  const policy = objectFields(record.policy, "Client policy", POLICY_FIELDS);

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
  const max = wholeNumber(policy["max-expiration"], "Client", "policy.max-expiration", 1, MAX_EXPIRATION);
  if (max !== undefined) parsed["max-expiration"] = max;
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
    return error instanceof HttpError ? error.message.replace(/^Client:? /, "") : "it cannot be read";
  }
  return value as Client;
}

export function publicClient(client: Client): Omit<Client, "secret-hash"> {
  const { "secret-hash": _hash, ...visible } = client;
  return visible;
}

/** A new secret: `<client id>~<256 random bits>`; the id part lets a bare bearer secret find its client. */
export function newSecret(id: string): string {
  return `${id}~${randomBase64Url(32)}`;
}

/** The client id a secret names, if it has the shape signpost gives secrets. */
export function clientIdOf(secret: string): string | undefined {
  const match = /^([A-Za-z0-9.-]{1,64})~[A-Za-z0-9_-]{43}$/.exec(secret);
  return match?.[1];
}

/**
 * A client manager manages only clients that hold no more than it does (templates filled in on both sides), and
 * a damaged record only the admin. Called on the client as stored at the moment of the write.
 */
export function requireManageable(caller: Caller, id: string, stored: Client | null): void {
  if (caller.admin || !stored) return;
  const client = storedClient(stored, id);
  if (typeof client === "string") throw new HttpError(403, `Client/${id} is stored in a form signpost cannot use (${client}): only the admin may change it`);
  requireWithin(caller, id, client.policy);
}

/** Why a stored client cannot be shown, or undefined. */
export function clientProblem(client: Client): string | undefined {
  const problem = storedClient(client, client.id);
  return typeof problem === "string" ? `Client/${client.id} is stored in a form signpost cannot use (${problem}): replace it with PUT /Client/${client.id}` : undefined;
}
