// The service, on Web-standard Request/Response only: every runtime adapter builds it with its own parts.
import { Hono, type Context } from "hono";
import { type AwsAccount, parseAwsAccount, publicView } from "./account.ts";
import { requireBearer } from "./auth.ts";
import { MAX_BODY_BYTES, readBody, render, wantsYaml } from "./body.ts";
import { urlLifetime } from "./credentials/lifetime.ts";
import type { CredentialProvider } from "./credentials/provider.ts";
import type { RoleCredentials } from "./credentials/roles.ts";
import { HttpError, operationOutcome } from "./errors.ts";
import { objectLocation } from "./s3url.ts";
import type { Presigner } from "./signer.ts";
import type { AccountStore } from "./store/store.ts";
import { checkBucket, checkId, checkKey, parseExpiration } from "./validate.ts";

export interface AppConfig {
  /** The token every route but /health requires; when unset, those routes answer 503 (fail closed). */
  adminToken: string | undefined;
  maxBodyBytes?: number;
}

export type LogEntry = Record<string, string | number | boolean | undefined>;

export interface AppDeps {
  store: AccountStore;
  /** Credentials for accounts without access-key-id (the default chain). */
  credentials: CredentialProvider;
  /** STS AssumeRole for accounts with role-arn; without it such accounts answer 503. */
  roles?: RoleCredentials;
  presigner: Presigner;
  config: AppConfig;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** One call per request and per unexpected error; entries never hold secrets or signed URLs. */
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

/** `/aws/storage/<account>/<bucket>/<key...>`: each segment decoded on its own, empty segments kept. */
function storagePath(url: string): { accountId: string; bucket: string; key: string } {
  const [account = "", bucket = "", ...key] = rawPath(url).slice(STORAGE_PREFIX.length).split("/");
  return {
    accountId: checkId(decodeSegment(account, "account id"), "account id"),
    bucket: checkBucket(decodeSegment(bucket, "bucket name")),
    key: key.map((segment) => decodeSegment(segment, "object key")).join("/"),
  };
}

export function createApp(deps: AppDeps): Hono {
  const { store, presigner, config } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.log ?? (() => {});
  const bodyLimit = config.maxBodyBytes ?? MAX_BODY_BYTES;
  const app = new Hono();

  const respond = (c: Context, body: unknown, status = 200, headers: Record<string, string> = {}) =>
    render(body, status, wantsYaml(c.req.header("accept") ?? null), headers);

  const notAllowed = (allow: string, hint = "") => (c: Context) => {
    throw new HttpError(405, `${c.req.method} is not allowed here; allowed: ${allow}${hint}`, { allow });
  };

  app.use(async (c, next) => {
    const started = now();
    await next();
    log({
      time: new Date(started).toISOString(),
      method: c.req.method,
      path: rawPath(c.req.url), // never the query: it may carry nothing secret today, but keep logs boring
      status: c.res.status,
      ms: now() - started,
    });
  });

  app.onError((error, c) => {
    if (error instanceof HttpError) {
      return respond(c, operationOutcome(error.status, error.message), error.status, error.headers);
    }
    log({ level: "error", message: "unexpected error", error: String(error).slice(0, 300), path: rawPath(c.req.url) });
    return respond(c, operationOutcome(500, "internal error"), 500);
  });

  app.notFound((c) => respond(c, operationOutcome(404, `no route for ${c.req.method} ${rawPath(c.req.url)}`), 404));

  app.get("/health", (c) => respond(c, { status: "ok" }));

  app.use(async (c, next) => {
    if (!config.adminToken) throw new HttpError(503, "signpost is not configured: set SIGNPOST_ADMIN_TOKEN");
    requireBearer(c.req.header("authorization") ?? null, config.adminToken);
    await next();
  });

  // --- AwsAccount -----------------------------------------------------------------------------

  const findAccount = async (id: string): Promise<AwsAccount> => {
    const account = await store.get(id);
    if (!account) throw new HttpError(404, `AwsAccount/${id} not found`);
    return account;
  };

  app.get("/AwsAccount", async (c) => {
    const accounts = await store.list();
    return respond(c, {
      resourceType: "Bundle",
      type: "searchset",
      total: accounts.length,
      entry: accounts.map((account) => ({ resource: publicView(account) })),
    });
  });
  app.all("/AwsAccount", notAllowed("GET"));

  app.get("/AwsAccount/:id", async (c) => respond(c, publicView(await findAccount(checkId(c.req.param("id"))))));

  app.put("/AwsAccount/:id", async (c) => {
    const id = checkId(c.req.param("id"));
    const input = parseAwsAccount(await readBody(c.req.raw, bodyLimit), id);
    const { previous, current } = await store.put(id, (stored) => ({
      resourceType: "AwsAccount",
      id,
      ...input,
      meta: { versionId: String(Number(stored?.meta.versionId ?? 0) + 1), lastUpdated: new Date(now()).toISOString() },
    }));
    const headers: Record<string, string> = { etag: `W/"${current.meta.versionId}"` };
    if (!previous) headers.location = `/AwsAccount/${id}/_history/${current.meta.versionId}`;
    return respond(c, publicView(current), previous ? 200 : 201, headers);
  });

  app.delete("/AwsAccount/:id", async (c) => {
    const id = checkId(c.req.param("id"));
    const deleted = await store.delete(id);
    if (!deleted) throw new HttpError(404, `AwsAccount/${id} not found`);
    return respond(c, publicView(deleted));
  });
  app.all("/AwsAccount/:id", notAllowed("GET, PUT, DELETE"));

  // --- Presigned URLs -------------------------------------------------------------------------

  const presign = async (c: Context, method: "PUT" | "GET" | "DELETE", accountId: string, bucket: string, rawKey: unknown) => {
    const requested = parseExpiration(c.req.queries("expiration") ?? []);
    const key = checkKey(rawKey);
    const account = await findAccount(accountId);
    const source: CredentialProvider = account["access-key-id"]
      ? async () => ({ accessKeyId: account["access-key-id"]!, secretAccessKey: account["secret-access-key"] ?? "" })
      : deps.credentials;
    if (account["role-arn"] && !deps.roles) throw new HttpError(503, "role-arn is set, but this runtime has no role assumption configured");
    const credentials = account["role-arn"] ? await deps.roles!(account, source) : await source();
    const date = new Date(now());
    // Never promise a URL a longer life than the credentials that sign it.
    const { expiresIn, expiresAt, capped } = urlLifetime(requested, credentials, date);
    const url = await presigner.presign({
      method,
      ...objectLocation(account, bucket, key),
      region: account.region,
      credentials,
      expiresIn,
      date,
    });
    // A presigned URL is a bearer credential: keep it out of shared caches.
    const body = { url, "expires-at": expiresAt.toISOString().replace(".000Z", "Z"), ...(capped ? { "expiry-capped": true } : {}) };
    return respond(c, body, 200, { "cache-control": "no-store", ...(capped ? { "signpost-expiry-capped": "true" } : {}) });
  };

  app.post("/aws/storage/:account/:bucket", async (c) => {
    const { accountId, bucket } = storagePath(c.req.url);
    const body = await readBody(c.req.raw, bodyLimit);
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HttpError(400, "the body must be an object with filename");
    }
    const unknown = Object.keys(body).filter((name) => name !== "filename");
    if (unknown.length > 0) throw new HttpError(400, `unknown field: ${JSON.stringify(unknown[0])}; only filename is accepted`);
    const { filename } = body as { filename?: unknown };
    if (filename === undefined) throw new HttpError(400, "filename is required");
    return presign(c, "PUT", accountId, bucket, filename);
  });
  app.all("/aws/storage/:account/:bucket", notAllowed("POST", " (GET and DELETE take the object key after the bucket)"));

  app.get("/aws/storage/:account/:bucket/*", (c) => {
    const { accountId, bucket, key } = storagePath(c.req.url);
    return presign(c, "GET", accountId, bucket, key);
  });
  app.delete("/aws/storage/:account/:bucket/*", (c) => {
    const { accountId, bucket, key } = storagePath(c.req.url);
    return presign(c, "DELETE", accountId, bucket, key);
  });
  app.all("/aws/storage/:account/:bucket/*", notAllowed("GET, DELETE"));

  return app;
}
