// Which PostgreSQL client signpost runs: postgres.js (`postgres`) or node-postgres (`pg`), each behind the same
// store (src/store/postgres.ts) on a throw-away local cluster (test/postgres.ts). Point reads (what a cache miss
// costs), atomic writes (a transaction with SELECT ... FOR UPDATE and NOTIFY), write-to-NOTIFY latency on a second
// connection, and what each one weighs (import time, installed size, dependencies).
//
//   npx tsx bench/postgres.ts [--rounds=3] [--n=2000]
import { execFileSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import pg from "pg";
import postgres from "postgres";
import { CLIENT_OPTIONS, postgresJsClient, type PostgresJs } from "../src/runtime/postgres.ts";
import { migrate, postgresChanges, postgresStore, type SqlClient, type SqlListen } from "../src/store/postgres.ts";
import { pgClient, startPostgres } from "../test/postgres.ts";
import { ROOT } from "./lib.ts";

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const ROUNDS = arg("rounds", 3);
const N = arg("n", 2000);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const account = (id: string, version: number) => ({ resourceType: "AwsAccount", id, region: "us-east-1", "path-style": false, "use-ssl": true, meta: { versionId: String(version), lastUpdated: new Date().toISOString() } });

async function opsPerSecond(n: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await op(next++);
  }));
  return n / ((performance.now() - start) / 1000);
}

/** node-postgres's LISTEN: one dedicated client, reconnected by hand (what signpost would have to write itself). */
function pgListen(url: string): SqlListen {
  return async (channel, onPayload, onListen) => {
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => {});
    client.on("notification", (message) => onPayload(message.payload ?? ""));
    await client.connect();
    await client.query(`LISTEN ${channel}`);
    onListen();
  };
}

async function measure(name: string, client: SqlClient, listen: SqlListen, writer: SqlClient) {
  const store = postgresStore(client, `Bench-${name}-${Math.random()}`);
  for (let i = 0; i < 100; i++) await store.put(`a${i}`, () => account(`a${i}`, 1) as never);
  const results: Record<string, number[]> = { "get, 1 at a time": [], "get, 32 at once": [], "put, 1 at a time": [], "put, 16 at once": [] };
  const latencies: number[] = [];
  const feed = await postgresChanges(listen);
  const waiting = new Map<string, () => void>();
  feed.subscribe({ changed: (_type, id) => waiting.get(id)?.(), reset: () => {} });
  for (let round = 0; round < ROUNDS; round++) {
    results["get, 1 at a time"]!.push(await opsPerSecond(N, 1, (i) => store.get(`a${i % 100}`)));
    results["get, 32 at once"]!.push(await opsPerSecond(N * 4, 32, (i) => store.get(`a${i % 100}`)));
    results["put, 1 at a time"]!.push(await opsPerSecond(N / 4, 1, (i) => store.put(`a${i % 100}`, (p) => account(`a${i % 100}`, Number(p?.meta.versionId ?? 0) + 1) as never)));
    results["put, 16 at once"]!.push(await opsPerSecond(N / 2, 16, (i) => store.put(`a${i % 100}`, (p) => account(`a${i % 100}`, Number(p?.meta.versionId ?? 0) + 1) as never)));
  }
  // Commit to notification, seen by this client's listener, for writes made through the other library's pool.
  const type = `Latency-${name}-${Math.random()}`;
  const far = postgresStore(writer, type);
  for (let i = 0; i < 200; i++) {
    const id = `l${i}`;
    const told = new Promise<void>((resolve) => waiting.set(id, resolve));
    const start = performance.now();
    await far.put(id, () => account(id, 1) as never);
    await told;
    latencies.push(performance.now() - start);
    waiting.delete(id);
  }
  return { results: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)])), notify: { median: median(latencies), p99: [...latencies].sort((a, b) => a - b)[Math.floor(latencies.length * 0.99)]! } };
}

const importMs = (module: string) => Number(execFileSync(process.execPath, ["--input-type=module", "-e", `const t = performance.now(); await import(${JSON.stringify(module)}); console.log(performance.now() - t)`], { cwd: ROOT, encoding: "utf8" }).trim());
const installed = (packages: string[]) => Number(execFileSync("du", ["-sk", ...packages.map((p) => `node_modules/${p}`)], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").reduce((sum, line) => sum + Number(line.split("\t")[0]), 0));

const server = await startPostgres();
try {
  const url = await server.database();
  const js = postgres(url, { ...CLIENT_OPTIONS }) as unknown as PostgresJs;
  const jsClient = postgresJsClient(js);
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on("error", () => {});
  const pgc = pgClient(pool);
  await migrate(jsClient.client);
  console.log(`PostgreSQL ${(await pool.query("SHOW server_version")).rows[0].server_version}, Node ${process.version}, ${ROUNDS} rounds, n=${N}; medians`);
  const jsResult = await measure("postgres.js", jsClient.client, jsClient.listen, pgc);
  const pgResult = await measure("pg", pgc, pgListen(url), jsClient.client);
  const rows = Object.keys(jsResult.results).map((k) => `| ${k} (ops/s) | ${jsResult.results[k]!.toFixed(0)} | ${pgResult.results[k]!.toFixed(0)} |`);
  const pgDeps = ["pg", "pg-cloudflare", "pg-connection-string", "pg-int8", "pg-pool", "pg-protocol", "pg-types", "pgpass", "postgres-array", "postgres-bytea", "postgres-date", "postgres-interval", "split2", "xtend"];
  console.log([
    "| | postgres.js 3.4.9 | pg 8.23.1 |",
    "|---|---|---|",
    ...rows,
    `| commit → NOTIFY seen (ms, median / p99) | ${jsResult.notify.median.toFixed(2)} / ${jsResult.notify.p99.toFixed(2)} | ${pgResult.notify.median.toFixed(2)} / ${pgResult.notify.p99.toFixed(2)} |`,
    `| import (ms, cold process) | ${importMs("postgres").toFixed(1)} | ${importMs("pg").toFixed(1)} |`,
    `| installed (KB, with dependencies) | ${installed(["postgres"])} | ${installed(pgDeps.filter((p) => { try { execFileSync("test", ["-d", `node_modules/${p}`], { cwd: ROOT }); return true; } catch { return false; } }))} |`,
    `| dependencies | 0 | ${pgDeps.length - 1} |`,
  ].join("\n"));
  await js.end({ timeout: 1 });
  await pool.end();
} finally {
  await server.destroy();
}
process.exit(0);
