// What is particular to the PostgreSQL store (the contract itself runs in stores.test.ts): the schema made once by
// replicas starting together, rows as JSON, two clients (two replicas) writing one row, the change feed and its
// reconnect, the database going away and coming back, and RDS IAM tokens as passwords. Against a real cluster (test/postgres.ts).
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import type { AwsAccount } from "../../../src/domain/account.ts";
import { HttpError } from "../../../src/errors.ts";
import { rdsAuthToken } from "../../../src/aws/rds.ts";
import { createPresigner } from "../../../src/aws/signer.ts";
import { nodeSha256 } from "../../../src/runtime/node-crypto.ts";
import { createServer } from "node:net";
import { CLIENT_OPTIONS, openPostgres, type PostgresFactory, postgresJsClient, type PostgresJs, rdsPassword } from "../../../src/runtime/postgres.ts";
import { cachedStore } from "../../../src/store/cache.ts";
import { migrate, postgresChanges, postgresStore, SCHEMA_VERSION, TABLE } from "../../../src/store/postgres.ts";
import { account, nextVersion } from "./contract.ts";
import { postgresClients } from "./postgres-clients.ts";

const pg = postgresClients(afterAll);
const type = () => `AwsAccount-${Math.random()}`;
const until = async (condition: () => boolean | Promise<boolean>, ms = 2000) => {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return Date.now() - start;
};

describe("schema", () => {
  it("is made once when four replicas start together on an empty database, and left alone after", async () => {
    const { server } = await pg.database();
    const url = await server.database();
    const clients = Array.from({ length: 4 }, () => postgres(url, { ...CLIENT_OPTIONS, max: 2 }) as unknown as PostgresJs);
    try {
      const results = await Promise.all(clients.map((sql) => migrate(postgresJsClient(sql).client)));
      expect(results.map((r) => r.from).sort()).toEqual([0, SCHEMA_VERSION, SCHEMA_VERSION, SCHEMA_VERSION]);
      expect(await migrate(postgresJsClient(clients[0]!).client)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
      expect(await clients[0]!.unsafe("SELECT version FROM signpost_schema")).toEqual([{ version: SCHEMA_VERSION }]);
      // A newer schema (a newer signpost migrated it) is refused, not written over.
      await clients[0]!.unsafe("INSERT INTO signpost_schema (version) VALUES ($1)", [SCHEMA_VERSION + 1]);
      await expect(migrate(postgresJsClient(clients[1]!).client)).rejects.toThrow(`schema is version ${SCHEMA_VERSION + 1}, newer than this signpost's (${SCHEMA_VERSION})`);
    } finally {
      await Promise.all(clients.map((sql) => sql.end({ timeout: 0 })));
    }
  });
});

describe("the schema lock", () => {
  it("held by another session (any user that can connect may take it) is waited for, then named, not taken for a database that does not answer (an attack, 2026-12-01)", async () => {
    const { server } = await pg.database();
    const url = await server.database();
    const [holder, replica] = [postgres(url, { ...CLIENT_OPTIONS, max: 1 }) as unknown as PostgresJs, postgres(url, { ...CLIENT_OPTIONS, max: 2 }) as unknown as PostgresJs];
    try {
      await holder.unsafe("SELECT pg_advisory_lock(7351234017)");
      await expect(migrate(postgresJsClient(replica).client, 300)).rejects.toThrow(/^another session held signpost's schema lock \(pg_advisory_xact_lock\(7351234017\)\) for over 0.3 s/);
      await holder.unsafe("SELECT pg_advisory_unlock(7351234017)");
      expect((await migrate(postgresJsClient(replica).client, 300)).to).toBe(SCHEMA_VERSION); // and once it is let go, the start goes on
    } finally {
      await Promise.all([holder, replica].map((sql) => sql.end({ timeout: 0 })));
    }
  });
});

describe("rows", () => {
  it("hold the resource as a JSON object, and count their writes", async () => {
    const { sql, client } = await pg.postgresJs();
    const t = type();
    const store = postgresStore<AwsAccount>(client, t);
    await store.put("a", () => account("a"));
    await store.put("a", nextVersion("a"));
    const [row] = await sql.unsafe(`SELECT json_typeof(body) AS kind, body->>'region' AS region, version FROM ${TABLE} WHERE type = $1`, [t]);
    expect(row).toEqual({ kind: "object", region: "us-east-1", version: "2" });
  });

  it("loses no update when two clients (two replicas) write one row at once", async () => {
    const t = type();
    const one = postgresStore<AwsAccount>((await pg.postgresJs()).client, t);
    const two = postgresStore<AwsAccount>(await pg.nodePg(), t);
    const writes = Array.from({ length: 40 }, (_, i) => (i % 2 ? one : two).put("hot", nextVersion("hot")));
    const versions = (await Promise.all(writes)).map((r) => Number(r.current.meta.versionId)).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("lets the caller's own error through, and writes nothing", async () => {
    const store = postgresStore<AwsAccount>((await pg.postgresJs()).client, type());
    await expect(store.put("a", () => {
      throw new HttpError(404, "AwsAccount/a not found");
    })).rejects.toMatchObject({ status: 404, message: "AwsAccount/a not found" });
    expect(await store.get("a")).toBeNull();
  });
});

describe("change feed", () => {
  it("tells every listener which record another client wrote or deleted, as the transaction commits", async () => {
    const { listen } = await pg.open({ max: 1 });
    const feed = await postgresChanges(listen);
    const seen: string[] = [];
    feed.subscribe({ changed: (t, id) => seen.push(`${t}/${id}`), reset: () => seen.push("reset") });
    const t = type();
    const writer = postgresStore<AwsAccount>(await pg.nodePg(), t);
    await writer.put("a.b", () => account("a.b"));
    const put = await until(() => seen.includes(`${t}/a.b`), 100);
    await writer.delete("a.b");
    await until(() => seen.filter((s) => s === `${t}/a.b`).length === 2, 100);
    // A refused delete and a rolled-back write tell nothing.
    await writer.put("c", () => account("c"));
    await expect(writer.delete("c", () => {
      throw new Error("not yours");
    })).rejects.toThrow("not yours");
    await expect(writer.put("c", () => {
      throw new Error("no");
    })).rejects.toThrow("no");
    await writer.put("d", () => account("d")); // the last one: once it is told, anything before it was too
    await until(() => seen.includes(`${t}/d`), 100);
    expect(seen.filter((s) => s.startsWith(t))).toEqual([`${t}/a.b`, `${t}/a.b`, `${t}/c`, `${t}/d`]);
    console.log(`[postgres] a write through one client told to another's listener in ${put} ms`);
  });

  it("is established again when its connection is cut, and says reset, so that a cache forgets everything", async () => {
    const { sql, listen } = await pg.open({ max: 1, connection: { application_name: "signpost-listener-test" } });
    const feed = await postgresChanges(listen);
    const t = type();
    const backing = postgresStore<AwsAccount>((await pg.postgresJs()).client, t);
    const cache = cachedStore(backing, 60_000);
    feed.subscribe({ changed: (changed, id) => changed === t && cache.invalidate(id), reset: () => cache.clear() });
    await cache.put("a", () => account("a"));
    // Another replica's write, while the listener is gone: missed, and the cache would keep the old one for its ttl.
    const killer = (await pg.open({ max: 1 })).sql;
    await killer.unsafe("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'signpost-listener-test' AND query ILIKE 'listen%'");
    await postgresStore<AwsAccount>(await pg.nodePg(), t).put("a", nextVersion("a"));
    await until(() => feed.reconnects() === 1, 5000);
    expect((await cache.get("a"))!.meta.versionId).toBe("2");
    // And it listens again: the next write elsewhere is told at once.
    await postgresStore<AwsAccount>(await pg.nodePg(), t).put("a", nextVersion("a"));
    await until(async () => (await cache.get("a"))!.meta.versionId === "3", 100);
    void sql;
  });
});

describe("the database down", () => {
  it("a URL whose password has a bad %-escape stops the start naming the variable, not the password (a review, 2026-12-01)", async () => {
    const opening = openPostgres(postgres as unknown as PostgresFactory, "postgres://signpost:SECRET%zz@127.0.0.1:1/signpost");
    await expect(opening).rejects.toThrow(/^SIGNPOST_DATABASE_URL \(postgres:\/\/signpost@127\.0\.0\.1:1\/signpost\): a % in it starts no %-escape/);
    await expect(opening).rejects.not.toThrow(/SECRET/);
  });

  it("at start, behind something that takes each connection and closes it, is given up at a deadline, not retried for ever (a review, 2026-12-01)", async () => {
    let connections = 0;
    const server = createServer((socket) => (connections++, socket.end()));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const started = Date.now();
      const opening = openPostgres(postgres as unknown as PostgresFactory, `postgres://signpost:the-password@127.0.0.1:${port}/signpost`, undefined, 500);
      await expect(opening).rejects.toThrow(new RegExp(`^SIGNPOST_DATABASE_URL \\(postgres://signpost@127\\.0\\.0\\.1:${port}/signpost\\): no answer from the database within 0\\.5 s$`));
      expect(Date.now() - started).toBeLessThan(3000);
      expect(connections).toBeGreaterThan(0);
      const after = connections;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(connections, "connections after giving up (one may have been under way)").toBeLessThanOrEqual(after + 1);
    } finally {
      server.close();
    }
  });

  it("answers 503 with the reason (never the password) while it is down, and works again when it is back", async () => {
    const { server } = await pg.database();
    const { listen, client } = await pg.open({ max: 2 });
    const feed = await postgresChanges(listen);
    let resets = 0;
    feed.subscribe({ changed: () => {}, reset: () => resets++ });
    const t = type();
    const store = postgresStore<AwsAccount>(client, t);
    const cache = cachedStore(store, 60_000);
    await cache.put("kept", () => account("kept"));
    await server.stop();
    try {
      const failures = await Promise.allSettled([store.get("x"), store.list(), store.put("x", () => account("x")), store.delete("kept")]);
      for (const failure of failures) {
        expect(failure.status).toBe("rejected");
        const error = (failure as PromiseRejectedResult).reason;
        expect(error).toBeInstanceOf(HttpError);
        expect(error.status).toBe(503);
        expect(error.message).toMatch(/^the database \(PostgreSQL\) is unavailable: /);
        expect(error.message).not.toContain(server.password);
      }
      expect((await cache.get("kept"))!.id).toBe("kept"); // a fresh cached read is still served
    } finally {
      await server.start();
    }
    // Back by itself: the pool reconnects on the next query, the feed on its own (and says reset).
    await until(() => store.put("x", () => account("x")).then(() => true, () => false), 5000);
    expect(await store.get("x")).toEqual(account("x"));
    await until(() => resets === 1, 5000);
  });
});

describe("RDS IAM authentication", () => {
  it("connects with a fresh rds-db:connect token as the password, made by signpost's signer for the URL's host, port and user", async () => {
    const { server, url } = await pg.database();
    const presigner = createPresigner(nodeSha256);
    const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
    const date = new Date("2026-03-04T05:06:07Z");
    // This server cannot check a token as RDS does, so the role's password is the token RDS would accept.
    const token = await rdsAuthToken(presigner, { hostname: "127.0.0.1", port: server.port, username: "iam_user", region: "eu-west-1", credentials, date });
    const admin = (await pg.postgresJs()).sql;
    await admin.unsafe(`CREATE ROLE iam_user LOGIN SUPERUSER PASSWORD '${token.replace(/'/g, "''")}'`);
    const iamUrl = url.replace(/\/\/[^@]+@/, "//iam_user@");
    let asked = 0;
    const password = rdsPassword(iamUrl, { presigner, credentials: async () => (asked++, credentials), region: "eu-west-1" }, () => date);
    const sql = postgres(iamUrl, { ...CLIENT_OPTIONS, max: 2, password });
    try {
      const [row] = await sql`SELECT current_user AS who`;
      expect(row).toEqual({ who: "iam_user" });
      expect(asked).toBe(1);
      // A token made at another time is another password: refused.
      const stale = postgres(iamUrl, { ...CLIENT_OPTIONS, max: 1, password: rdsPassword(iamUrl, { presigner, credentials: async () => credentials, region: "eu-west-1" }, () => new Date(date.getTime() + 1000)) });
      await expect(stale`SELECT 1`).rejects.toThrow(/password authentication failed/);
      await stale.end({ timeout: 0 });
    } finally {
      await sql.end({ timeout: 0 });
    }
    expect(() => rdsPassword(iamUrl.replace("iam_user@", ""), { presigner, credentials: async () => credentials, region: "eu-west-1" })).toThrow(/must name the database user/);
    expect(() => rdsPassword(iamUrl, { presigner, credentials: async () => credentials })).toThrow(/set AWS_REGION/);
    // Off this machine the token (a cleartext password) goes only over TLS that checks the certificate (a review, 2026-12-01).
    const rds = "postgres://signpost@db.abcdefghijkl.eu-west-1.rds.amazonaws.com:5432/signpost";
    const iam = { presigner, credentials: async () => credentials };
    for (const query of ["", "?sslmode=require", "?sslmode=prefer", "?sslmode=verify-ca", "?sslmode=verify-full&sslmode=require"]) expect(() => rdsPassword(`${rds}${query}`, iam), query).toThrow(/add \?sslmode=verify-full/);
    expect(() => rdsPassword(rds.replace("db.abcdefghijkl.eu-west-1.rds.amazonaws.com", "127.999.999.999"), { ...iam, region: "eu-west-1" })).toThrow(/add \?sslmode=verify-full/);
    expect(rdsPassword(`${rds}?sslmode=verify-full`, iam)).toBeTypeOf("function");
  });
});
