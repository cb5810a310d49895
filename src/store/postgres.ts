// Resources in PostgreSQL, one table shared by every replica: (type, id) → the resource as JSON, with a row version.
// A write is one transaction: the row is locked (SELECT ... FOR UPDATE), the caller's step runs on what is stored,
// the new row is written and a NOTIFY names what changed, delivered to every replica when the transaction commits.
// Standalone: the SQL client is handed in (SqlClient, a few lines over `postgres` or `pg`), so is the listener.
import { describeError, HttpError } from "../errors.ts";
import type { ChangeFeed, ChangeListener, Resource, ResourceStore } from "./store.ts";

/** A query: text with $1, $2 ... placeholders and their values; resolves with the rows. */
export type SqlQuery = (text: string, params?: readonly unknown[]) => Promise<readonly Record<string, unknown>[]>;

/** The part of a PostgreSQL client that the store uses. */
export interface SqlClient {
  query: SqlQuery;
  /** Runs `work` in one transaction on one connection: commits when it resolves, rolls back when it throws. */
  transaction<R>(work: (query: SqlQuery) => Promise<R>): Promise<R>;
}

/** LISTEN on a channel: `onPayload` per notification; `onListen` each time the LISTEN is (re-)established. */
export type SqlListen = (channel: string, onPayload: (payload: string) => void, onListen: () => void) => Promise<unknown>;

export const TABLE = "signpost_resources";
export const CHANNEL = "signpost_changes";
const SCHEMA_TABLE = "signpost_schema";
const MAX_ATTEMPTS = 32;
// Any constant: the replicas that start at once take turns on it while they migrate.
const MIGRATION_LOCK = 7_351_234_017;

/** Each entry one schema version, applied in order, once, inside the migration's transaction. */
const MIGRATIONS: readonly string[][] = [
  [
    `CREATE TABLE ${TABLE} (
       type text NOT NULL,
       id text NOT NULL,
       body json NOT NULL,
       version bigint NOT NULL DEFAULT 1,
       updated_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (type, id)
     )`,
  ],
];
export const SCHEMA_VERSION = MIGRATIONS.length;

/** A failure of the database itself (not of the caller's step) as a 503 with the reason, never a connection string. */
export function databaseError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  // PostgreSQL's own errors carry a five-character SQLSTATE; their message names no value.
  const reason = typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && typeof message === "string"
    ? `${message.split("\n")[0]!.slice(0, 200)} (SQLSTATE ${code})`
    : describeError(error);
  return new HttpError(503, `the database (PostgreSQL) is unavailable: ${reason}`);
}

/**
 * Creates or brings up to date the schema, idempotently: under an advisory lock held by the transaction, so that
 * replicas starting together take turns and the later ones find it done. Refuses a schema newer than this code.
 */
export async function migrate(sql: SqlClient, lockWaitMs = 15_000): Promise<{ from: number; to: number }> {
  return sql.transaction(async (query) => {
    // Any session that may connect can take this lock and hold it: waited for a while, then named, rather than
    // taken for a database that does not answer (the start's deadline is longer).
    await query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(lockWaitMs))}`);
    await query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`).catch((error: unknown) => {
      if ((error as { code?: string }).code !== "55P03") throw error; // lock_not_available: the lock_timeout above
      throw new Error(`another session held signpost's schema lock (pg_advisory_xact_lock(${MIGRATION_LOCK})) for over ${lockWaitMs / 1000} s: a replica stuck while it migrates, or another database user holding it (pg_locks names the session)`);
    });
    await query("SET LOCAL lock_timeout TO DEFAULT"); // the role's or database's own, for the rest
    await query(`CREATE TABLE IF NOT EXISTS ${SCHEMA_TABLE} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const from = Number((await query(`SELECT coalesce(max(version), 0) AS version FROM ${SCHEMA_TABLE}`))[0]?.version ?? 0);
    if (from > SCHEMA_VERSION) throw new Error(`the database's schema is version ${from}, newer than this signpost's (${SCHEMA_VERSION}): run a newer signpost`);
    for (let version = from + 1; version <= SCHEMA_VERSION; version++) {
      for (const statement of MIGRATIONS[version - 1]!) await query(statement);
      await query(`INSERT INTO ${SCHEMA_TABLE} (version) VALUES ($1)`, [version]);
    }
    return { from, to: SCHEMA_VERSION };
  });
}

/** Thrown inside a transaction to roll it back and try again (a concurrent first write of the same id). */
const RETRY = Symbol("retry");

export function postgresStore<T extends Resource>(sql: SqlClient, resourceType: string): ResourceStore<T> {
  // Writers in this process take turns per id (one connection each, not fifty waiting on one row lock).
  const queues = new Map<string, Promise<unknown>>();
  const parse = (row: Record<string, unknown> | undefined): T | null => (row ? (JSON.parse(String(row.body)) as T) : null);

  /** One atomic step on the row of `id`; the caller's errors pass through, the database's become 503. */
  async function step<R>(id: string, work: (stored: T | null, query: SqlQuery) => Promise<R>): Promise<R> {
    let callerError: { error: unknown } | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        return await sql.transaction(async (query) => {
          const stored = parse((await query(`SELECT body::text AS body FROM ${TABLE} WHERE type = $1 AND id = $2 FOR UPDATE`, [resourceType, id]))[0]);
          return work(stored, async (text, params) => query(text, params)).catch((error) => {
            if (error !== RETRY) callerError = { error };
            throw error;
          });
        });
      } catch (error) {
        if (callerError) throw callerError.error;
        if (error !== RETRY) throw databaseError(error);
        if (attempt === MAX_ATTEMPTS) throw new HttpError(503, `${resourceType}/${id}: too many concurrent writes`);
      }
    }
  }

  function serialized<R>(id: string, run: () => Promise<R>): Promise<R> {
    const turn = (queues.get(id) ?? Promise.resolve()).catch(() => {}).then(run);
    queues.set(id, turn);
    const forget = () => {
      if (queues.get(id) === turn) queues.delete(id);
    };
    turn.then(forget, forget);
    return turn;
  }

  const notify = (query: SqlQuery, id: string) => query("SELECT pg_notify($1, $2)", [CHANNEL, `${resourceType}/${id}`]);

  return {
    async get(id) {
      try {
        return parse((await sql.query(`SELECT body::text AS body FROM ${TABLE} WHERE type = $1 AND id = $2`, [resourceType, id]))[0]);
      } catch (error) {
        throw databaseError(error);
      }
    },
    async list() {
      try {
        // COLLATE "C": by code point, as the other stores list.
        return (await sql.query(`SELECT body::text AS body FROM ${TABLE} WHERE type = $1 ORDER BY id COLLATE "C"`, [resourceType])).map((row) => parse(row)!);
      } catch (error) {
        throw databaseError(error);
      }
    },
    put: (id, next) =>
      serialized(id, () =>
        step(id, async (previous, query) => {
          const current = next(previous);
          const body = JSON.stringify(current);
          if (previous === null) {
            // A first write racing another one for the same id: the loser starts over and sees the winner's.
            const inserted = await query(`INSERT INTO ${TABLE} (type, id, body) VALUES ($1, $2, $3::text::json) ON CONFLICT DO NOTHING RETURNING 1 AS inserted`, [resourceType, id, body]);
            if (inserted.length === 0) throw RETRY;
          } else {
            await query(`UPDATE ${TABLE} SET body = $3::text::json, version = version + 1, updated_at = now() WHERE type = $1 AND id = $2`, [resourceType, id, body]);
          }
          await notify(query, id);
          return { previous, current: JSON.parse(body) as T };
        }),
      ),
    delete: (id, check) =>
      serialized(id, () =>
        step(id, async (previous, query) => {
          if (previous === null) return null;
          check?.(previous);
          await query(`DELETE FROM ${TABLE} WHERE type = $1 AND id = $2`, [resourceType, id]);
          await notify(query, id);
          return previous;
        }),
      ),
  };
}

/**
 * Every replica's writes, as they commit: LISTEN on the channel the store notifies. Each time the LISTEN is
 * established again (the connection dropped and came back), notifications may have been missed meanwhile, so the
 * listeners are told to `reset` (drop all they keep). Resolves once the first LISTEN is in place.
 */
export async function postgresChanges(listen: SqlListen): Promise<ChangeFeed> {
  const listeners: ChangeListener[] = [];
  let established = 0;
  await listen(
    CHANNEL,
    (payload) => {
      const slash = payload.indexOf("/");
      if (slash < 1) return;
      const type = payload.slice(0, slash);
      const id = payload.slice(slash + 1);
      for (const listener of listeners) listener.changed(type, id);
    },
    () => {
      if (established++ > 0) for (const listener of listeners) listener.reset();
    },
  );
  return {
    subscribe: (listener) => void listeners.push(listener),
    reconnects: () => Math.max(0, established - 1),
  };
}
