// PostgreSQL on Node and Deno (SIGNPOST_DATABASE_URL): the `postgres` client opened from the URL, the schema
// migrated, the three stores and the change feed (LISTEN/NOTIFY) on it. The library is handed in by the entry
// (Node imports it by name, Deno as npm:), so this file holds no import of it.
import { rdsAuthToken, rdsRegion } from "../aws/rds.ts";
import { createPresigner, type Presigner } from "../aws/signer.ts";
import { requireSharedSecrets, SettingError, type Settings } from "../config.ts";
import { defaultChain } from "../credentials/chain.ts";
import type { CredentialProvider, HostIO } from "../credentials/provider.ts";
import type { Log } from "../http/log.ts";
import { createSealer } from "../crypto/seal.ts";
import type { AwsAccount } from "../domain/account.ts";
import { isLoopbackHost } from "../domain/names.ts";
import type { Client } from "../domain/client.ts";
import type { TokenIntrospector } from "../domain/introspector.ts";
import { databaseError, migrate, postgresChanges, postgresStore, type SqlClient, type SqlListen } from "../store/postgres.ts";
import type { ChangeFeed, ResourceStore } from "../store/store.ts";
import { nodeSha256 } from "./node-crypto.ts";
import { checkSharedKey, firstSealedSecret, REPLICAS, type SealingKeyCheck, secretStores } from "./shared-key.ts";

/** The part of the `postgres` package (postgres.js) used here. */
export interface PostgresJs {
  unsafe(text: string, params?: unknown[], options?: { prepare?: boolean }): PromiseLike<readonly Record<string, unknown>[]>;
  begin<R>(work: (tx: Pick<PostgresJs, "unsafe">) => Promise<R>): PromiseLike<R>;
  /** What it was opened with: `prepare` is false with ?prepare=false in the URL (for a pooler that cannot keep them). */
  options: { prepare?: boolean };
  listen(channel: string, onPayload: (payload: string) => void, onListen?: () => void): PromiseLike<unknown>;
  end(options?: { timeout?: number }): PromiseLike<void>;
}
export type PostgresFactory = (url: string, options: Record<string, unknown>) => PostgresJs;

/**
 * The variables postgres.js reads from the environment for what the URL and the options leave out (libpq's PG*
 * names, and the OS user name when the URL has none). Deno's `deno task start` grants them (deno-permissions.ts):
 * a denied one would fail the connection instead of reading as unset.
 */
export const POSTGRES_ENV_NAMES = [
  "PGHOST", "PGPORT", "PGUSERNAME", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGAPPNAME", "PGTARGETSESSIONATTRS",
  "PGMAX", "PGSSL", "PGSSLNEGOTIATION", "PGIDLE_TIMEOUT", "PGCONNECT_TIMEOUT", "PGMAX_LIFETIME", "PGMAX_PIPELINE",
  "PGBACKOFF", "PGKEEP_ALIVE", "PGPREPARE", "PGDEBUG", "PGFETCH_TYPES", "PGPUBLICATIONS", "PGTARGET_SESSION_ATTRS",
  "USERNAME", "USER", "LOGNAME",
] as const;

/** The URL without its password (or any query), for logs: postgres://user@host:port/database. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.username ? `${decodeURIComponent(parsed.username)}@` : ""}${parsed.host}${parsed.pathname}`;
  } catch {
    return "(a URL that does not parse)";
  }
}

/** The options signpost opens PostgreSQL with. */
export const CLIENT_OPTIONS = {
  max: 10,
  /** Seconds to wait for a connection before the request answers 503. */
  connect_timeout: 5,
  idle_timeout: 60,
  /** Seconds between attempts to reconnect (the listener's too): 0.05, 0.1, 0.2 ... at most 1. */
  backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
  /** "relation already exists, skipping" and the like are no news. */
  onnotice: () => {},
  connection: { application_name: "signpost" },
} as const;

/** postgres.js as the store's SqlClient and listener. */
export function postgresJsClient(sql: PostgresJs): { client: SqlClient; listen: SqlListen } {
  // Prepared (named) statements, as postgres.js's tagged queries are: one round trip per query instead of two
  // (1.8x the point reads per second measured here, bench/postgres.ts). ?prepare=false in the URL turns them off.
  const prepare = sql.options?.prepare !== false;
  const query = (runner: Pick<PostgresJs, "unsafe">) => (text: string, params: readonly unknown[] = []) => Promise.resolve(runner.unsafe(text, [...params], { prepare }));
  return {
    client: {
      query: query(sql),
      transaction: (work) => Promise.resolve(sql.begin((tx) => work(query(tx)))),
    },
    listen: (channel, onPayload, onListen) => Promise.resolve(sql.listen(channel, onPayload, onListen)),
  };
}

export interface PostgresStores {
  accounts: ResourceStore<AwsAccount>;
  clients: ResourceStore<Client>;
  introspectors: ResourceStore<TokenIntrospector>;
  /** A store for what is not a resource of the API (the sealing key check). */
  store<T extends { id: string; meta: { versionId: string; lastUpdated: string } }>(type: string): ResourceStore<T>;
  changes: ChangeFeed;
  client: SqlClient;
  /** Where, without the password. */
  where: string;
  close(): Promise<void>;
}

/** What RDS IAM authentication needs: signpost's signer, the default credentials, the database's region. */
export interface RdsIam {
  presigner: Presigner;
  credentials: CredentialProvider;
  /** AWS_REGION, else AWS_DEFAULT_REGION; else the region in the RDS endpoint's name. */
  region?: string | undefined;
}

/** RDS IAM as a server uses it: tokens signed with signpost's own signer and a default credential chain of its own. */
export const serverRdsIam = (io: HostIO, log: Log, env: Record<string, string | undefined>) => (): RdsIam => {
  const presigner = createPresigner(nodeSha256);
  return { presigner, credentials: defaultChain(io, { signer: presigner, log }), region: env.AWS_REGION || env.AWS_DEFAULT_REGION };
};

/** How long opening the database may take at start: migrating and LISTENing, over connect_timeout's attempts. */
const START_DEADLINE_MS = 4 * CLIENT_OPTIONS.connect_timeout * 1000;

/**
 * The password postgres.js asks for at each new connection: a fresh `rds-db:connect` token (15 minutes), signed with
 * the default credentials for the URL's host, port and user. The URL's own password, if any, is not used.
 */
export function rdsPassword(url: string, iam: RdsIam, now: () => Date = () => new Date()): () => Promise<string> {
  const parsed = new URL(url);
  // The token goes as a cleartext password to whoever answers: over TLS that checks the server's certificate only
  // (sslmode=require takes any certificate, so whoever sits on the path could replay it for 15 minutes).
  // postgres.js takes the last sslmode of the URL: exactly one, verify-full.
  // A database on this machine has nothing on the path to intercept (the tests' own PostgreSQL).
  if (parsed.searchParams.getAll("sslmode").join() !== "verify-full" && !isLoopbackHost(parsed.hostname)) {
    throw new SettingError("SIGNPOST_DATABASE_AUTH=rds-iam: add ?sslmode=verify-full to SIGNPOST_DATABASE_URL (the token is a password, and sslmode=require sends it to any certificate); trust the RDS certificate bundle with NODE_EXTRA_CA_CERTS");
  }
  const hostname = parsed.hostname;
  const region = iam.region || rdsRegion(hostname);
  if (!region) throw new SettingError("SIGNPOST_DATABASE_AUTH=rds-iam: set AWS_REGION (the database's host does not name one)");
  if (!parsed.username) throw new SettingError("SIGNPOST_DATABASE_AUTH=rds-iam: SIGNPOST_DATABASE_URL must name the database user (postgres://user@host/database)");
  const username = decodeURIComponent(parsed.username);
  const port = Number(parsed.port || 5432);
  return async () => rdsAuthToken(iam.presigner, { hostname, port, username, region, credentials: await iam.credentials(), date: now() });
}

/**
 * Opens the database, creates or migrates the schema (whichever replica comes first; the others wait for it),
 * then LISTENs. Fails with the reason (never the password) when the database cannot be reached.
 */
export async function openPostgres(postgres: PostgresFactory, url: string, iam?: RdsIam, deadlineMs = START_DEADLINE_MS): Promise<PostgresStores> {
  const where = redactedUrl(url);
  let sql: PostgresJs;
  try {
    sql = postgres(url, { ...CLIENT_OPTIONS, ...(iam ? { password: rdsPassword(url, iam) } : {}) });
  } catch (error) {
    if (!(error instanceof URIError)) throw error;
    // postgres.js decodes the password: "URI malformed" alone would name neither the variable nor the cause.
    throw new SettingError(`SIGNPOST_DATABASE_URL (${where}): a % in it starts no %-escape (write a % in the user name, password or host as %25)`);
  }
  const { client, listen } = postgresJsClient(sql);
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A server that takes the connection and closes it (a proxy with no backend) has postgres.js reconnect at once,
  // for ever: the replica would neither start nor say why.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the database within ${deadlineMs / 1000} s`)), deadlineMs);
  });
  try {
    const changes = await Promise.race([migrate(client).then(() => postgresChanges(listen)), deadline]);
    return {
      accounts: postgresStore<AwsAccount>(client, "AwsAccount"),
      clients: postgresStore<Client>(client, "Client"),
      introspectors: postgresStore<TokenIntrospector>(client, "TokenIntrospector"),
      store: (type) => postgresStore(client, type),
      changes,
      client,
      where,
      close: async () => {
        await sql.end({ timeout: 5 });
      },
    };
  } catch (error) {
    await Promise.resolve(sql.end({ timeout: 0 })).catch(() => {});
    throw new Error(`SIGNPOST_DATABASE_URL (${where}): ${databaseError(error).message.replace(/^the database \(PostgreSQL\) is unavailable: /, "")}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Node's and Deno's start with SIGNPOST_DATABASE_URL: the admin token and encryption key from the environment (the
 * replicas must agree on them), the database opened and migrated, and this replica's key checked against the one
 * the others seal with. Throws the reason, which the entry prints as its one line.
 */
export async function openSharedDatabase(postgres: PostgresFactory, settings: Pick<Settings, "databaseUrl" | "databaseAuth" | "adminToken" | "encryptionKey">, iam?: () => RdsIam) {
  const { adminToken, encryptionKey } = requireSharedSecrets(settings);
  const sealer = await createSealer(encryptionKey).catch((error: unknown) => Promise.reject(new Error(error instanceof Error ? error.message : String(error))));
  const db = await openPostgres(postgres, settings.databaseUrl!, settings.databaseAuth === "rds-iam" && iam ? iam() : undefined);
  try {
    await checkSharedKey(db.store<SealingKeyCheck>("SealingKey"), sealer, REPLICAS, () => firstSealedSecret(secretStores(db)));
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  return { db, sealer, adminToken };
}
