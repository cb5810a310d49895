// Client resources: callers other than the admin, each with a secret (kept only as a hash) and a policy (see
// policy.ts). What a client may send, what is stored, and what is shown.
import { HttpError } from "../errors.ts";
import { randomBase64Url } from "../crypto/encoding.ts";
import { readOnce } from "../store/store.ts";
import { invalidFor, objectFields, resourceHeader } from "./fields.ts";
import { type Caller, OPERATIONS, type Policy, requireWithin } from "./policy.ts";
import { parsePolicy, type PolicyRules } from "./policy-input.ts";

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

const FIELDS = new Set(["resourceType", "id", "meta", "description", "policy"]);
const POLICY_RULES: PolicyRules = { what: "Client", operations: OPERATIONS, placeholders: /\{client\}/g };

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
  return { policy: parsePolicy(record.policy, POLICY_RULES), ...(typeof record.description === "string" ? { description: record.description } : {}) };
}

/**
 * A stored Client as read back, checked like a new one, with its policy's defaults in (a record imported without
 * `policy.buckets` may use every bucket, as it reads); a reason instead when it is not one (never a grant).
 */
export function storedClient(value: unknown, id: string): Client | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "it is not an object";
  const record = value as Record<string, unknown>;
  if (record.resourceType !== "Client" || record.id !== id) return "its resourceType or id is wrong";
  if (typeof record["secret-hash"] !== "string" || !/^[0-9a-f]{64}$/.test(record["secret-hash"])) return "its secret-hash is not a SHA-256";
  const meta = record.meta as Record<string, unknown> | undefined;
  if (typeof meta?.versionId !== "string" || typeof meta.lastUpdated !== "string") return "its meta is missing";
  let input: ClientInput;
  try {
    input = parseClient({ policy: record.policy, description: record.description }, id);
  } catch (error) {
    return error instanceof HttpError ? error.message.replace(/^Client:? /, "") : "it cannot be read";
  }
  return { resourceType: "Client", id, ...input, "secret-hash": record["secret-hash"], meta: record.meta as Client["meta"] };
}

/**
 * storedClient once per frozen record (the cache hands out one per read), shared by everything that reads a stored
 * client: the authenticator, the answers, the manager checks.
 */
export const readClient = readOnce((client: Client, id: string) => storedClient(client, id));

/** A client without its secret's hash. */
export const withoutHash = ({ "secret-hash": _hash, ...visible }: Client): Omit<Client, "secret-hash"> => visible;

/** What answers show: the client as it reads back (as stored when it does not), never its secret's hash. */
export function publicClient(client: Client): Omit<Client, "secret-hash"> {
  const read = readClient(client, client.id);
  return withoutHash(typeof read === "string" ? client : read);
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
  const client = readClient(stored, id);
  if (typeof client === "string") throw new HttpError(403, `Client/${id} is stored in a form signpost cannot use (${client}): only the admin may change it`);
  requireWithin(caller, id, client.policy);
}

/** Why the stored Client/`id` cannot be shown, from storedClient's reason. */
export const unusableClient = (id: string, reason: string) => `Client/${id} is stored in a form signpost cannot use (${reason}): replace it with PUT /Client/${id}`;

/** Why a stored client cannot be shown, or undefined. */
export function clientProblem(client: Client): string | undefined {
  const read = readClient(client, client.id);
  return typeof read === "string" ? unusableClient(client.id, read) : undefined;
}
