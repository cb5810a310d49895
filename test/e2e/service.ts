// Starts signpost on each runtime the way its users do:
// - node:   `npm start`
// - deno:   the `deno task start` command from deno.json (its data folder swapped for the test's own)
// - worker: the bundle `wrangler deploy --dry-run` builds, in real workerd through Miniflare, with a KV namespace
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { buildWorker } from "../worker.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export type Runtime = "node" | "deno" | "worker";
export const RUNTIMES: readonly Runtime[] = ["node", "deno", "worker"];

export interface RunningService {
  runtime: Runtime;
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  /** The admin token printed at first start, when signpost generated one. */
  printedToken?: string;
  stderr: () => string;
  stdout: () => string;
  /** Stops gracefully (SIGTERM for processes) and resolves with the exit code (0 for the Worker). */
  stop: () => Promise<number | null>;
  /** Kills the process group at once (SIGKILL), as a crash or power loss would. */
  crash: () => Promise<void>;
}

export interface StartOptions {
  /** Environment (Node, Deno) or bindings (Worker). */
  env: Record<string, string | undefined>;
  /** Data folder for Node and Deno. */
  dataDir?: string;
  /** Deno only: permissions added to the task's, as a user adds them (e.g. "--allow-run=sh"). */
  denoPermissions?: string;
}

export function startService(runtime: Runtime, options: StartOptions): Promise<RunningService> {
  if (runtime === "worker") return startWorker(options.env);
  const env = { ...process.env, PORT: "0", HOST: "127.0.0.1", SIGNPOST_ADMIN_TOKEN: "", ...options.env };
  if (runtime === "node") {
    return startProcess(runtime, spawn("npm", ["start", "--silent"], { cwd: ROOT, env: { ...env, SIGNPOST_DATA_DIR: options.dataDir }, stdio: ["ignore", "pipe", "pipe"], detached: true }));
  }
  // As a user runs it: the task (its launcher computes the permissions from SIGNPOST_DATA_DIR), extra permissions after it.
  const task: string = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).tasks.start;
  const command = options.denoPermissions ? `${task} ${options.denoPermissions}` : task;
  return startProcess(runtime, spawn("sh", ["-c", `exec ${command}`], { cwd: ROOT, env: { ...env, SIGNPOST_DATA_DIR: options.dataDir ?? ".signpost", NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"], detached: true }));
}

async function startProcess(runtime: Runtime, child: ChildProcess): Promise<RunningService> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`signpost (${runtime}) did not start in 30 s:\n${stderr}`)), 30_000);
    const check = () => {
      const match = /"message":"listening","url":"([^"]+)"/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stderr!.on("data", check);
    exited.then((code) => reject(new Error(`signpost (${runtime}) exited with ${code}:\n${stderr}`)));
  });

  return {
    runtime,
    url,
    printedToken: /generated an admin token[^\n]*\n([A-Za-z0-9_-]{43})\n/.exec(stderr)?.[1],
    stderr: () => stderr,
    stdout: () => stdout,
    async crash() {
      process.kill(-child.pid!, "SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timeout = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(timeout);
      return code;
    },
  };
}

function compatibilityDate(): string {
  const match = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(ROOT, "wrangler.toml"), "utf8"));
  if (!match) throw new Error("wrangler.toml has no compatibility_date");
  return match[1]!;
}

async function startWorker(bindings: Record<string, string | undefined>): Promise<RunningService> {
  const outDir = await buildWorker();
  let stdout = "";
  let stderr = "";
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(outDir, "worker.js"),
    modulesRoot: outDir,
    compatibilityDate: compatibilityDate(),
    kvNamespaces: ["ACCOUNTS"],
    bindings: Object.fromEntries(Object.entries(bindings).filter((entry): entry is [string, string] => entry[1] !== undefined)),
    host: "127.0.0.1",
    port: 0,
    handleRuntimeStdio(out: NodeJS.ReadableStream, err: NodeJS.ReadableStream) {
      out.on("data", (chunk) => (stdout += chunk));
      err.on("data", (chunk) => (stderr += chunk));
    },
  });
  const url = await mf.ready.then(
    (ready) => ready.origin,
    (error) => Promise.reject(new Error(`workerd did not start: ${error}\n${stderr}`)),
  );
  return {
    runtime: "worker",
    url,
    stderr: () => stderr,
    stdout: () => stdout,
    crash: () => mf.dispose(),
    async stop() {
      await mf.dispose();
      return 0;
    },
  };
}

/** A fresh data folder, removed by the returned function. */
export function tempDataDir(prefix: string): [string, () => void] {
  const dir = mkdtempSync(join(tmpdir(), `signpost-${prefix}-`));
  return [dir, () => rmSync(dir, { recursive: true, force: true })];
}

/** A client for the service's API with the admin token. */
export function apiClient(base: string, token: string) {
  return async (method: string, path: string, body?: string, type = "text/yaml") => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": type } : {}) },
      body,
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
  };
}
