// The service, on Web-standard Request/Response only: the shell (request log, CORS, errors as OperationOutcomes,
// authentication), then the route groups. Every runtime builds it through compose.ts; tests build it with their parts.
import { cors } from "hono/cors";
import { HonoBase } from "hono/hono-base";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { adminToken } from "./auth/admin-token.ts";
import { clientSecret } from "./auth/client-secret.ts";
import { authenticator } from "./auth/index.ts";
import { jwtBearer } from "./auth/jwt.ts";
import { HttpError, operationOutcome } from "./errors.ts";
import { MAX_BODY_BYTES } from "./http/body.ts";
import { type App, type AppEnv, type Context, rawPath, respond } from "./http/context.ts";
import { requestLog } from "./http/log.ts";
import { accountRoutes } from "./routes/accounts.ts";
import { clientRoutes } from "./routes/clients.ts";
import { COMPANION_PATH, companionError, companionRoutes } from "./routes/companion.ts";
import { introspectorRoutes } from "./routes/introspectors.ts";
import { batchOperations } from "./routes/batch.ts";
import { multipartOperations } from "./routes/multipart.ts";
import { objectRoutes } from "./routes/objects.ts";
import { postPolicyOperations } from "./routes/post-policy.ts";
import { uppyOperations } from "./routes/uppy.ts";
import { type AppDeps, services } from "./services.ts";

export type { App } from "./http/context.ts";
export type { AppConfig, AppDeps } from "./services.ts";
export type { LogEntry } from "./http/log.ts";

export function createApp(deps: AppDeps): App {
  const s = services(deps);
  const { config } = deps;
  const token = config.adminToken;
  const authenticate = authenticator(
    token ? [adminToken(token), clientSecret(deps.clients), jwtBearer({ introspectors: s.introspectorIndex, keys: s.keySets, sealer: s.sealer, now: s.now })] : [],
    !token ? "set SIGNPOST_ADMIN_TOKEN" : token.length < 16 ? "SIGNPOST_ADMIN_TOKEN must be at least 16 characters" : undefined,
    s.introspectorIndex.cookieNames,
  );
  // Every route of every group is matched by this app's router: RegExpRouter tries them all in one regular
  // expression, where hono/tiny's PatternRouter tries one per route (1 µs a request here, BENCHMARKS.md part 10).
  // Not strict: a path with a trailing slash reaches its route, as PatternRouter let it.
  const app = new HonoBase<AppEnv>({ router: new RegExpRouter(), strict: false });

  app.use(requestLog(s.log, s.now, s.iso));
  if (config.corsOrigins?.length) {
    const origins = config.corsOrigins;
    app.use(cors({
      origin: origins.includes("*") ? "*" : origins,
      allowMethods: ["GET", "PUT", "PATCH", "POST", "DELETE"],
      allowHeaders: ["Authorization", "Content-Type", "Accept"],
      exposeHeaders: ["Location", "ETag", "Signpost-Expiry-Capped"],
      maxAge: 600,
    }));
  }
  // Errors are OperationOutcomes, but in Companion's shape on its routes (Uppy reads that).
  const failure = (c: Context, status: number, message: string, headers?: Record<string, string>) =>
    rawPath(c.req.url).startsWith(`${COMPANION_PATH}/`) ? companionError(status, message, headers) : respond(c, operationOutcome(status, message), status, headers);
  app.onError((error, c) => {
    if (error instanceof HttpError) {
      if (error.status === 401 || error.status === 403) c.set("refusal", error.message.slice(0, 300));
      return failure(c, error.status, error.message, error.headers);
    }
    s.log({ level: "error", message: "unexpected error", error: String(error).slice(0, 300), path: rawPath(c.req.url) });
    return failure(c, 500, "internal error");
  });
  app.notFound((c) => failure(c, 404, `no route for ${c.req.method} ${rawPath(c.req.url)}`));

  app.get("/health", (c) => respond(c, { status: "ok" }));
  app.use(async (c, next) => {
    const header = (name: string) => c.req.header(name) ?? null;
    c.set("caller", await authenticate({ authorization: header("authorization"), cookie: header("cookie"), method: c.req.method, contentType: header("content-type"), fetchSite: header("sec-fetch-site") }));
    c.set("bodyLimit", config.maxBodyBytes ?? MAX_BODY_BYTES);
    await next();
  });

  // The route groups: each is one file; a new one is one more line here.
  app.route("/AwsAccount", accountRoutes(s));
  app.route("/Client", clientRoutes(s));
  app.route("/TokenIntrospector", introspectorRoutes(s));
  app.route("/aws/storage", objectRoutes(s, { ...postPolicyOperations(s), ...multipartOperations(s), ...batchOperations(s), ...uppyOperations(s) }));
  app.route(COMPANION_PATH, companionRoutes(s));

  return app;
}
