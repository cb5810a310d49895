// One throw-away PostgreSQL cluster per test file, started on first use, with a migrated database and the two
// clients the store is tested with: postgres.js (what signpost runs) and pg.
import pg from "pg";
import postgres from "postgres";
import { CLIENT_OPTIONS, postgresJsClient, type PostgresJs } from "../../../src/runtime/postgres.ts";
import { migrate, type SqlClient } from "../../../src/store/postgres.ts";
import { pgClient, startPostgres, type TestPostgres } from "../../postgres.ts";

export function postgresClients(afterAll: (fn: () => Promise<void>) => void) {
  let cluster: Promise<{ server: TestPostgres; url: string }> | undefined;
  const opened: { end: () => Promise<unknown> }[] = [];
  afterAll(async () => {
    if (!cluster) return;
    await Promise.all(opened.map((client) => client.end().catch(() => {})));
    await (await cluster).server.destroy();
  });
  const database = () =>
    (cluster ??= (async () => {
      const server = await startPostgres();
      const url = await server.database();
      const sql = postgres(url, { ...CLIENT_OPTIONS, max: 1 });
      await migrate(postgresJsClient(sql as unknown as PostgresJs).client);
      await sql.end();
      return { server, url };
    })());
  let js: Promise<ReturnType<typeof postgresJsClient> & { sql: PostgresJs }> | undefined;
  let node: Promise<SqlClient> | undefined;
  return {
    database,
    /** A new postgres.js client on the database (ended after the file). */
    async open(options: Record<string, unknown> = {}) {
      const sql = postgres((await database()).url, { ...CLIENT_OPTIONS, ...options }) as unknown as PostgresJs;
      opened.push({ end: () => Promise.resolve(sql.end({ timeout: 0 })) });
      return { sql, ...postgresJsClient(sql) };
    },
    postgresJs() {
      return (js ??= this.open());
    },
    nodePg() {
      return (node ??= database().then(({ url }) => {
        const pool = new pg.Pool({ connectionString: url, max: 10 });
        // Without this, an idle connection the server cuts (a restart) throws an uncaught error, whose object even
        // holds the password: one of the reasons signpost runs postgres.js (bench/postgres.ts).
        pool.on("error", () => {});
        opened.push({ end: () => pool.end() });
        return pgClient(pool);
      }));
    },
  };
}
