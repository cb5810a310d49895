// The request log (one line per request; refusals name who asked and why) and the audit line (one per URL issued
// and per change): never a query string, token, secret or signed URL.
import type { MiddlewareHandler } from "hono";
import { callerName } from "../domain/policy.ts";
import { presentedIdentity } from "../auth/index.ts";
import { type AppEnv, type Context, rawPath } from "./context.ts";

export type LogEntry = Record<string, string | number | boolean | undefined>;
export type Log = (entry: LogEntry) => void;

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

export function requestLog(log: Log, now: () => number, iso: (ms: number) => string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
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
  };
}

/** One structured line per URL issued and per admin change: who did what to which resource. */
export function auditor(log: Log, now: () => number, iso: (ms: number) => string) {
  return (c: Context, entry: LogEntry) => log({ audit: true, time: iso(now()), who: callerName(c.get("caller")), ...entry });
}
