// The request log (one line per request; refusals name who asked and why) and the audit line (one per URL issued
// and per change): never a query string, token, secret or signed URL.
import type { MiddlewareHandler } from "hono";
import { callerName } from "../domain/policy.ts";
import { presentedIdentity } from "../auth/index.ts";
import { type AppEnv, type Context, rawPath } from "./context.ts";

export type LogEntry = Record<string, string | number | boolean | undefined>;

/** Where log lines go. Runtimes that write text take lines already in JSON too: the lines made on every request. */
export interface Log {
  (entry: LogEntry): void;
  /** A line as JSON text, exactly as JSON.stringify writes its entry. */
  json?: (line: string) => void;
}

/** A log writing each line as JSON text (the runtimes'). */
export const textLog = (write: (line: string) => void): Log => Object.assign((entry: LogEntry) => write(JSON.stringify(entry)), { json: write });

/** How `log` takes a line of JSON text: as it is, or parsed back into its entry (a log that keeps entries: tests). */
const jsonLines = (log: Log): ((line: string) => void) => log.json ?? ((line) => log(JSON.parse(line) as LogEntry));

// Printable ASCII but the quote and the backslash: what JSON.stringify writes as it is.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** JSON.stringify(value) for a string, in half the time when it needs no escape (most keys, paths and names). */
export const jsonString = (value: string): string => (PLAIN.test(value) ? `"${value}"` : JSON.stringify(value));

// The lines made on every request are written from their parts, as JSON.stringify would write their entries, each
// shared part once: as objects they cost 2 µs a request and 1 µs a batched URL (BENCHMARKS.md part 10).
const number = (value: number) => (Number.isFinite(value) ? String(value) : "null");

/** `,"name":value` for each field that is not undefined: an entry's members after its first. */
export function members(entry: LogEntry): string {
  const json = JSON.stringify(entry);
  return json === "{}" ? "" : `,${json.slice(1, -1)}`;
}

/**
 * `ms` as toISOString gives it, with the part up to the seconds reused within a second: the request log and the
 * audit line each want a timestamp, and toISOString costs more than a microsecond. Digits and `-+:.TZ` only, which
 * JSON writes as they are: the lines put it in quotes without jsonString.
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
  const write = jsonLines(log);
  return async (c, next) => {
    const started = now();
    await next();
    const { status } = c.res;
    // Never the query: it may carry nothing secret today, but keep logs boring.
    let line = `{"time":"${iso(started)}","method":${jsonString(c.req.method)},"path":${jsonString(rawPath(c.req.url))},"status":${number(status)},"ms":${number(now() - started)}`;
    // Refusals name who asked (the client id a secret names, never the secret) and why.
    if (status === 401 || status === 403) {
      const caller = c.get("caller");
      line += members({ who: caller ? callerName(caller) : presentedIdentity(c.req.header("authorization") ?? null), refused: c.get("refusal") });
    }
    write(`${line}}`);
  };
}

/** One structured line per URL issued and per admin change: who did what to which resource. */
export function auditor(log: Log, now: () => number, iso: (ms: number) => string) {
  const write = jsonLines(log);
  const head = (c: Context) => `{"audit":true,"time":"${iso(now())}","who":${jsonString(callerName(c.get("caller")))}`;
  return Object.assign((c: Context, entry: LogEntry) => write(`${head(c)}${members(entry)}}`), {
    /**
     * The lines of one answer's URLs: the members they share (`,"action":...`, routes/storage.ts) once, and each
     * URL's own members (`,"key":...`) after them.
     */
    urls(c: Context, shared: string): (own: string) => void {
      const start = `${head(c)}${shared}`;
      return (own) => write(`${start}${own}}`);
    },
  });
}
