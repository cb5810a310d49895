// /AwsAccount: create, replace, patch, read, list and delete accounts; $verify one against a bucket. Needs
// manage-accounts, for the accounts the caller's policy names.
import { Hono } from "hono/tiny";
import { type AwsAccount, parseAwsAccount, publicView } from "../domain/account.ts";
import { checkBucket, checkId } from "../domain/names.ts";
import { requireAccount, requireAccountGrants, requireBucket, requireKeptExternalIdStays, requireKeptKeysStay, requireOperation } from "../domain/policy.ts";
import { verifyAccount } from "../domain/verify.ts";
import { HttpError } from "../errors.ts";
import { mergePatch } from "../http/body.ts";
import { type AppEnv, body, type Context, NO_STORE, notAllowed, onlyQuery, param, respond } from "../http/context.ts";
import { currentVersion, nextMeta, searchset, versionHeaders } from "../http/fhir.ts";
import type { Services } from "../services.ts";
import { objectFields } from "../domain/fields.ts";

export function accountRoutes(s: Services) {
  const app = new Hono<AppEnv>();
  const view = (c: Context) => (account: AwsAccount) => publicView(account, c.get("caller").admin);
  /** The account id of the path, which the caller must be allowed to manage. */
  const managedId = (c: Context) => {
    const id = checkId(c.req.param("id")!);
    requireAccount(c.get("caller"), id);
    return id;
  };

  app.use("*", async (c, next) => {
    requireOperation(c.get("caller"), "manage-accounts");
    onlyQuery(c, c.req.path.endsWith("/$verify") ? ["bucket"] : []);
    await next();
  });

  app.get("/", async (c) => {
    const caller = c.get("caller");
    const all = await s.store.list();
    const visible = caller.admin || caller.policy.accounts.includes("*") ? all : all.filter((account) => caller.policy.accounts.includes(account.id));
    // Each as it reads back (defaults in), or the reason it cannot be used.
    const read = visible.map((account) => s.accounts.read(account, account.id));
    return respond(c, searchset(read, (account) => view(c)(account as AwsAccount), (account) => (typeof account === "string" ? account : undefined)));
  });
  app.all("/", notAllowed("GET"));

  app.get("/:id", async (c) => respond(c, view(c)(await s.accounts.find(managedId(c)))));
  // Where Location points after a create: the version it names, while it is the current one (no history is kept).
  app.get("/:id/_history/:version", async (c) => respond(c, view(c)(currentVersion(await s.accounts.find(managedId(c)), c.req.param("version")))));
  app.all("/:id/_history/:version", notAllowed("GET"));

  app.put("/:id", async (c) => {
    const id = managedId(c);
    const input = parseAwsAccount(await body(c), id);
    requireAccountGrants(c.get("caller"), input);
    const secret = input["secret-access-key"];
    if (secret !== undefined) input["secret-access-key"] = await s.sealer.seal(secret, `AwsAccount/${id}`);
    const { previous, current } = await s.store.put(id, (stored) => {
      // A PUT that leaves the keys out would quietly sign with signpost's own identity from now on.
      if (stored?.["access-key-id"] !== undefined && input["access-key-id"] === undefined) {
        throw new HttpError(400, `AwsAccount: this PUT has no access-key-id, so AwsAccount/${id} would sign with the default credentials instead of its keys; PATCH the fields that change (the keys stay), or send "access-key-id": null in a PATCH to drop them`);
      }
      return { resourceType: "AwsAccount", id, ...input, meta: nextMeta(stored, s.now()) };
    });
    s.audit(c, { action: previous ? "update" : "create", resource: `AwsAccount/${id}` });
    return respond(c, view(c)(current), previous ? 200 : 201, versionHeaders(current, !previous));
  });

  // JSON Merge Patch (RFC 7396): the fields given change, `null` removes one, the rest (the secret included) stays.
  // The merge runs inside the store's atomic step, on the account as stored then: merged with a copy read before
  // (the cache's, another replica's), a PATCH after a delete and re-create would bring the old keys back.
  app.patch("/:id", async (c) => {
    const id = managedId(c);
    const caller = c.get("caller");
    const patch = objectFields(await body(c), "AwsAccount");
    const given = patch["secret-access-key"];
    const sealedGiven = typeof given === "string" ? await s.sealer.seal(given, `AwsAccount/${id}`) : undefined;
    const { current } = await s.store.put(id, (stored) => {
      if (!stored) throw new HttpError(404, `AwsAccount/${id} not found`);
      // The rules below judge the record as it reads back (defaults in): one written without them moved nothing.
      const before = s.accounts.read(stored, id);
      if (typeof before === "string") throw new HttpError(500, before);
      const { "secret-access-key": sealed, ...visible } = stored;
      const merged = mergePatch(visible, patch) as Record<string, unknown>;
      // The stored secret stays with its key id; a new key id needs its secret, and no key id means no secret.
      const keep = sealed !== undefined && !Object.hasOwn(patch, "secret-access-key") && merged["access-key-id"] !== undefined;
      if (keep && merged["access-key-id"] !== stored["access-key-id"]) throw new HttpError(400, "AwsAccount: a new access-key-id needs its secret-access-key");
      const input = parseAwsAccount(keep ? { ...merged, "secret-access-key": "kept" } : merged, id);
      requireAccountGrants(caller, input);
      if (keep) requireKeptKeysStay(caller, before, input, Object.hasOwn(patch, "external-id"));
      if (before["external-id"] !== undefined && !Object.hasOwn(patch, "external-id")) requireKeptExternalIdStays(caller, before, input, Object.hasOwn(patch, "secret-access-key"));
      if (keep) input["secret-access-key"] = sealed;
      else if (input["secret-access-key"] !== undefined) input["secret-access-key"] = sealedGiven;
      return { resourceType: "AwsAccount", id, ...input, meta: nextMeta(stored, s.now()) };
    });
    s.audit(c, { action: "patch", resource: `AwsAccount/${id}` });
    return respond(c, view(c)(current), 200, versionHeaders(current, false));
  });

  app.delete("/:id", async (c) => {
    const id = managedId(c);
    const deleted = await s.store.delete(id);
    if (!deleted) throw new HttpError(404, `AwsAccount/${id} not found`);
    s.audit(c, { action: "delete", resource: `AwsAccount/${id}` });
    const read = s.accounts.read(deleted, id);
    return respond(c, view(c)(typeof read === "string" ? deleted : read));
  });
  app.all("/:id", notAllowed("GET, PUT, PATCH, DELETE"));

  // Checks the account against a bucket: credentials, clock, what S3 does with unsigned headers, Object Lock, CORS.
  app.post("/:id/$verify", async (c) => {
    const id = managedId(c);
    const bucket = param(c, "bucket");
    if (bucket === undefined) throw new HttpError(400, "bucket is required: POST /AwsAccount/<id>/$verify?bucket=<bucket>");
    // It reads the bucket with the account's credentials: only for buckets the caller could get URLs for.
    requireBucket(c.get("caller"), bucket);
    const outcome = await verifyAccount({ account: await s.accounts.find(id), bucket: checkBucket(bucket), signing: s.signing, checks: s.checks, s3: s.s3, now: s.now });
    s.audit(c, { action: "verify", resource: `AwsAccount/${id}`, bucket });
    return respond(c, outcome, 200, NO_STORE);
  });
  app.all("/:id/$verify", notAllowed("POST"));

  return app;
}
