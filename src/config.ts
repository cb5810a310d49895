// The settings every runtime reads from its environment (process.env, Deno.env, Worker bindings), parsed one way.
// A bad value is an error naming the variable and what it takes; the runtimes print it as one line and stop.
import { ACCOUNT_CACHE_MS } from "./store/cache.ts";

export type Env = Readonly<Record<string, string | undefined>>;

export class SettingError extends Error {
  override name = "SettingError";
}

/** Every variable the server itself reads (the credential chain reads its own: credentials/names.ts). */
export const SERVER_ENV_NAMES = [
  "PORT", "HOST", "SIGNPOST_DATA_DIR", "SIGNPOST_ADMIN_TOKEN", "SIGNPOST_ENCRYPTION_KEY", "SIGNPOST_CORS_ORIGINS",
  "SIGNPOST_ACCOUNT_CACHE_MS", "SIGNPOST_DATABASE_URL", "SIGNPOST_DATABASE_AUTH", "DENO_DEPLOYMENT_ID",
] as const;

export const DEFAULT_DATA_DIR = ".signpost";

/** What the service itself is configured with, on every runtime (the Worker reads only these). */
export interface ServiceSettings {
  adminToken: string | undefined;
  encryptionKey: string | undefined;
  corsOrigins: string[];
  cacheMs: number;
}

/** And where a server listens and keeps its files (Node, Deno). */
export interface Settings extends ServiceSettings {
  port: number;
  host: string;
  /** SIGNPOST_DATA_DIR as given (each runtime resolves it), default .signpost. */
  dataDir: string;
  /** SIGNPOST_DATABASE_URL: postgres://... keeps the resources in PostgreSQL, shared by replicas; else the data folder's file. */
  databaseUrl: string | undefined;
  /** SIGNPOST_DATABASE_AUTH: `password` (in the URL; the default) or `rds-iam` (an RDS IAM token per connection). */
  databaseAuth: "password" | "rds-iam";
}

/** The service's settings, parsed once; a bad one throws a SettingError naming it. */
export function serviceSettings(env: Env): ServiceSettings {
  return {
    adminToken: adminToken(env.SIGNPOST_ADMIN_TOKEN),
    encryptionKey: env.SIGNPOST_ENCRYPTION_KEY || undefined,
    corsOrigins: corsOrigins(env),
    cacheMs: cacheMs(env),
  };
}

/** All of them, for a server. */
export function readSettings(env: Env): Settings {
  return {
    port: port(env),
    host: env.HOST || "127.0.0.1",
    dataDir: (env.SIGNPOST_DATA_DIR || DEFAULT_DATA_DIR).replace(/(.)\/+$/, "$1"),
    databaseUrl: databaseUrl(env),
    databaseAuth: databaseAuth(env),
    ...serviceSettings(env),
  };
}

/** PORT: 0 (any free port) to 65535; default 8787. */
export function port(env: Env): number {
  const value = env.PORT ?? "8787";
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new SettingError(`PORT must be a whole number from 0 to 65535 (0 picks a free port), not ${JSON.stringify(value)}`);
  return Number(value);
}

/** SIGNPOST_ACCOUNT_CACHE_MS: how long an account or client read is trusted; 0 reads the store every time. */
export function cacheMs(env: Env): number {
  const value = env.SIGNPOST_ACCOUNT_CACHE_MS;
  if (value === undefined || value === "") return ACCOUNT_CACHE_MS;
  if (!/^\d{1,9}$/.test(value)) throw new SettingError(`SIGNPOST_ACCOUNT_CACHE_MS must be a whole number of milliseconds, not ${JSON.stringify(value)}`);
  return Number(value);
}

/** SIGNPOST_CORS_ORIGINS: comma-separated origins (or `*`); unset means no CORS. */
export function corsOrigins(env: Env): string[] {
  return (env.SIGNPOST_CORS_ORIGINS ?? "").split(",").map((origin) => origin.trim()).filter(Boolean);
}

/** SIGNPOST_ADMIN_TOKEN, when set, must be long enough to be a secret. */
export function adminToken(value: string | undefined): string | undefined {
  if (value !== undefined && value !== "" && value.length < 16) throw new SettingError("SIGNPOST_ADMIN_TOKEN must be at least 16 characters");
  return value || undefined;
}

/** SIGNPOST_DATABASE_URL: a postgres:// or postgresql:// URL. Never echoed back: it may hold a password. */
export function databaseUrl(env: Env): string | undefined {
  const value = env.SIGNPOST_DATABASE_URL?.trim();
  if (!value) return undefined;
  let protocol: string | undefined;
  try {
    protocol = new URL(value).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== "postgres:" && protocol !== "postgresql:") {
    throw new SettingError("SIGNPOST_DATABASE_URL must be a PostgreSQL URL: postgres://user:password@host:5432/database (the value is not shown: it may hold a password)");
  }
  return value;
}

/** SIGNPOST_DATABASE_AUTH: how signpost proves itself to PostgreSQL. */
export function databaseAuth(env: Env): "password" | "rds-iam" {
  const value = env.SIGNPOST_DATABASE_AUTH || "password";
  if (value !== "password" && value !== "rds-iam") throw new SettingError(`SIGNPOST_DATABASE_AUTH must be password or rds-iam, not ${JSON.stringify(value)}`);
  return value;
}

/**
 * With a shared database, what the replicas must agree on cannot be generated or kept by each one in its own data
 * folder: the encryption key (what one replica seals, the others must open) and the admin token.
 */
export function requireSharedSecrets(settings: Pick<Settings, "adminToken" | "encryptionKey">): { adminToken: string; encryptionKey: string } {
  const missing = [settings.encryptionKey ? "" : "SIGNPOST_ENCRYPTION_KEY", settings.adminToken ? "" : "SIGNPOST_ADMIN_TOKEN"].filter(Boolean);
  if (missing.length) {
    throw new SettingError(`SIGNPOST_DATABASE_URL is set, so the database is shared by every replica: set ${missing.join(" and ")}, the same on each (openssl rand -base64 32); one generated here would be this replica's alone, and what it seals the others could not open`);
  }
  return { adminToken: settings.adminToken!, encryptionKey: settings.encryptionKey! };
}
