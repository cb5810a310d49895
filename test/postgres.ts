// A throw-away PostgreSQL cluster for the tests (unit: the store contract; e2e: replicas on one database): initdb in
// a temporary folder, a free port on 127.0.0.1, password (SCRAM) authentication, stopped and removed afterwards.
// Debian's `postgresql` package gives the binaries; when they are missing and we are root with apt-get, it is
// installed, else the error names the one command to run. PostgreSQL refuses to run as root: as root, every
// command runs as the `postgres` user (runuser), which the package creates.
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";

const APT_INSTALL = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql";
const NEEDED = ["initdb", "pg_ctl", "postgres", "pg_dump"];

export interface TestPostgres {
  /** postgres://signpost:<password>@127.0.0.1:<port>/<database> of a database created for the caller. */
  database(name?: string): Promise<string>;
  /** The superuser's password (to check that it shows nowhere). */
  password: string;
  port: number;
  /** Stops the server (fast shutdown: connections are cut), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again, on the same port. */
  start(): Promise<void>;
  /** pg_dump of one database (plain SQL). */
  dump(url: string): Promise<string>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

function onPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return dir;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The folder with initdb, pg_ctl, postgres and pg_dump: Debian's versioned folder (15 first), else PATH. */
function binaries(): string | undefined {
  const debian = "/usr/lib/postgresql";
  const versions = existsSync(debian) ? readdirSync(debian).sort((a, b) => (a === "15" ? -1 : b === "15" ? 1 : Number(b) - Number(a))) : [];
  const candidates = [...versions.map((v) => join(debian, v, "bin")), ...NEEDED.map(onPath).filter((dir): dir is string => dir !== undefined)];
  return candidates.find((dir) => NEEDED.every((bin) => existsSync(join(dir, bin))));
}

function run(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: options.env ?? process.env, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} ${args.join(" ")} failed (${error.code ?? error.signal}):\n${`${stdout}${stderr}`.trim().split("\n").slice(-30).join("\n")}`));
      else resolve(stdout);
    });
  });
}

let installing: Promise<string> | undefined;

/** The binaries' folder, installing Debian's postgresql first when they are missing and we may. */
export function ensurePostgres(): Promise<string> {
  installing ??= (async () => {
    const found = binaries();
    if (found) return found;
    if (process.getuid?.() !== 0 || !onPath("apt-get") || !onPath("flock")) throw new Error(`PostgreSQL (initdb, pg_ctl, postgres, pg_dump) is not installed: run as root \`${APT_INSTALL}\``);
    console.log("[postgres] PostgreSQL missing: installing Debian's postgresql with apt-get");
    // Test files run in parallel processes: one installs (under a lock), the others wait and find it done.
    const script = 'ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends postgresql; }';
    await run("flock", ["/tmp/signpost-postgresql-install.lock", "sh", "-c", script], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    const installed = binaries();
    if (!installed) throw new Error("apt-get installed postgresql, but initdb, pg_ctl, postgres and pg_dump are still not found");
    return installed;
  })();
  return installing;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (address && typeof address === "object" ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Starts a fresh cluster; `destroy()` it when done (it is also stopped if the process exits first). */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = await ensurePostgres();
  const root = process.getuid?.() === 0;
  // As root, PostgreSQL's commands run as the postgres user, who must own the folder.
  const as = (cmd: string, args: string[]): [string, string[]] => (root ? ["runuser", ["-u", "postgres", "--", join(bin, cmd), ...args]] : [join(bin, cmd), args]);
  const dir = mkdtempSync("/tmp/signpost-pg-");
  const data = join(dir, "data");
  const password = randomBytes(18).toString("base64url");
  writeFileSync(join(dir, "pw"), `${password}\n`);
  if (root) {
    const postgres = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const group = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, postgres, group);
    chownSync(join(dir, "pw"), postgres, group);
  }
  chmodSync(dir, 0o700);
  const port = await freePort();
  const user = "signpost";
  await run(...as("initdb", ["-D", data, "-U", user, "--auth=scram-sha-256", `--pwfile=${join(dir, "pw")}`, "-E", "UTF8", "--no-locale", "--no-sync"]));
  rmSync(join(dir, "pw"));
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  let running = false;
  const start = async () => {
    await run(...as("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-w", "-t", "30", "-o", options, "start"]));
    running = true;
  };
  const stopSync = () => {
    if (!running) return;
    running = false;
    try {
      execFileSync(...as("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]), { stdio: "ignore" });
    } catch {
      // best effort
    }
  };
  process.once("exit", stopSync);
  await start();
  const url = (database: string) => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  let databases = 0;
  const psql = (sql: string) => run(join(bin, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url("postgres"), "-c", sql]);
  return {
    password,
    port,
    async database(name = `signpost_${process.pid}_${++databases}_${randomBytes(3).toString("hex")}`) {
      await (existsSync(join(bin, "psql")) ? psql(`CREATE DATABASE "${name}"`) : run(join(bin, "createdb"), ["-d", url("postgres"), name]));
      return url(name);
    },
    async stop() {
      await run(...as("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]));
      running = false;
    },
    start,
    dump: (database: string) => run(join(bin, "pg_dump"), ["--no-owner", "-d", database]),
    async destroy() {
      process.off("exit", stopSync);
      if (running) {
        running = false;
        await run(...as("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])).catch(() => {});
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The store's SqlClient over node-postgres (`pg`), the other client measured (bench/postgres.ts) and tested. */
export function pgClient(pool: import("pg").Pool): import("../src/store/postgres.ts").SqlClient {
  return {
    query: async (text, params = []) => (await pool.query(text, [...params])).rows,
    async transaction(work) {
      const connection = await pool.connect();
      let broken: unknown;
      try {
        await connection.query("BEGIN");
        const result = await work(async (text, params = []) => (await connection.query(text, [...params])).rows);
        await connection.query("COMMIT");
        return result;
      } catch (error) {
        await connection.query("ROLLBACK").catch((rollback) => (broken = rollback));
        throw error;
      } finally {
        connection.release(broken as Error | undefined);
      }
    },
  };
}
