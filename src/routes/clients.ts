// /Client: create, replace, patch, read, list and delete clients; rotate a secret. Needs manage-clients, and a
// manager handles only clients whose policy is within its own (decided on the record as stored at the write).
import { Hono } from "hono/tiny";
import { sha256Hex } from "../crypto/hash.ts";
import { type Client, clientProblem, newSecret, parseClient, publicClient, readClient, requireManageable, unusableClient, withoutHash } from "../domain/client.ts";
import { objectFields } from "../domain/fields.ts";
import { checkId } from "../domain/names.ts";
import { isWithin, requireOperation, requireWithin } from "../domain/policy.ts";
import { HttpError } from "../errors.ts";
import { mergePatch } from "../http/body.ts";
import { type AppEnv, body, type Context, NO_STORE, notAllowed, onlyQuery, respond } from "../http/context.ts";
import { currentVersion, nextMeta, searchset, versionHeaders } from "../http/fhir.ts";
import type { Services } from "../services.ts";

/** A stored secret hash that still looks like one (a damaged record may not have it). */
const secretHashOf = (client: Client | null) => (client && /^[0-9a-f]{64}$/.test(String(client["secret-hash"])) ? client["secret-hash"] : undefined);

export function clientRoutes(s: Services) {
  const app = new Hono<AppEnv>();
  const managedId = (c: Context) => checkId(c.req.param("id")!);
  const find = async (c: Context, id: string) => {
    const client = await s.clients.get(id);
    if (!client) throw new HttpError(404, `Client/${id} not found`);
    requireManageable(c.get("caller"), id, client);
    return client;
  };

  app.use("*", async (c, next) => {
    requireOperation(c.get("caller"), "manage-clients");
    onlyQuery(c, []);
    await next();
  });

  app.get("/", async (c) => {
    const caller = c.get("caller");
    // Each read back once: a manager sees the clients it may manage, the admin every one (a damaged one as an outcome).
    const read = (await s.clients.list()).map((client) => [client.id, readClient(client, client.id)] as const);
    const shown = caller.admin ? read : read.filter(([id, client]) => typeof client !== "string" && isWithin(caller, id, client.policy));
    return respond(c, searchset(shown, ([, client]) => withoutHash(client as Client), ([id, client]) => (typeof client === "string" ? unusableClient(id, client) : undefined)));
  });
  app.all("/", notAllowed("GET"));

  app.get("/:id", async (c) => {
    const client = await find(c, managedId(c));
    const problem = clientProblem(client);
    if (problem) throw new HttpError(500, problem);
    return respond(c, publicClient(client));
  });
  app.get("/:id/_history/:version", async (c) => respond(c, publicClient(currentVersion(await find(c, managedId(c)), c.req.param("version")))));
  app.all("/:id/_history/:version", notAllowed("GET"));

  app.put("/:id", async (c) => {
    const id = managedId(c);
    const caller = c.get("caller");
    const input = parseClient(await body(c), id);
    requireWithin(caller, id, input.policy); // nor grant more than it holds
    const secret = newSecret(id);
    const secretHash = await sha256Hex(secret);
    let shown = false;
    const { previous, current } = await s.clients.put(id, (stored) => {
      requireManageable(caller, id, stored); // nor take over a client that holds more
      const kept = secretHashOf(stored);
      shown = kept === undefined;
      return { resourceType: "Client", id, ...input, "secret-hash": kept ?? secretHash, meta: nextMeta(stored, s.now()) };
    });
    s.audit(c, { action: previous ? "update" : "create", resource: `Client/${id}` });
    // The only time the secret is shown (or when a damaged record had none to keep): signpost keeps just its hash.
    return respond(c, shown ? { ...publicClient(current), secret } : publicClient(current), previous ? 200 : 201, { ...versionHeaders(current, !previous), ...NO_STORE });
  });

  app.patch("/:id", async (c) => {
    const id = managedId(c);
    const caller = c.get("caller");
    const patch = objectFields(await body(c), "Client");
    const { current } = await s.clients.put(id, (stored) => {
      if (!stored) throw new HttpError(404, `Client/${id} not found`);
      requireManageable(caller, id, stored);
      const input = parseClient(mergePatch({ policy: stored.policy, ...(stored.description === undefined ? {} : { description: stored.description }) }, patch), id);
      requireWithin(caller, id, input.policy);
      return { resourceType: "Client", id, ...input, "secret-hash": stored["secret-hash"], meta: nextMeta(stored, s.now()) };
    });
    s.audit(c, { action: "patch", resource: `Client/${id}` });
    return respond(c, publicClient(current), 200, { ...versionHeaders(current, false), ...NO_STORE });
  });

  app.post("/:id/$rotate-secret", async (c) => {
    const id = managedId(c);
    const caller = c.get("caller");
    const secret = newSecret(id);
    const secretHash = await sha256Hex(secret);
    const { current } = await s.clients.put(id, (stored) => {
      if (!stored) throw new HttpError(404, `Client/${id} not found`);
      requireManageable(caller, id, stored);
      return { ...stored, "secret-hash": secretHash, meta: nextMeta(stored, s.now()) };
    });
    s.audit(c, { action: "rotate-secret", resource: `Client/${id}` });
    return respond(c, { ...publicClient(current), secret }, 200, NO_STORE);
  });

  app.delete("/:id", async (c) => {
    const id = managedId(c);
    const caller = c.get("caller");
    const deleted = await s.clients.delete(id, (stored) => requireManageable(caller, id, stored));
    if (!deleted) throw new HttpError(404, `Client/${id} not found`);
    s.audit(c, { action: "delete", resource: `Client/${id}` });
    return respond(c, publicClient(deleted));
  });
  app.all("/:id", notAllowed("GET, PUT, PATCH, DELETE"));

  return app;
}
