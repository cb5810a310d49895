// What every route shares on top of Hono: the context's variables, the answer in the format asked for, the query
// (parsed once; parameters a route does not take are refused), 405s that say what is allowed.
import type { Context as HonoContext, Hono } from "hono";
import { HttpError } from "../errors.ts";
import type { Caller } from "../domain/policy.ts";
import { objectFields } from "../domain/fields.ts";
import { answerFormat, MAX_BODY_BYTES, readBody, render } from "./body.ts";

export type AppEnv = { Variables: { caller: Caller; query: Record<string, string[]>; refusal: string; bodyLimit: number } };
export type App = Hono<AppEnv>;
export type Context = HonoContext<AppEnv>;

/** The raw (still percent-encoded) path of a request URL, without query or fragment. */
export function rawPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const end = url.search(/[?#]/);
  return url.slice(start, end === -1 ? undefined : end);
}

/** An answer in JSON, FHIR JSON or YAML, as the Accept header asks. */
export const respond = <T>(c: Context, body: T, status = 200, headers: Record<string, string> = {}, json?: (body: T) => string) =>
  render(body, status, answerFormat(c.req.header("accept") ?? null), headers, json);

/** For answers that hold a secret or a presigned URL, or lead to one: never kept by a shared cache. */
export const NO_STORE: Readonly<Record<string, string>> = { "cache-control": "no-store" };

/** A handler refusing the method with 405 and `Allow`. */
export const notAllowed = (allow: string, hint = "") => (c: Context): never => {
  throw new HttpError(405, `${c.req.method} is not allowed here; allowed: ${allow}${hint}`, { allow });
};

/** The request body (JSON or YAML), within the size limit. */
export const body = (c: Context) => readBody(c.req.raw, c.get("bodyLimit") ?? MAX_BODY_BYTES);

/** A body that is an object with no other fields than `allowed`. */
export const fieldsOf = async (c: Context, allowed: readonly string[]) => objectFields(await body(c), "", allowed);

/** The query, parsed once per request (a lookup by name would parse it again). */
function queryOf(c: Context): Record<string, string[]> {
  let query = c.get("query");
  if (query === undefined) {
    query = c.req.url.includes("?") ? c.req.queries() : {};
    c.set("query", query);
  }
  return query;
}

export function queryValues(c: Context, name: string): string[] {
  const query = queryOf(c);
  return Object.hasOwn(query, name) ? query[name]! : [];
}

/** A query parameter given at most once. */
export function param(c: Context, name: string): string | undefined {
  const values = queryValues(c, name);
  if (values.length > 1) throw new HttpError(400, `${name} must be given at most once`);
  return values[0];
}

/** Refuses a query parameter the route does not take: a typo (`?expires=10`) must not go unnoticed. */
export function onlyQuery(c: Context, allowed: readonly string[]): void {
  if (!c.req.url.includes("?")) return;
  const unknown = Object.keys(queryOf(c)).find((name) => !allowed.includes(name));
  if (unknown !== undefined) {
    throw new HttpError(400, `unknown query parameter ${JSON.stringify(unknown)}: ${allowed.length ? `this route takes ${allowed.join(", ")}` : "this route takes none"}`);
  }
}
