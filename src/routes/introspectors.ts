// /TokenIntrospector: create, replace, patch, read, list and delete the issuers whose JWTs signpost accepts. Needs
// manage-introspectors, and a manager handles only introspectors whose policy is within its own. A shared secret
// (jwt.secret) is sealed at rest and never shown; PUT replaces it (none sent: none kept), PATCH keeps it.
import { Hono } from "hono/tiny";
import { isSealed } from "../crypto/seal.ts";
import { objectFields } from "../domain/fields.ts";
import {
  introspectorProblem, type IntrospectorInput, introspectorWithin, isPlainHttp, parseIntrospector, publicIntrospector, readIntrospector,
  requireIntrospectorWithin, requireManageableIntrospector, type TokenIntrospector, unusableIntrospector, withoutSecret,
} from "../domain/introspector.ts";
import { checkId } from "../domain/names.ts";
import { requireOperation } from "../domain/policy.ts";
import { HttpError } from "../errors.ts";
import { mergePatch } from "../http/body.ts";
import { type AppEnv, body, type Context, NO_STORE, notAllowed, onlyQuery, respond } from "../http/context.ts";
import { currentVersion, nextMeta, searchset, versionHeaders } from "../http/fhir.ts";
import type { Services } from "../services.ts";

export function introspectorRoutes(s: Services) {
  const app = new Hono<AppEnv>();
  const managedId = (c: Context) => checkId(c.req.param("id")!);
  const find = async (c: Context, id: string) => {
    const introspector = await s.introspectors.get(id);
    if (!introspector) throw new HttpError(404, `TokenIntrospector/${id} not found`);
    requireManageableIntrospector(c.get("caller"), id, introspector);
    return introspector;
  };

  /**
   * The record to store from checked input: a secret sent is sealed (bound to this id) before the atomic write.
   * PUT replaces: without a secret it has none. PATCH keeps the stored one (`keep`) unless the patch changes it.
   */
  async function writer(c: Context, id: string, input: IntrospectorInput) {
    // http:// reaches this machine's own services: only the admin may point signpost there.
    if (!c.get("caller").admin && [input.jwt.iss, input.jwks_uri].some((url) => url !== undefined && isPlainHttp(url))) {
      throw new HttpError(403, "only the admin may give an introspector an http:// address (it reaches this machine's own services)");
    }
    const { secret: plain, ...jwt } = input.jwt;
    const sealed = plain === undefined ? undefined : await s.sealer.seal(plain, `TokenIntrospector/${id}`);
    return (keep: TokenIntrospector | null): Omit<TokenIntrospector, "meta"> => {
      const secret = sealed ?? (isSealed(keep?.jwt?.secret) ? keep.jwt.secret : undefined);
      return { resourceType: "TokenIntrospector", id, ...input, jwt: secret ? { ...jwt, secret } : jwt };
    };
  }

  /** Writes as one atomic step, within the caller's own grants. */
  async function write(c: Context, id: string, build: (stored: TokenIntrospector | null) => Omit<TokenIntrospector, "meta">) {
    const caller = c.get("caller");
    const result = await s.introspectors.put(id, (stored) => {
      requireManageableIntrospector(caller, id, stored);
      const next = build(stored);
      requireIntrospectorWithin(caller, id, next.policy);
      return { ...next, meta: nextMeta(stored, s.now()) };
    });
    s.introspectorIndex.clear();
    s.keySets.forget(id);
    return result;
  }

  /** One issuer, one introspector (the token's iss must pick one). */
  async function requireOwnIssuer(id: string, iss: string) {
    const other = (await s.introspectors.list()).find((introspector) => introspector.id !== id && introspector.jwt?.iss === iss);
    if (other) throw new HttpError(409, `TokenIntrospector/${other.id} already accepts tokens from ${iss}: one issuer, one introspector`);
  }

  app.use("*", async (c, next) => {
    requireOperation(c.get("caller"), "manage-introspectors");
    onlyQuery(c, []);
    await next();
  });

  app.get("/", async (c) => {
    const caller = c.get("caller");
    // Each read back once: a manager sees those within its policy, the admin every one (a damaged one as an outcome).
    const read = (await s.introspectors.list()).map((introspector) => [introspector.id, readIntrospector(introspector, introspector.id)] as const);
    const shown = read.filter(([id, introspector]) => introspectorWithin(caller, id, introspector));
    return respond(c, searchset(shown, ([, introspector]) => withoutSecret(introspector as TokenIntrospector), ([id, introspector]) => (typeof introspector === "string" ? unusableIntrospector(id, introspector) : undefined)), 200, NO_STORE);
  });
  app.all("/", notAllowed("GET"));

  app.get("/:id", async (c) => {
    const introspector = await find(c, managedId(c));
    const problem = introspectorProblem(introspector);
    if (problem) throw new HttpError(500, problem);
    return respond(c, publicIntrospector(introspector), 200, { ...versionHeaders(introspector, false), ...NO_STORE });
  });
  app.get("/:id/_history/:version", async (c) => respond(c, publicIntrospector(currentVersion(await find(c, managedId(c)), c.req.param("version")))));
  app.all("/:id/_history/:version", notAllowed("GET"));

  app.put("/:id", async (c) => {
    const id = managedId(c);
    const input = parseIntrospector(await body(c), id);
    await requireOwnIssuer(id, input.jwt.iss);
    const build = await writer(c, id, input);
    const { previous, current } = await write(c, id, () => build(null));
    s.audit(c, { action: previous ? "update" : "create", resource: `TokenIntrospector/${id}` });
    return respond(c, publicIntrospector(current), previous ? 200 : 201, { ...versionHeaders(current, !previous), ...NO_STORE });
  });

  app.patch("/:id", async (c) => {
    const id = managedId(c);
    const patch = objectFields(await body(c), "TokenIntrospector");
    const stored = await find(c, id);
    const { resourceType: _, meta: __, ...rest } = stored;
    // The stored secret stays sealed: it takes part in the merge as a stand-in that only this request knows.
    const standIn = `kept-${crypto.randomUUID()}`;
    const merged = mergePatch(rest.jwt.secret ? { ...rest, jwt: { ...rest.jwt, secret: standIn } } : rest, patch);
    const input = parseIntrospector(merged, id);
    const keeps = input.jwt.secret === standIn;
    if (keeps) delete input.jwt.secret;
    await requireOwnIssuer(id, input.jwt.iss);
    const build = await writer(c, id, input);
    const { current } = await write(c, id, (now) => {
      if (!now) throw new HttpError(404, `TokenIntrospector/${id} not found`);
      // Both: a versionId starts again at 1 when the record is deleted and made anew.
      if (now.meta.versionId !== stored.meta.versionId || now.meta.lastUpdated !== stored.meta.lastUpdated) throw new HttpError(409, `TokenIntrospector/${id} changed while this PATCH was applied: try again`);
      return build(keeps ? now : null);
    });
    s.audit(c, { action: "patch", resource: `TokenIntrospector/${id}` });
    return respond(c, publicIntrospector(current), 200, { ...versionHeaders(current, false), ...NO_STORE });
  });

  app.delete("/:id", async (c) => {
    const id = managedId(c);
    const caller = c.get("caller");
    const deleted = await s.introspectors.delete(id, (stored) => requireManageableIntrospector(caller, id, stored));
    s.introspectorIndex.clear();
    s.keySets.forget(id);
    if (!deleted) throw new HttpError(404, `TokenIntrospector/${id} not found`);
    s.audit(c, { action: "delete", resource: `TokenIntrospector/${id}` });
    return respond(c, publicIntrospector(deleted));
  });
  app.all("/:id", notAllowed("GET, PUT, PATCH, DELETE"));

  return app;
}
