// The service, on Web-standard Request/Response only: every runtime adapter builds it with its own parts.
import { type Context } from "hono";
import { Hono } from "hono/tiny";
import { cors } from "hono/cors";
import { type AwsAccount, type AwsAccountInput, parseAwsAccount, publicView, storedAccount } from "./account.ts";
import { createAuthenticator, presentedIdentity, sha256Hex } from "./auth.ts";
import { backendChecks } from "./backend-check.ts";
import {
  authorizePresign, type Caller, callerName, type Client, isWithin, newSecret, type ObjectOperation, parseClient, publicClient, requireAccount,
  requireOperation, requireWithin, storedClient,
} from "./clients.ts";
import { answerFormat, MAX_BODY_BYTES, mergePatch, objectBody, readBody, render } from "./body.ts";
import { urlLifetime } from "./credentials/lifetime.ts";
import type { CredentialProvider } from "./credentials/provider.ts";
import type { RoleCredentials } from "./credentials/roles.ts";
import { HttpError, operationOutcome } from "./errors.ts";
import { s3Client } from "./s3client.ts";
import { objectLocation } from "./s3url.ts";
import { postPolicy } from "./post-policy.ts";
import type { Sealer } from "./seal.ts";
import type { HeaderSigner, Presigner, PresignRequest } from "./signer.ts";
import { createSigning } from "./signing.ts";
import type { AccountStore, ResourceStore } from "./store/store.ts";
import { verifyAccount } from "./verify.ts";
import { leaf } from "./xml.ts";
import {
  checkBucket, checkContentType, checkId, checkKey, contentDisposition, DEFAULT_EXPIRATION, parseExpiration,
} from "./validate.ts";

export interface AppConfig {
  /** The token every route but /health requires; when unset, those routes answer 503 (fail closed). */
  adminToken: string | undefined;
  maxBodyBytes?: number;
  /** Browser origins allowed by CORS (`*` for any); none by default. */
  corsOrigins?: string[];
}

export type LogEntry = Record<string, string | number | boolean | undefined>;

export interface AppDeps {
  store: AccountStore;
  clients: ResourceStore<Client>;
  /** Seals secret-access-key at rest; unseals it only to sign. */
  sealer: Sealer;
  /** Credentials for accounts without access-key-id (the default chain). */
  credentials: CredentialProvider;
  /** STS AssumeRole for accounts with role-arn; without it such accounts answer 503. */
  roles?: RoleCredentials;
  presigner: Presigner & HeaderSigner;
  config: AppConfig;
  /** HTTP client for the S3 calls signpost makes itself (multipart uploads, back-end checks); default the global fetch. */
  fetch?: typeof fetch;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** One call per request, per audited action and per unexpected error; never secrets or signed URLs. */
  log?: (entry: LogEntry) => void;
}

const STORAGE_PREFIX = "/aws/storage/";

/** The raw (still percent-encoded) path of a request URL, without query or fragment. */
function rawPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const end = url.search(/[?#]/);
  return url.slice(start, end === -1 ? undefined : end);
}

function decodeSegment(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment); // unlike form decoding, '+' stays a plus
  } catch {
    throw new HttpError(400, `${what} has invalid percent-encoding`);
  }
}

/**
 * `/aws/storage/<account>/<bucket>/<key...>`: account and bucket decoded on their own; the key decoded in one pass,
 * which equals decoding each segment (an escape never spans a '/'), with empty segments kept.
 */
export function storagePath(url: string): { accountId: string; bucket: string; key: string | undefined } {
  const path = rawPath(url).slice(STORAGE_PREFIX.length);
  const accountEnd = path.indexOf("/");
  const bucketEnd = accountEnd === -1 ? -1 : path.indexOf("/", accountEnd + 1);
  const account = accountEnd === -1 ? path : path.slice(0, accountEnd);
  const bucket = accountEnd === -1 ? "" : path.slice(accountEnd + 1, bucketEnd === -1 ? undefined : bucketEnd);
  return {
    accountId: checkId(decodeSegment(account, "account id"), "account id"),
    bucket: checkBucket(decodeSegment(bucket, "bucket name")),
    // undefined: nothing after the bucket at all; "": a trailing slash (an empty key)
    key: bucketEnd === -1 ? undefined : decodeSegment(path.slice(bucketEnd + 1), "object key"),
  };
}

/**
 * `ms` as toISOString gives it, with the part up to the seconds reused within a second: the request log and the
 * audit line each want a timestamp, and toISOString costs more than a microsecond.
 */
export function isoClock(): (ms: number) => string {
  let second = NaN;
  let upToSeconds = "";
  return (time) => {
    const ms = Math.trunc(time); // as Date does with a fractional time value
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      upToSeconds = new Date(s * 1000).toISOString().slice(0, -4); // "2026-11-28T04:03:46."
    }
    return `${upToSeconds}${String(ms - s * 1000).padStart(3, "0")}Z`;
  };
}

/** An answer's body with when its URLs expire; assigned in place, as this is on every presign's path. */
function withExpiry(body: Record<string, unknown>, expires: string, capped: boolean): Record<string, unknown> {
  body["expires-at"] = expires;
  if (capped) body["expiry-capped"] = true;
  return body;
}

export type App = Hono<{ Variables: { caller: Caller; query: Record<string, string[]>; refusal: string } }>;

export function createApp(deps: AppDeps): App {
  const { store, clients, sealer, presigner, config } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.log ?? (() => {});
  const iso = isoClock();
  const expiryIso = isoClock(); // its own: expiry times are a day or so away from the log's
  const bodyLimit = config.maxBodyBytes ?? MAX_BODY_BYTES;
  const authenticate = createAuthenticator(config.adminToken, clients);
  const s3 = s3Client({ signer: presigner, ...(deps.fetch ? { fetch: deps.fetch } : {}), now });
  const checks = backendChecks({ s3, presigner, ...(deps.fetch ? { fetch: deps.fetch } : {}), now });
  const signing = createSigning({ sealer, credentials: deps.credentials, ...(deps.roles ? { roles: deps.roles } : {}), checks });
  const app: App = new Hono();

  const respond = (c: Context, body: unknown, status = 200, headers: Record<string, string> = {}) =>
    render(body, status, answerFormat(c.req.header("accept") ?? null), headers);

  const notAllowed = (allow: string, hint = "") => (c: Context) => {
    throw new HttpError(405, `${c.req.method} is not allowed here; allowed: ${allow}${hint}`, { allow });
  };

  /** One structured line per URL issued and per admin change: who did what to which resource. */
  const audit = (c: Context, entry: LogEntry) => log({ audit: true, time: iso(now()), who: callerName(c.get("caller")), ...entry });

  app.use(async (c, next) => {
    const started = now();
    await next();
    const entry: LogEntry = {
      time: iso(started),
      method: c.req.method,
      path: rawPath(c.req.url), // never the query: it may carry nothing secret today, but keep logs boring
      status: c.res.status,
      ms: now() - started,
    };
    // Refusals name who asked (the client id a secret names, never the secret) and why.
    if (c.res.status === 401 || c.res.status === 403) {
      const caller = c.get("caller");
      entry.who = caller ? callerName(caller) : presentedIdentity(c.req.header("authorization") ?? null);
      entry.refused = c.get("refusal");
    }
    log(entry);
  });

  if (config.corsOrigins?.length) {
    const origins = config.corsOrigins;
    app.use(cors({
      origin: origins.includes("*") ? "*" : origins,
      allowMethods: ["GET", "PUT", "POST", "DELETE"],
      allowHeaders: ["Authorization", "Content-Type", "Accept"],
      exposeHeaders: ["Location", "ETag", "Signpost-Expiry-Capped"],
      maxAge: 600,
    }));
  }

  app.onError((error, c) => {
    if (error instanceof HttpError) {
      if (error.status === 401 || error.status === 403) c.set("refusal", error.message.slice(0, 300));
      return respond(c, operationOutcome(error.status, error.message), error.status, error.headers);
    }
    log({ level: "error", message: "unexpected error", error: String(error).slice(0, 300), path: rawPath(c.req.url) });
    return respond(c, operationOutcome(500, "internal error"), 500);
  });

  app.notFound((c) => respond(c, operationOutcome(404, `no route for ${c.req.method} ${rawPath(c.req.url)}`), 404));

  app.get("/health", (c) => respond(c, { status: "ok" }));

  app.use(async (c, next) => {
    c.set("caller", await authenticate(c.req.header("authorization") ?? null));
    await next();
  });

  /** `resource` if `version` is its current versionId; signpost keeps no older versions. */
  const currentVersion = <T extends { id: string; resourceType: string; meta: { versionId: string } }>(resource: T, version: string | undefined): T => {
    if (version === resource.meta.versionId) return resource;
    throw new HttpError(404, `${resource.resourceType}/${resource.id} version ${JSON.stringify(version)} is not kept: only the current one, ${resource.meta.versionId}`);
  };

  const meta = (previous: { meta: { versionId: string } } | null) => ({
    versionId: String(Number(previous?.meta.versionId ?? 0) + 1),
    lastUpdated: new Date(now()).toISOString(),
  });

  /** The query, parsed once per request (a lookup by name would parse it again). */
  const queryOf = (c: Context): Record<string, string[]> => {
    let query = c.get("query");
    if (query === undefined) {
      query = c.req.url.includes("?") ? c.req.queries() : {};
      c.set("query", query);
    }
    return query;
  };
  const queryValues = (c: Context, name: string): string[] => {
    const query = queryOf(c);
    return Object.hasOwn(query, name) ? query[name]! : [];
  };

  /** Refuses a query parameter this route does not take: a typo (`?expires=10`) must not go unnoticed. */
  const onlyQuery = (c: Context, allowed: readonly string[]) => {
    if (!c.req.url.includes("?")) return;
    const unknown = Object.keys(queryOf(c)).find((name) => !allowed.includes(name));
    if (unknown !== undefined) {
      throw new HttpError(400, `unknown query parameter ${JSON.stringify(unknown)}: ${allowed.length ? `this route takes ${allowed.join(", ")}` : "this route takes none"}`);
    }
  };

  /** A query parameter given at most once. */
  const param = (c: Context, name: string): string | undefined => {
    const values = queryValues(c, name);
    if (values.length > 1) throw new HttpError(400, `${name} must be given at most once`);
    return values[0];
  };

  /** A FHIR searchset Bundle: the resources that read back well, and an outcome entry for each one that did not. */
  const searchset = <T extends { id: string }>(resources: T[], view: (resource: T) => unknown, check: (resource: T) => string | undefined) => {
    const entry = resources.map((resource) => {
      const problem = check(resource);
      if (problem === undefined) return { resource: view(resource) };
      return { search: { mode: "outcome" }, resource: operationOutcome(500, problem) };
    });
    return { resourceType: "Bundle", type: "searchset", total: entry.filter((e) => !e.search).length, entry };
  };

  // Stored records are checked when read; the cache hands out one frozen object per read, so each is checked once.
  const checkedAccounts = new WeakSet<AwsAccount>();
  const accountProblem = (account: AwsAccount, id = account.id): string | undefined => {
    if (checkedAccounts.has(account)) return undefined;
    const problem = storedAccount(account, id);
    if (typeof problem === "string") return `AwsAccount/${id} is stored in a form signpost cannot use (${problem}): replace it with PUT /AwsAccount/${id}`;
    if (Object.isFrozen(account)) checkedAccounts.add(account);
    return undefined;
  };

  // --- AwsAccount -----------------------------------------------------------------------------

  /** Signing with signpost's own identity, or assuming roles, are grants of their own; trusting every client is the admin's call. */
  const requireAccountGrants = (caller: Caller, input: AwsAccountInput) => {
    if (input["access-key-id"] === undefined) requireOperation(caller, "use-default-credentials");
    // signpost's own identity signs only for AWS's own endpoints unless the admin says otherwise: a host such as
    // payroll.s3.us-east-1.amazonaws.com would make every key of this account a key in another bucket.
    if (input["access-key-id"] === undefined && input.host !== undefined && !caller.admin) {
      throw new HttpError(403, "only the admin may give an account without keys a host: it would send signpost's own identity there");
    }
    if (input["role-arn"] !== undefined) requireOperation(caller, "assume-role");
    if (input["single-tenant"] && !caller.admin) throw new HttpError(403, "only the admin may set single-tenant");
  };

  const findAccount = async (id: string): Promise<AwsAccount> => {
    const account = await store.get(id);
    if (!account) throw new HttpError(404, `AwsAccount/${id} not found`);
    const problem = accountProblem(account, id);
    if (problem) throw new HttpError(500, problem);
    return account;
  };

  for (const path of ["/AwsAccount", "/AwsAccount/*"]) {
    app.use(path, async (c, next) => {
      requireOperation(c.get("caller"), "manage-accounts");
      onlyQuery(c, c.req.path.endsWith("/$verify") ? ["bucket"] : []);
      await next();
    });
  }
  for (const path of ["/Client", "/Client/*"]) {
    app.use(path, async (c, next) => {
      onlyQuery(c, []);
      await next();
    });
  }
  /** The account id of the path, which the caller must be allowed to manage. */
  const managedAccountId = (c: Context) => {
    const id = checkId(c.req.param("id")!);
    requireAccount(c.get("caller"), id);
    return id;
  };
  const accountView = (c: Context) => (account: AwsAccount) => publicView(account, c.get("caller").admin);

  app.get("/AwsAccount", async (c) => {
    const caller = c.get("caller");
    const visible = caller.admin || caller.policy.accounts.includes("*") ? await store.list() : (await store.list()).filter((account) => caller.policy.accounts.includes(account.id));
    return respond(c, searchset(visible, accountView(c), (account) => accountProblem(account)));
  });
  app.all("/AwsAccount", notAllowed("GET"));

  app.get("/AwsAccount/:id", async (c) => respond(c, accountView(c)(await findAccount(managedAccountId(c)))));
  // Where Location points after a create: the version it names, while it is the current one (no history is kept).
  app.get("/AwsAccount/:id/_history/:version", async (c) => respond(c, accountView(c)(currentVersion(await findAccount(managedAccountId(c)), c.req.param("version")))));

  app.put("/AwsAccount/:id", async (c) => {
    const id = managedAccountId(c);
    const caller = c.get("caller");
    const input = parseAwsAccount(await readBody(c.req.raw, bodyLimit), id);
    requireAccountGrants(caller, input);
    const secret = input["secret-access-key"];
    if (secret !== undefined) input["secret-access-key"] = await sealer.seal(secret, `AwsAccount/${id}`);
    const { previous, current } = await store.put(id, (stored) => {
      // A PUT that leaves the keys out would quietly sign with signpost's own identity from now on.
      if (stored?.["access-key-id"] !== undefined && input["access-key-id"] === undefined) {
        throw new HttpError(400, `AwsAccount: this PUT has no access-key-id, so AwsAccount/${id} would sign with the default credentials instead of its keys; PATCH the fields that change (the keys stay), or send "access-key-id": null in a PATCH to drop them`);
      }
      return { resourceType: "AwsAccount", id, ...input, meta: meta(stored) };
    });
    audit(c, { action: previous ? "update" : "create", resource: `AwsAccount/${id}` });
    const headers: Record<string, string> = { etag: `W/"${current.meta.versionId}"` };
    if (!previous) headers.location = `/AwsAccount/${id}/_history/${current.meta.versionId}`;
    return respond(c, accountView(c)(current), previous ? 200 : 201, headers);
  });

  // JSON Merge Patch (RFC 7396): the fields given change, `null` removes one, the rest (the secret included) stays.
  app.patch("/AwsAccount/:id", async (c) => {
    const id = managedAccountId(c);
    const caller = c.get("caller");
    const patch = objectBody(await readBody(c.req.raw, bodyLimit), "AwsAccount");
    const stored = await findAccount(id);
    const { "secret-access-key": sealed, ...visible } = stored;
    const merged = mergePatch(visible, patch) as Record<string, unknown>;
    // The stored secret stays with its key id; a new key id needs its secret, and no key id means no secret.
    const keep = sealed !== undefined && !Object.hasOwn(patch, "secret-access-key") && merged["access-key-id"] !== undefined;
    if (keep && merged["access-key-id"] !== stored["access-key-id"]) throw new HttpError(400, "AwsAccount: a new access-key-id needs its secret-access-key");
    const input = parseAwsAccount(keep ? { ...merged, "secret-access-key": "kept" } : merged, id);
    requireAccountGrants(caller, input);
    input["secret-access-key"] = keep ? sealed : input["secret-access-key"] && (await sealer.seal(input["secret-access-key"], `AwsAccount/${id}`));
    if (input["secret-access-key"] === undefined) delete input["secret-access-key"];
    const { current } = await store.put(id, (now) => {
      if (now?.meta.versionId !== stored.meta.versionId) throw new HttpError(409, `AwsAccount/${id} changed while it was being patched: send the PATCH again`);
      return { resourceType: "AwsAccount", id, ...input, meta: meta(now) };
    });
    audit(c, { action: "patch", resource: `AwsAccount/${id}` });
    return respond(c, accountView(c)(current), 200, { etag: `W/"${current.meta.versionId}"` });
  });

  app.delete("/AwsAccount/:id", async (c) => {
    const id = managedAccountId(c);
    const deleted = await store.delete(id);
    if (!deleted) throw new HttpError(404, `AwsAccount/${id} not found`);
    audit(c, { action: "delete", resource: `AwsAccount/${id}` });
    return respond(c, accountView(c)(deleted));
  });
  app.all("/AwsAccount/:id", notAllowed("GET, PUT, PATCH, DELETE"));
  app.all("/AwsAccount/:id/_history/:version", notAllowed("GET"));

  // Checks the account against a bucket: credentials, clock, what S3 does with unsigned headers, Object Lock, CORS.
  app.post("/AwsAccount/:id/$verify", async (c) => {
    const id = managedAccountId(c);
    const bucket = param(c, "bucket");
    if (bucket === undefined) throw new HttpError(400, "bucket is required: POST /AwsAccount/<id>/$verify?bucket=<bucket>");
    const caller = c.get("caller");
    // It reads the bucket with the account's credentials: only for buckets the caller could get URLs for.
    if (!caller.admin && !caller.policy.buckets.includes("*") && !caller.policy.buckets.includes(bucket)) throw new HttpError(403, `this client may not use bucket ${bucket}`);
    const account = await findAccount(id);
    const outcome = await verifyAccount({ account, bucket: checkBucket(bucket), signing, checks, s3, now });
    audit(c, { action: "verify", resource: `AwsAccount/${id}`, bucket });
    return respond(c, outcome, 200, { "cache-control": "no-store" });
  });
  app.all("/AwsAccount/:id/$verify", notAllowed("POST"));

  // --- Client ---------------------------------------------------------------------------------

  /**
   * A client manager manages only clients that hold no more than it does, templates filled in on both sides. The
   * target is judged as stored at the moment of the write (inside the store's atomic update), not on an earlier read.
   */
  const requireManageable = (caller: Caller, id: string, stored: Client | null) => {
    if (caller.admin || !stored) return;
    const client = storedClient(stored, id);
    if (typeof client === "string") throw new HttpError(403, `Client/${id} is stored in a form signpost cannot use (${client}): only the admin may change it`);
    requireWithin(caller, id, client.policy);
  };
  const clientProblem = (client: Client) => {
    const problem = storedClient(client, client.id);
    return typeof problem === "string" ? `Client/${client.id} is stored in a form signpost cannot use (${problem}): replace it with PUT /Client/${client.id}` : undefined;
  };
  const managedClientId = (c: Context) => {
    requireOperation(c.get("caller"), "manage-clients");
    return checkId(c.req.param("id")!);
  };
  const secretHashOf = (client: Client | null) => (client && /^[0-9a-f]{64}$/.test(String(client["secret-hash"])) ? client["secret-hash"] : undefined);

  app.get("/Client", async (c) => {
    const caller = c.get("caller");
    requireOperation(caller, "manage-clients");
    const manageable = (client: Client) => caller.admin || (typeof storedClient(client, client.id) !== "string" && isWithin(caller, client.id, client.policy));
    return respond(c, searchset((await clients.list()).filter(manageable), publicClient, clientProblem));
  });
  app.all("/Client", notAllowed("GET"));

  app.get("/Client/:id", async (c) => {
    const id = managedClientId(c);
    const client = await clients.get(id);
    if (!client) throw new HttpError(404, `Client/${id} not found`);
    requireManageable(c.get("caller"), id, client);
    const problem = clientProblem(client);
    if (problem) throw new HttpError(500, problem);
    return respond(c, publicClient(client));
  });

  app.get("/Client/:id/_history/:version", async (c) => {
    const id = managedClientId(c);
    const client = await clients.get(id);
    if (!client) throw new HttpError(404, `Client/${id} not found`);
    requireManageable(c.get("caller"), id, client);
    return respond(c, publicClient(currentVersion(client, c.req.param("version"))));
  });
  app.all("/Client/:id/_history/:version", notAllowed("GET"));

  app.put("/Client/:id", async (c) => {
    const id = managedClientId(c);
    const caller = c.get("caller");
    const input = parseClient(await readBody(c.req.raw, bodyLimit), id);
    requireWithin(caller, id, input.policy); // nor grant more than it holds
    const secret = newSecret(id);
    const secretHash = await sha256Hex(secret);
    let shown = false;
    const { previous, current } = await clients.put(id, (stored) => {
      requireManageable(caller, id, stored); // nor take over a client that holds more
      const kept = secretHashOf(stored);
      shown = kept === undefined;
      return { resourceType: "Client", id, ...input, "secret-hash": kept ?? secretHash, meta: meta(stored) };
    });
    audit(c, { action: previous ? "update" : "create", resource: `Client/${id}` });
    const headers: Record<string, string> = { etag: `W/"${current.meta.versionId}"`, "cache-control": "no-store" };
    if (!previous) headers.location = `/Client/${id}/_history/${current.meta.versionId}`;
    // The only time the secret is shown (or when a damaged record had none to keep): signpost keeps just its hash.
    return respond(c, shown ? { ...publicClient(current), secret } : publicClient(current), previous ? 200 : 201, headers);
  });

  app.patch("/Client/:id", async (c) => {
    const id = managedClientId(c);
    const caller = c.get("caller");
    const patch = objectBody(await readBody(c.req.raw, bodyLimit), "Client");
    const { current } = await clients.put(id, (stored) => {
      if (!stored) throw new HttpError(404, `Client/${id} not found`);
      requireManageable(caller, id, stored);
      const input = parseClient(mergePatch({ policy: stored.policy, ...(stored.description === undefined ? {} : { description: stored.description }) }, patch), id);
      requireWithin(caller, id, input.policy);
      return { resourceType: "Client", id, ...input, "secret-hash": stored["secret-hash"], meta: meta(stored) };
    });
    audit(c, { action: "patch", resource: `Client/${id}` });
    return respond(c, publicClient(current), 200, { etag: `W/"${current.meta.versionId}"`, "cache-control": "no-store" });
  });

  app.post("/Client/:id/$rotate-secret", async (c) => {
    const id = managedClientId(c);
    const caller = c.get("caller");
    const secret = newSecret(id);
    const secretHash = await sha256Hex(secret);
    const { current } = await clients.put(id, (stored) => {
      if (!stored) throw new HttpError(404, `Client/${id} not found`);
      requireManageable(caller, id, stored);
      return { ...stored, "secret-hash": secretHash, meta: meta(stored) };
    });
    audit(c, { action: "rotate-secret", resource: `Client/${id}` });
    return respond(c, { ...publicClient(current), secret }, 200, { "cache-control": "no-store" });
  });

  app.delete("/Client/:id", async (c) => {
    const id = managedClientId(c);
    const caller = c.get("caller");
    const deleted = await clients.delete(id, (stored) => requireManageable(caller, id, stored));
    if (!deleted) throw new HttpError(404, `Client/${id} not found`);
    audit(c, { action: "delete", resource: `Client/${id}` });
    return respond(c, publicClient(deleted));
  });
  app.all("/Client/:id", notAllowed("GET, PUT, PATCH, DELETE"));

  // --- Presigned URLs -------------------------------------------------------------------------

  const OPERATION_OF = { PUT: "upload", GET: "download", HEAD: "download", DELETE: "delete" } as const;

  /**
   * What a URL (or form) is for: to read or delete, to write (PUT and part URLs, which their holder can send with
   * headers of its own), a form (whose fields S3 holds to its policy), or an S3 call signpost makes itself (list,
   * complete, abort: no URL leaves signpost).
   */
  type Use = "url" | "write" | "form" | "call";

  /** Authorizes, finds the account and the credentials that sign, and fixes the signing time and lifetime. */
  const prepare = async (c: Context, operation: ObjectOperation, accountId: string, bucket: string, key: string, use: Use) => {
    const caller = c.get("caller");
    const asked = parseExpiration(queryValues(c, "expiration"));
    const grant = authorizePresign(caller, { operation, account: accountId, bucket, key, expiration: asked }, DEFAULT_EXPIRATION);
    const account = await findAccount(accountId);
    const credentials = use === "call" ? await signing.accountCredentials(account) : await signing.urlCredentials({ caller, account, bucket, grant, use });
    const date = new Date(now());
    // Never promise a URL a longer life than the credentials that sign it.
    const { expiresIn, expiresAt, capped } = urlLifetime(grant.expiration, credentials, date);
    const expires = expiryIso(expiresAt.getTime()).replace(".000Z", "Z");
    // A presigned URL is a bearer credential: keep it out of shared caches.
    const headers: Record<string, string> = { "cache-control": "no-store" };
    if (capped) headers["signpost-expiry-capped"] = "true";
    return { account, credentials, date, expiresIn, expires, capped, headers };
  };

  type Extra = Pick<PresignRequest, "query" | "headers"> & { redirect?: boolean };

  const presign = async (c: Context, method: keyof typeof OPERATION_OF, accountId: string, bucket: string, rawKey: unknown, extra: Extra = {}) => {
    const key = checkKey(rawKey);
    const operation = OPERATION_OF[method];
    const { account, credentials, date, expiresIn, expires, capped, headers } = await prepare(c, operation, accountId, bucket, key, method === "PUT" ? "write" : "url");
    const { protocol, host, path } = objectLocation(account, bucket, key);
    const url = await presigner.presign({ method, protocol, host, path, query: extra.query, headers: extra.headers, region: account.region, credentials, expiresIn, date });
    audit(c, { action: "presign", operation, "s3-method": method, account: accountId, bucket, key, "expires-in": expiresIn, "expires-at": expires, redirect: extra.redirect || undefined });
    if (extra.redirect) return new Response(null, { status: 302, headers: { ...headers, location: url } });
    return respond(c, withExpiry({ url }, expires, capped), 200, headers);
  };

  /** A JSON or YAML object body with no other fields than `allowed`. */
  const fieldsOf = async (c: Context, allowed: string[]): Promise<Record<string, unknown>> => {
    const body = await readBody(c.req.raw, bodyLimit);
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, `the body must be an object with ${allowed.join(", ")}`);
    const unknown = Object.keys(body).find((name) => !allowed.includes(name));
    if (unknown !== undefined) throw new HttpError(400, `unknown field: ${JSON.stringify(unknown)}; only ${allowed.join(", ")} are accepted`);
    return body as Record<string, unknown>;
  };

  app.post("/aws/storage/:account/:bucket", async (c) => {
    onlyQuery(c, ["expiration"]);
    const { accountId, bucket } = storagePath(c.req.url);
    const { filename, "content-type": type } = await fieldsOf(c, ["filename", "content-type"]);
    if (filename === undefined) throw new HttpError(400, "filename is required");
    const contentType = checkContentType(type);
    // Signed as a header: S3 refuses the upload unless it carries exactly this Content-Type.
    return presign(c, "PUT", accountId, bucket, filename, contentType ? { headers: { "content-type": contentType } } : {});
  });

  // --- Browser form uploads (SigV4 POST policy) and multipart uploads: POST /aws/storage/<account>/<bucket>/$<op>

  const MAX_PUT = 5 * 1024 ** 3; // the largest single PUT or POST S3 takes
  const wholeNumber = (value: unknown, name: string, max: number): number | undefined => {
    if (value !== undefined && (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max)) {
      throw new HttpError(400, `${name} must be a whole number from 0 to ${max}`);
    }
    return value as number | undefined;
  };
  const uploadIdOf = (value: unknown): string => {
    if (typeof value !== "string" || !/^[\x21-\x7e]{1,1024}$/.test(value)) throw new HttpError(400, "upload-id is required: the one $create-multipart answered");
    return value;
  };

  const operations: Record<string, (c: Context, accountId: string, bucket: string) => Promise<Response>> = {
    async "$post-policy"(c, accountId, bucket) {
      const body = await fieldsOf(c, ["filename", "prefix", "content-type", "min-size", "max-size"]);
      const { filename, prefix } = body;
      if ((filename === undefined) === (prefix === undefined)) throw new HttpError(400, "give either filename (the exact key) or prefix (keys starting with it)");
      const key = checkKey(filename ?? prefix);
      const contentType = checkContentType(body["content-type"]);
      const min = wholeNumber(body["min-size"], "min-size", MAX_PUT);
      const max = wholeNumber(body["max-size"], "max-size", MAX_PUT) ?? (min === undefined ? undefined : MAX_PUT);
      if (min !== undefined && max! < min) throw new HttpError(400, "max-size must not be less than min-size");
      const { account, credentials, date, expiresIn, expires, capped, headers } = await prepare(c, "upload", accountId, bucket, key, "form");
      const { url, fields } = await postPolicy(presigner, {
        account, bucket, key, prefix: filename === undefined, ...(contentType ? { contentType } : {}),
        ...(max !== undefined ? { size: { min: min ?? 0, max } } : {}), credentials, date, expiresIn,
      });
      audit(c, { action: "post-policy", operation: "upload", account: accountId, bucket, key, ...(filename === undefined ? { prefix: true } : {}), "max-size": max, "expires-in": expiresIn, "expires-at": expires });
      return respond(c, withExpiry({ url, fields }, expires, capped), 200, headers);
    },

    // Multipart uploads: signpost calls S3 for create, list, complete and abort; the parts go straight to S3.
    async "$create-multipart"(c, accountId, bucket) {
      const body = await fieldsOf(c, ["filename", "content-type"]);
      const key = checkKey(body.filename ?? "");
      const type = checkContentType(body["content-type"]);
      // A write: its credentials are the ones the part URLs will carry.
      const ctx = await prepare(c, "upload", accountId, bucket, key, "write");
      const xml = await s3.call({ account: ctx.account, credentials: ctx.credentials, bucket, key, what: "CreateMultipartUpload", method: "POST", query: { uploads: "" }, headers: type ? { "content-type": type } : {} });
      const uploadId = leaf(xml, "UploadId");
      if (!uploadId) throw new HttpError(502, "S3 CreateMultipartUpload: the answer has no UploadId");
      audit(c, { action: "create-multipart", operation: "upload", account: accountId, bucket, key });
      return respond(c, { filename: key, "upload-id": uploadId }, 200, ctx.headers);
    },

    async "$presign-parts"(c, accountId, bucket) {
      const { body, key, uploadId } = await multipartBody(c, "parts");
      const parts = body.parts;
      if (!Array.isArray(parts) || parts.length === 0 || parts.length > 1000 || new Set(parts).size !== parts.length || !parts.every((n) => wholeNumber(n, "each part number", 10000))) {
        throw new HttpError(400, "parts must be a list of 1 to 1000 different part numbers from 1 to 10000");
      }
      const { account, credentials, date, expiresIn, expires, capped, headers } = await prepare(c, "upload", accountId, bucket, key, "write");
      const { protocol, host, path } = objectLocation(account, bucket, key); // the same for every part
      const urls = [];
      for (const n of parts as number[]) {
        const query = { partNumber: String(n), uploadId };
        urls.push({ "part-number": n, url: await presigner.presign({ method: "PUT", protocol, host, path, query, region: account.region, credentials, expiresIn, date }) });
      }
      audit(c, { action: "presign-parts", operation: "upload", account: accountId, bucket, key, parts: parts.length, "expires-in": expiresIn, "expires-at": expires });
      return respond(c, withExpiry({ filename: key, "upload-id": uploadId, parts: urls }, expires, capped), 200, headers);
    },

    async "$list-parts"(c, accountId, bucket) {
      const { key, uploadId } = await multipartBody(c);
      const ctx = await prepare(c, "upload", accountId, bucket, key, "call");
      audit(c, { action: "list-parts", operation: "upload", account: accountId, bucket, key });
      return respond(c, { filename: key, "upload-id": uploadId, parts: await s3.listParts({ account: ctx.account, credentials: ctx.credentials, bucket, key }, uploadId) }, 200, ctx.headers);
    },

    async "$complete-multipart"(c, accountId, bucket) {
      const { body, key, uploadId } = await multipartBody(c, "parts");
      let parts: { "part-number": number; etag: string }[] | undefined;
      if (body.parts !== undefined) {
        const rule = "parts must be a list of 1 to 10000 {part-number, etag} with different part numbers from 1 to 10000 (or absent: every uploaded part)";
        if (!Array.isArray(body.parts) || body.parts.length === 0 || body.parts.length > 10000) throw new HttpError(400, rule);
        parts = body.parts.map((part: Record<string, unknown>) => {
          const n = part?.["part-number"];
          const etag = part?.etag;
          if (Object.keys(part ?? 0).length !== 2 || !wholeNumber(n, "part-number", 10000) || typeof etag !== "string" || !/^[\x20-\x7e]{1,200}$/.test(etag)) throw new HttpError(400, rule);
          return { "part-number": n as number, etag };
        });
        if (new Set(parts.map((part) => part["part-number"])).size !== parts.length) throw new HttpError(400, rule);
      }
      const ctx = await prepare(c, "upload", accountId, bucket, key, "call");
      parts ??= await s3.listParts({ account: ctx.account, credentials: ctx.credentials, bucket, key }, uploadId);
      if (parts.length === 0) throw new HttpError(400, "no part has been uploaded");
      const escape = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
      const xml = `<CompleteMultipartUpload>${parts
        .sort((a, b) => a["part-number"] - b["part-number"])
        .map((part) => `<Part><PartNumber>${part["part-number"]}</PartNumber><ETag>${escape(part.etag)}</ETag></Part>`)
        .join("")}</CompleteMultipartUpload>`;
      const answer = await s3.call({ account: ctx.account, credentials: ctx.credentials, bucket, key, what: "CompleteMultipartUpload", method: "POST", query: { uploadId }, body: xml, headers: { "content-type": "application/xml" } });
      audit(c, { action: "complete-multipart", operation: "upload", account: accountId, bucket, key, parts: parts.length });
      return respond(c, { filename: key, etag: leaf(answer, "ETag") || undefined }, 200, ctx.headers); // RGW 16 sends it empty
    },

    async "$abort-multipart"(c, accountId, bucket) {
      const { key, uploadId } = await multipartBody(c);
      const ctx = await prepare(c, "upload", accountId, bucket, key, "call");
      await s3.call({ account: ctx.account, credentials: ctx.credentials, bucket, key, what: "AbortMultipartUpload", method: "DELETE", query: { uploadId } });
      audit(c, { action: "abort-multipart", operation: "upload", account: accountId, bucket, key });
      return respond(c, { filename: key, "upload-id": uploadId, aborted: true }, 200, ctx.headers);
    },
  };

  /** filename and upload-id, checked, and the other fields allowed. */
  const multipartBody = async (c: Context, ...more: string[]) => {
    const body = await fieldsOf(c, ["filename", "upload-id", ...more]);
    return { body, key: checkKey(body.filename ?? ""), uploadId: uploadIdOf(body["upload-id"]) };
  };

  app.post("/aws/storage/:account/:bucket/*", (c) => {
    onlyQuery(c, ["expiration"]);
    const { accountId, bucket, key } = storagePath(c.req.url);
    const operation = Object.hasOwn(operations, key!) ? operations[key!] : undefined;
    if (!operation) throw new HttpError(405, `POST is allowed here only for ${Object.keys(operations).join(", ")}; objects take GET and DELETE`, { allow: "GET, DELETE, POST" });
    return operation(c, accountId, bucket);
  });

  const bucketOnly = notAllowed("POST", " (GET and DELETE take the object key after the bucket)");

  app.get("/aws/storage/:account/:bucket/*", (c) => {
    onlyQuery(c, ["expiration", "filename", "disposition", "content-type", "redirect", "method"]);
    const { accountId, bucket, key } = storagePath(c.req.url);
    if (key === undefined) return bucketOnly(c);
    const method = (param(c, "method") ?? "GET").toUpperCase();
    if (method !== "GET" && method !== "HEAD") throw new HttpError(400, "method must be GET or HEAD");
    const redirect = param(c, "redirect") ?? "false";
    if (redirect !== "true" && redirect !== "false") throw new HttpError(400, "redirect must be true or false");
    const filename = param(c, "filename");
    const disposition = param(c, "disposition");
    if (disposition !== undefined && disposition !== "attachment" && disposition !== "inline") throw new HttpError(400, "disposition must be attachment or inline");
    const type = checkContentType(param(c, "content-type"));
    // S3 answers with these headers when the URL carries them, signed (an unsigned one is refused).
    const query: Record<string, string> = {};
    if (filename !== undefined || disposition !== undefined) query["response-content-disposition"] = contentDisposition(filename, disposition);
    if (type !== undefined) query["response-content-type"] = type;
    return presign(c, method, accountId, bucket, key, { ...(filename ?? disposition ?? type ? { query } : {}), redirect: redirect === "true" });
  });
  app.delete("/aws/storage/:account/:bucket/*", (c) => {
    onlyQuery(c, ["expiration"]);
    const { accountId, bucket, key } = storagePath(c.req.url);
    return key === undefined ? bucketOnly(c) : presign(c, "DELETE", accountId, bucket, key);
  });
  app.all("/aws/storage/:account/:bucket", bucketOnly);
  app.all("/aws/storage/:account/:bucket/*", notAllowed("GET, DELETE"));

  return app;
}
